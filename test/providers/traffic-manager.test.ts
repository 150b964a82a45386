import pino from 'pino';
import type { AccessToken, TokenCredential } from '@azure/identity';
import {
  createTrafficManagerProvider,
  type TrafficManagerProviderOptions,
} from '../../src/providers/traffic-manager/index.js';
import {
  startTrafficManagerSimulator,
  type TrafficManagerSim,
} from '../../src/lab/simulators/index.js';
import type { DnsProvider } from '../../src/providers/types.js';

const log = pino({ level: 'silent' });
let sim: TrafficManagerSim;

/** What a workload identity would hand the SDK, minus the identity provider. */
function staticToken(token: string): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({
      token,
      expiresOnTimestamp: Date.now() + 3600_000,
    }),
  };
}

beforeEach(async () => {
  sim = await startTrafficManagerSimulator({ ttl: 60 });
});

afterEach(async () => {
  await sim.stop();
});

function provider(over: Partial<TrafficManagerProviderOptions> = {}): DnsProvider {
  return createTrafficManagerProvider({
    subscriptionId: sim.subscriptionId,
    resourceGroup: sim.resourceGroup,
    profileName: sim.profileName,
    primaryEndpoint: sim.primaryEndpoint,
    secondaryEndpoint: sim.secondaryEndpoint,
    endpointType: 'externalEndpoints',
    method: 'disable-endpoint',
    endpoint: sim.url,
    credential: staticToken(sim.token),
    ca: sim.ca,
    changeTimeoutSeconds: 2,
    pollMs: 10,
    rtoMinutes: 30,
    resolverServers: [sim.dnsServer!],
    log,
    ...over,
  });
}

const progress = () => {};

test('failover disables the primary endpoint, failback enables it; the SDK talks ARM 2022-04-01 with a bearer token', async () => {
  const dns = provider();
  const ready = await dns.readiness('secondary');
  expect(ready.status).toBe('ready');
  expect(ready.summary).toContain('app-tm.trafficmanager.net, TTL 60 s');
  expect(ready.summary).toContain('users go to the primary');
  expect(await dns.currentTarget()).toBe('primary');

  const result = await dns.switchTo({ target: 'secondary', progress });
  expect(result.noop).toBe(false);
  expect(sim.endpoint('primary')?.endpointStatus).toBe('Disabled');
  expect(sim.served()?.name).toBe('secondary');
  const patches = sim.requests.filter((r) => r.method === 'PATCH');
  expect(patches).toHaveLength(1);
  expect(patches[0].path).toMatch(/\/trafficmanagerprofiles\/app-tm\/ExternalEndpoints\/primary$/i);
  expect(JSON.parse(patches[0].body)).toEqual({ properties: { endpointStatus: 'Disabled' } });
  expect(patches[0].query['api-version']).toBe('2022-04-01');
  expect(patches[0].headers.authorization).toBe(`Bearer ${sim.token}`);

  const checks = await dns.verify('secondary');
  expect(checks.map((c) => [c.name, c.ok])).toEqual([
    ['traffic manager profile', true],
    ['traffic manager secondary endpoint', true],
    ['traffic manager routing', true],
    ['resolve app-tm.trafficmanager.net', true],
  ]);

  const again = await dns.switchTo({ target: 'secondary', progress });
  expect(again.noop).toBe(true);
  expect(again.summary).toMatch(/already switched/);

  await dns.switchTo({ target: 'primary', progress });
  expect(sim.endpoint('primary')?.endpointStatus).toBe('Enabled');
  expect((await dns.verify('primary')).every((c) => c.ok)).toBe(true);
});

test('a degraded primary that still takes traffic back on recovery is not taken as switched', async () => {
  sim.setEndpointHealthy('primary', false);
  const dns = provider();
  expect(sim.served()?.name).toBe('secondary');
  expect(await dns.currentTarget()).toBe('unknown');
  const result = await dns.switchTo({ target: 'secondary', progress });
  expect(result.noop).toBe(false);
  expect(sim.endpoint('primary')?.endpointStatus).toBe('Disabled');
  sim.setEndpointHealthy('primary', true);
  expect(await dns.currentTarget()).toBe('secondary');
  expect(sim.served()?.name).toBe('secondary');
});

test('swap-priorities gives the secondary the lower number through a free priority and back', async () => {
  const dns = provider({ method: 'swap-priorities' });
  await dns.switchTo({ target: 'secondary', progress });
  expect([sim.endpoint('primary')?.priority, sim.endpoint('secondary')?.priority]).toEqual([2, 1]);
  expect(sim.endpoint('primary')?.endpointStatus).toBe('Enabled');
  expect(sim.served()?.name).toBe('secondary');
  expect((await dns.verify('secondary')).every((c) => c.ok)).toBe(true);
  expect((await dns.switchTo({ target: 'secondary', progress })).noop).toBe(true);
  await dns.switchTo({ target: 'primary', progress });
  expect([sim.endpoint('primary')?.priority, sim.endpoint('secondary')?.priority]).toEqual([1, 2]);
});

test('swap-priorities interrupted after the first PATCH (secondary parked): recognised, then finished with the original priorities', async () => {
  const dns = provider({ method: 'swap-priorities' });
  // The bot dies after parking the secondary: the second PATCH never arrives.
  sim.failNext(400, 'BadRequest', 'connection reset', { method: 'PATCH', skip: 1 });
  await expect(dns.switchTo({ target: 'secondary', progress })).rejects.toBeDefined();
  const parked = sim.endpoint('secondary')!.priority;
  expect([sim.endpoint('primary')?.priority, parked]).toEqual([1, 966]);
  expect(sim.served()?.name).toBe('primary');

  // Not "switched" and not "never started": the step runs again, and readiness says why.
  expect(await dns.currentTarget()).toBe('unknown');
  const ready = await dns.readiness('secondary');
  expect(ready.details.heldOn).toBe('partial');
  expect(ready.warnings?.join(' ')).toMatch(
    /a priority swap toward the secondary stopped after PATCH 1 of 3 .* original priorities 1 and 2/,
  );
  expect(
    (await dns.verify('secondary')).find((c) => c.name === 'traffic manager routing')?.ok,
  ).toBe(false);

  const done = await dns.switchTo({ target: 'secondary', progress });
  expect(done.summary).toMatch(
    /finished an interrupted priority swap \(it had stopped after PATCH 1 of 3\)/,
  );
  expect([sim.endpoint('primary')?.priority, sim.endpoint('secondary')?.priority]).toEqual([2, 1]);
  expect(sim.served()?.name).toBe('secondary');
  expect(await dns.currentTarget()).toBe('secondary');
});

test('swap-priorities interrupted after the second PATCH is finished; one interrupted the other way is undone', async () => {
  const dns = provider({ method: 'swap-priorities' });
  // After PATCH 2 of a failover: the secondary parked, the primary already on the secondary's 2.
  sim.setPriority('secondary', 966);
  sim.setPriority('primary', 2);
  expect(sim.served()?.name).toBe('primary');
  expect(await dns.currentTarget()).toBe('unknown');
  await dns.switchTo({ target: 'secondary', progress });
  expect([sim.endpoint('primary')?.priority, sim.endpoint('secondary')?.priority]).toEqual([2, 1]);

  // A failback interrupted after PATCH 1 (the primary parked), and the failover retried instead:
  // the primary goes back to 2, and the secondary (still preferred) stays on 1.
  sim.setPriority('primary', 966);
  expect(await dns.currentTarget()).toBe('unknown');
  const undone = await dns.switchTo({ target: 'secondary', progress });
  expect(undone.summary).toMatch(/undid an interrupted priority swap toward the primary/);
  expect([sim.endpoint('primary')?.priority, sim.endpoint('secondary')?.priority]).toEqual([2, 1]);
  expect(await dns.currentTarget()).toBe('secondary');

  // Priorities set on purpose, however unusual, are not taken for an interrupted swap.
  sim.setPriority('secondary', 1000);
  sim.setPriority('primary', 1);
  expect(await dns.currentTarget()).toBe('primary');
  expect((await dns.readiness('secondary')).details.heldOn).toBe('primary');
});

test('a TTL longer than the RTO target is a warning, a degraded target is a warning', async () => {
  sim.setTtl(7200);
  sim.setEndpointHealthy('secondary', false);
  const ready = await provider({ rtoMinutes: 15 }).readiness('secondary');
  expect(ready.status).toBe('warning');
  expect(ready.warnings).toEqual([
    expect.stringContaining(
      'TTL 7200 s + probes 4 × 30 s (3 tolerated failures + 1) = 7320 s, over the 15-min RTO target',
    ),
    expect.stringContaining('"secondary" is Degraded'),
  ]);
});

test('429 throttling is retried by the SDK and the switch succeeds', async () => {
  sim.throttleNext(2);
  const result = await provider().switchTo({ target: 'secondary', progress });
  expect(result.noop).toBe(false);
  expect(sim.served()?.name).toBe('secondary');
});

test('403 is a non-retryable forbidden error that says which role is missing, and nothing changes', async () => {
  sim.failNext(
    403,
    'AuthorizationFailed',
    "The client 'dr-bot' does not have authorization to perform action 'Microsoft.Network/trafficManagerProfiles/externalEndpoints/write'",
    { method: 'PATCH' },
  );
  const err = await provider()
    .switchTo({ target: 'secondary', progress })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'forbidden', retryable: false, provider: 'traffic-manager' });
  expect((err as Error).message).toMatch(/Traffic Manager Contributor/);
  expect(sim.endpoint('primary')?.endpointStatus).toBe('Enabled');
});

test('an unknown profile or endpoint is refused before any change', async () => {
  const noProfile = provider({ profileName: 'app-typo' });
  const ready = await noProfile.readiness('secondary');
  expect(ready.status).toBe('blocked');
  expect(ready.summary).toMatch(/ResourceNotFound/);
  await expect(noProfile.switchTo({ target: 'secondary', progress })).rejects.toMatchObject({
    code: 'not-found',
  });
  await expect(
    provider({ secondaryEndpoint: 'dr' }).switchTo({ target: 'secondary', progress }),
  ).rejects.toThrow(/no externalEndpoints endpoint "dr"/);
  expect(sim.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
});

test('failback to a primary that is still unhealthy times out with a retryable timeout', async () => {
  const dns = provider({ changeTimeoutSeconds: 0.2 });
  await dns.switchTo({ target: 'secondary', progress });
  sim.setEndpointHealthy('primary', false);
  const err = await dns.switchTo({ target: 'primary', progress }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'timeout', retryable: true });
  expect((err as Error).message).toMatch(/still routes to secondary/);
});

describe('failover time against the RTO target: the profile TTL plus the monitor marking the endpoint Degraded', () => {
  // The simulator's monitor probes every 30 s and tolerates 3 failures: Degraded on the 4th, 120 s.
  const readiness = () => provider({ rtoMinutes: 5 }).readiness('secondary');
  const warningText = async () => ((await readiness()).warnings ?? []).join(' ');

  test('below the target: the numbers are in the preflight, no warning', async () => {
    sim.setTtl(170);
    const ready = await readiness();
    expect(ready.status).toBe('ready');
    expect(ready.summary).toContain(
      'failover time TTL 170 s + probes 4 × 30 s (3 tolerated failures + 1) = 290 s',
    );
    expect(ready.details).toMatchObject({ ttl: 170, failoverSeconds: 290 });
  });

  test('at the target: a warning although the TTL alone is well under it', async () => {
    sim.setTtl(180);
    const ready = await readiness();
    expect(ready.status).toBe('warning');
    expect(ready.warnings).toEqual([
      expect.stringContaining(
        'TTL 180 s + probes 4 × 30 s (3 tolerated failures + 1) = 300 s, not under the 5-min RTO target: users are sent to a failed region until the monitor sees it fail',
      ),
    ]);
  });

  test("over the target, with the profile's own monitor settings", async () => {
    sim.setTtl(200);
    expect(await warningText()).toContain(
      'TTL 200 s + probes 4 × 30 s (3 tolerated failures + 1) = 320 s, over the 5-min RTO target',
    );
    sim.setMonitor({ intervalInSeconds: 10, toleratedNumberOfFailures: 1 });
    const fast = await readiness();
    expect(fast.status).toBe('ready');
    expect(fast.summary).toContain(
      'TTL 200 s + probes 2 × 10 s (1 tolerated failures + 1) = 220 s',
    );
  });

  test('an endpoint with Always Serve is not probed: the TTL alone is judged, and the preflight says so', async () => {
    sim.setAlwaysServe('primary', true);
    sim.setTtl(200);
    const ready = await readiness();
    expect(ready.status).toBe('ready');
    expect(ready.summary).toContain(
      'failover time TTL 200 s (TTL only: endpoint "primary" has Always Serve enabled, so Traffic Manager does not probe it and does not fail over by itself)',
    );
    sim.setTtl(400);
    expect(await warningText()).toContain(
      'TTL 400 s, over the 5-min RTO target (TTL only: endpoint "primary" has Always Serve enabled',
    );
  });
});

test('readiness proves the profile read and says the endpoint write cannot be dry-run; a denied read blocks, naming it', async () => {
  const dns = provider();
  const ok = await dns.readiness('secondary');
  expect(ok.status).toBe('ready');
  expect(ok.summary).toContain(
    'rights: the profile read succeeds; Microsoft.Network/trafficManagerProfiles/externalEndpoints/write cannot be dry-run',
  );
  sim.deny('Microsoft.Network/trafficManagerProfiles/read');
  const denied = await dns.readiness('secondary');
  expect(denied.status).toBe('blocked');
  expect(denied.summary).toContain(
    'may not Microsoft.Network/trafficManagerProfiles/read (read the profile and its endpoints)',
  );
  expect(denied.summary).toContain('deploy/permissions/azure-custom-role.json');
  sim.deny('Microsoft.Network/trafficManagerProfiles/read', false);
  expect((await dns.readiness('secondary')).status).toBe('ready');
  await dns.close();
});
