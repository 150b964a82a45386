import pino from 'pino';
import { Route53Client, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import {
  createRoute53Provider,
  type Route53ProviderOptions,
} from '../../src/providers/route53/index.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { startRoute53Simulator, type Route53Sim } from '../../src/lab/simulators/index.js';
import type { DnsProvider } from '../../src/providers/types.js';

const log = pino({ level: 'silent' });
let sim: Route53Sim;
const providers: DnsProvider[] = [];

beforeAll(() => {
  // The SDK's default credential chain reads these; the simulator does not check signatures.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDSIMULATOR';
  process.env.AWS_SECRET_ACCESS_KEY = 'simulator-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});

beforeEach(async () => {
  sim = await startRoute53Simulator({ ttl: 60 });
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await sim.stop();
});

function provider(over: Partial<Route53ProviderOptions> = {}): DnsProvider {
  const p = createRoute53Provider({
    hostedZoneId: sim.zoneId,
    recordName: sim.recordName,
    recordType: 'A',
    primarySetIdentifier: sim.primarySetIdentifier,
    secondarySetIdentifier: sim.secondarySetIdentifier,
    method: 'invert-health-check',
    primaryHealthCheckId: sim.primaryHealthCheckId,
    endpoint: sim.url,
    region: 'us-east-1',
    changeTimeoutSeconds: 5,
    pollMs: 10,
    rtoMinutes: 30,
    resolverServers: [sim.dnsServer!],
    log,
    ...over,
  });
  providers.push(p);
  return p;
}

const progress = () => {};

describe('waiting for a change to be INSYNC', () => {
  test('polls GetChange soon, then backs off: done in milliseconds although the longest pause is a minute', async () => {
    await sim.stop();
    sim = await startRoute53Simulator({ ttl: 60, changeDelayMs: 120 });
    const dns = provider({
      method: 'rewrite-records',
      primaryHealthCheckId: undefined,
      pollMs: 60_000,
    });
    const result = await dns.switchTo({ target: 'secondary', progress });
    expect(result.noop).toBe(false);
    // PENDING at first, then INSYNC once the delay passed: several short polls, not one long one.
    expect(sim.requestsFor('GetChange').length).toBeGreaterThanOrEqual(2);
  });
});

describe('Route 53 provider, invert-health-check', () => {
  test('preflight shows current routing and TTL; failover pins the primary health check (Disabled+Inverted); failback releases it', async () => {
    const dns = provider();
    const ready = await dns.readiness('secondary');
    expect(ready.status).toBe('ready');
    expect(ready.summary).toContain('primary (10.0.1.10)');
    expect(ready.summary).toContain('TTL 60 s');
    expect(await dns.currentTarget()).toBe('primary');

    const result = await dns.switchTo({ target: 'secondary', progress });
    expect(result.noop).toBe(false);
    expect(result.summary).toContain('10.0.2.10');
    expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
      inverted: true,
      disabled: true,
    });
    // One request sets both, so the check is never inverted while still evaluated.
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(1);
    expect(sim.requestsFor('UpdateHealthCheck')[0].body).toMatch(/<Inverted>true<\/Inverted>/);
    expect(sim.requestsFor('UpdateHealthCheck')[0].body).toMatch(/<Disabled>true<\/Disabled>/);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await dns.currentTarget()).toBe('secondary');

    const checks = await dns.verify('secondary');
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['route53 primary health check pin', true],
      ['route53 TestDNSAnswer', true],
      [`resolve ${sim.recordName.replace(/\.$/, '')}`, true],
    ]);

    const again = await dns.switchTo({ target: 'secondary', progress });
    expect(again.noop).toBe(true);
    expect(again.summary).toMatch(/already switched/);
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(1);

    const back = await dns.switchTo({ target: 'primary', progress });
    expect(back.noop).toBe(false);
    expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
      inverted: false,
      disabled: false,
    });
    expect(await createResolver({ servers: [sim.dnsServer!] })(sim.recordName, 'A')).toEqual([
      '10.0.1.10',
    ]);
    expect((await dns.verify('primary')).every((c) => c.ok)).toBe(true);
    expect((await dns.verify('secondary')).some((c) => c.ok)).toBe(false);
  });

  test('AWS_ENDPOINT_URL_ROUTE_53 points the SDK at another endpoint when the config does not', async () => {
    process.env.AWS_ENDPOINT_URL_ROUTE_53 = sim.url;
    try {
      expect(await provider({ endpoint: undefined }).currentTarget()).toBe('primary');
      expect(sim.requestsFor('TestDNSAnswer')).toHaveLength(1);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_ROUTE_53;
    }
  });

  test('a TTL longer than the RTO target is a warning before approval', async () => {
    sim.setTtl(3600);
    const ready = await provider({ rtoMinutes: 30 }).readiness('secondary');
    expect(ready.status).toBe('warning');
    expect(ready.warnings?.join(' ')).toContain(
      'TTL 3600 s + health check 3 × 30 s = 3690 s, over the 30-min RTO target',
    );
  });

  test('after a failover the secondary keeps answering while the primary endpoint goes down and comes back; failback returns to the primary', async () => {
    const dns = provider();
    await dns.switchTo({ target: 'secondary', progress });
    const resolve = createResolver({ servers: [sim.dnsServer!] });
    // The region finishes dying (or its app fails its check against a read-only database).
    sim.setEndpointHealthy('primary', false);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await resolve(sim.recordName, 'A')).toEqual(['10.0.2.10']);
    expect(await dns.currentTarget()).toBe('secondary');
    // ...and comes back before anyone decided to fail back.
    sim.setEndpointHealthy('primary', true);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await resolve(sim.recordName, 'A')).toEqual(['10.0.2.10']);
    expect((await dns.verify('secondary')).every((c) => c.ok)).toBe(true);
    expect((await dns.switchTo({ target: 'secondary', progress })).noop).toBe(true);

    const back = await dns.switchTo({ target: 'primary', progress });
    expect(back.noop).toBe(false);
    expect(back.summary).toMatch(/released: Disabled=false, Inverted=false/);
    expect(sim.answer()).toEqual(['10.0.1.10']);
    expect(await resolve(sim.recordName, 'A')).toEqual(['10.0.1.10']);
  });

  test('a primary whose health check already fails is pinned anyway, so its recovery does not pull traffic back', async () => {
    sim.setEndpointHealthy('primary', false);
    const dns = provider();
    expect(sim.answer()).toEqual(['10.0.2.10']);
    // Route 53 answers the secondary, but nothing holds it there.
    expect(await dns.currentTarget()).toBe('unknown');
    const ready = await dns.readiness('secondary');
    expect(ready.warnings?.join(' ')).toMatch(
      /only until the primary's endpoint answers again; the switch pins it/,
    );
    expect(ready.summary).not.toMatch(/nothing to switch/);

    const result = await dns.switchTo({ target: 'secondary', progress });
    expect(result.noop).toBe(false);
    expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
      inverted: true,
      disabled: true,
    });
    sim.setEndpointHealthy('primary', true);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await dns.currentTarget()).toBe('secondary');
    expect((await dns.verify('secondary')).every((c) => c.ok)).toBe(true);
  });

  test('failback refuses while the released primary check still fails, naming the endpoint', async () => {
    sim.setEndpointHealthy('primary', false);
    const dns = provider();
    const err = await dns.switchTo({ target: 'primary', progress }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'precondition-failed' });
    expect((err as Error).message).toMatch(
      /Make the primary's health endpoint \(primary\.example\.test:443\/healthz\) pass/,
    );
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(0);
  });

  test('a check left inverted but not disabled (half switched) is not taken as switched; the switch completes the pin', async () => {
    sim.setHealthCheckFlags(sim.primaryHealthCheckId, { inverted: true });
    const dns = provider();
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await dns.currentTarget()).toBe('unknown');
    const ready = await dns.readiness('secondary');
    expect(ready.status).toBe('warning');
    expect(ready.details.heldOn).toBe('partial');
    expect(ready.warnings?.join(' ')).toMatch(/inverted but still evaluated/);
    expect((await dns.verify('secondary'))[0]).toMatchObject({
      name: 'route53 primary health check pin',
      ok: false,
    });

    const result = await dns.switchTo({ target: 'secondary', progress });
    expect(result.noop).toBe(false);
    expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
      inverted: true,
      disabled: true,
    });
    // Inverted alone would now have sent users back to the failing primary.
    sim.setEndpointHealthy('primary', false);
    expect(sim.answer()).toEqual(['10.0.2.10']);
  });

  test('a check left disabled but not inverted counts healthy: a failback completes by clearing both', async () => {
    sim.setHealthCheckFlags(sim.primaryHealthCheckId, { disabled: true });
    sim.setEndpointHealthy('primary', false);
    const dns = provider();
    // Disabled counts as healthy: the dead primary gets the traffic.
    expect(sim.answer()).toEqual(['10.0.1.10']);
    expect(await dns.currentTarget()).toBe('unknown');
    expect((await dns.readiness('primary')).warnings?.join(' ')).toMatch(
      /a disabled check counts as healthy/,
    );
    sim.setEndpointHealthy('primary', true);
    expect((await dns.switchTo({ target: 'primary', progress })).noop).toBe(false);
    expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
      inverted: false,
      disabled: false,
    });
    expect(await dns.currentTarget()).toBe('primary');
  });

  test('throttling (Throttling, PriorRequestNotComplete) is retried and the switch succeeds', async () => {
    const dns = provider();
    sim.throttleNext(1);
    sim.failNext(
      400,
      'PriorRequestNotComplete',
      'The request was rejected because Route 53 was still processing a prior request.',
      { operation: 'UpdateHealthCheck' },
    );
    const result = await dns.switchTo({ target: 'secondary', progress });
    expect(result.noop).toBe(false);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    // The rejected UpdateHealthCheck was sent again.
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(2);
  });

  test('403 AccessDenied is a non-retryable forbidden error that names the missing permission, and nothing changes', async () => {
    const dns = provider();
    sim.failNext(
      403,
      'AccessDenied',
      'User: arn:aws:iam::123456789012:user/dr-bot is not authorized to perform: route53:UpdateHealthCheck',
      { operation: 'UpdateHealthCheck' },
    );
    const err = await dns.switchTo({ target: 'secondary', progress }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'forbidden', retryable: false, provider: 'route53' });
    expect((err as Error).message).toMatch(/access denied.*UpdateHealthCheck/);
    expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
      inverted: false,
      disabled: false,
    });
  });

  test('an unknown hosted zone or record is refused before any change', async () => {
    const noZone = provider({ hostedZoneId: 'ZDOESNOTEXIST' });
    const ready = await noZone.readiness('secondary');
    expect(ready.status).toBe('blocked');
    expect(ready.summary).toContain('NoSuchHostedZone');
    await expect(noZone.switchTo({ target: 'secondary', progress })).rejects.toMatchObject({
      code: 'not-found',
      name: 'PreconditionFailed',
    });

    const noRecord = provider({ secondarySetIdentifier: 'app-dr' });
    await expect(noRecord.switchTo({ target: 'secondary', progress })).rejects.toThrow(
      /no app\.example\.test A in hosted zone .* with SetIdentifier "app-dr"/,
    );

    const noCheck = provider({ primaryHealthCheckId: 'hc-missing' });
    await expect(noCheck.switchTo({ target: 'secondary', progress })).rejects.toMatchObject({
      code: 'not-found',
    });
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(0);
    expect(sim.requestsFor('ChangeResourceRecordSets')).toHaveLength(0);
  });
});

describe('Route 53 provider, CNAME records', () => {
  test('switches and resolves a CNAME failover pair', async () => {
    await sim.stop();
    sim = await startRoute53Simulator({ recordType: 'CNAME' });
    const dns = provider({ recordType: 'CNAME' });
    await dns.switchTo({ target: 'secondary', progress });
    const checks = await dns.verify('secondary');
    expect(checks.every((c) => c.ok)).toBe(true);
    expect(checks[2].detail).toBe('secondary.example.net');
  });
});

describe('Route 53 provider, rewrite-records', () => {
  test('failover swaps the failover roles in one batch and waits for INSYNC; failback swaps them back', async () => {
    await sim.stop();
    sim = await startRoute53Simulator({ changeDelayMs: 60 });
    const dns = provider({ method: 'rewrite-records', primaryHealthCheckId: undefined });
    const messages: string[] = [];
    const result = await dns.switchTo({ target: 'secondary', progress: (m) => messages.push(m) });
    expect(result.noop).toBe(false);
    expect(messages.some((m) => /PENDING/.test(m))).toBe(true);
    const roles = Object.fromEntries(
      sim
        .records()
        .filter((r) => r.failover)
        .map((r) => [r.setIdentifier, r.failover]),
    );
    expect(roles).toEqual({
      [sim.primarySetIdentifier]: 'SECONDARY',
      [sim.secondarySetIdentifier]: 'PRIMARY',
    });
    expect(sim.requestsFor('ChangeResourceRecordSets')).toHaveLength(1);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect((await dns.verify('secondary')).every((c) => c.ok)).toBe(true);

    // Switched already: the same records go in again, only to see them INSYNC; nothing changes.
    const again = await dns.switchTo({ target: 'secondary', progress });
    expect(again.noop).toBe(true);
    expect(again.summary).toMatch(/already switched: .* re-submitted\) is INSYNC/);
    expect(sim.requestsFor('ChangeResourceRecordSets')).toHaveLength(2);
    expect(
      Object.fromEntries(
        sim
          .records()
          .filter((r) => r.failover)
          .map((r) => [r.setIdentifier, r.failover]),
      ),
    ).toEqual(roles);

    await dns.switchTo({ target: 'primary', progress });
    expect(sim.answer()).toEqual(['10.0.1.10']);
  });

  test('a failing primary that Route 53 routes around is still pinned to the secondary by the records', async () => {
    sim.setEndpointHealthy('primary', false);
    const dns = provider({ method: 'rewrite-records' });
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await dns.currentTarget()).toBe('unknown');
    expect((await dns.switchTo({ target: 'secondary', progress })).noop).toBe(false);
    sim.setEndpointHealthy('primary', true);
    expect(await dns.currentTarget()).toBe('secondary');
    expect(sim.answer()).toEqual(['10.0.2.10']);
  });

  test('a change stuck in PENDING times out; a retry is not "already done" until a change is seen INSYNC', async () => {
    const dns = provider({ method: 'rewrite-records', changeTimeoutSeconds: 0.2 });
    sim.stickPending();
    const err = await dns.switchTo({ target: 'secondary', progress }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
    expect((err as Error).message).toMatch(/still PENDING/);
    // The records say secondary, but the name servers do not have it yet: the step's check is not satisfied.
    expect(
      sim.records().find((r) => r.setIdentifier === sim.secondarySetIdentifier)?.failover,
    ).toBe('PRIMARY');
    expect(sim.answer()).toEqual(['10.0.1.10']);
    expect(await dns.currentTarget()).toBe('unknown');
    // A bot restarted meanwhile (no change id in memory) does not take it as switched either.
    expect(await provider({ method: 'rewrite-records' }).currentTarget()).toBe('unknown');

    // Retried while Route 53 is still stuck: the same records again, and the timeout again.
    const again = await dns.switchTo({ target: 'secondary', progress }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'timeout' });
    expect(sim.requestsFor('ChangeResourceRecordSets')).toHaveLength(2);

    sim.stickPending(false);
    const done = await dns.switchTo({ target: 'secondary', progress });
    expect(done.noop).toBe(true);
    expect(done.summary).toMatch(/is INSYNC, so it has propagated/);
    expect(sim.answer()).toEqual(['10.0.2.10']);
    expect(await dns.currentTarget()).toBe('secondary');
    // Only the first batch changed anything; the others were the same records.
    const bodies = sim
      .requestsFor('ChangeResourceRecordSets')
      .map((r) => r.body.replace(/<Comment>[^<]*<\/Comment>/, ''));
    expect(new Set(bodies).size).toBe(1);
  });
});

describe('Route 53 provider, failover time against the RTO target', () => {
  // The simulator's health checks probe every 30 s and turn unhealthy after 3 failures: 90 s.
  const warningsOf = async (over: Partial<Route53ProviderOptions> = {}) => {
    const ready = await provider({ rtoMinutes: 5, ...over }).readiness('secondary');
    return { ready, text: (ready.warnings ?? []).join(' ') };
  };

  test('below the target: TTL plus health check, read with GetHealthCheck, is said in the preflight and does not warn', async () => {
    sim.setTtl(200);
    const { ready, text } = await warningsOf();
    expect(ready.status).toBe('ready');
    expect(text).toBe('');
    expect(ready.summary).toContain('failover time TTL 200 s + health check 3 × 30 s = 290 s');
    expect(ready.details).toMatchObject({ ttl: 200, failoverSeconds: 290 });
    expect(sim.requestsFor('GetHealthCheck').length).toBeGreaterThan(0);
  });

  test('at the target: 210 s + 3 × 30 s uses all of a 5-min RTO, a warning although the TTL alone is well under it', async () => {
    sim.setTtl(210);
    const { ready, text } = await warningsOf();
    expect(ready.status).toBe('warning');
    expect(text).toContain(
      'TTL 210 s + health check 3 × 30 s = 300 s, not under the 5-min RTO target: users are sent to a failed region until health check hc-0000-primary sees it fail',
    );
  });

  test("over the target: the health check's own FailureThreshold and RequestInterval count, as Route 53 reports them", async () => {
    sim.setTtl(300);
    expect((await warningsOf()).text).toContain(
      'TTL 300 s + health check 3 × 30 s = 390 s, over the 5-min RTO target',
    );

    // FailureThreshold changed through the API; a fast (10 s) check has to be created so.
    sim.setTtl(250);
    const sdk = new Route53Client({ endpoint: sim.url, region: 'us-east-1' });
    try {
      await sdk.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: sim.primaryHealthCheckId,
          FailureThreshold: 6,
        }),
      );
    } finally {
      sdk.destroy();
    }
    expect((await warningsOf()).text).toContain(
      'TTL 250 s + health check 6 × 30 s = 430 s, over the 5-min RTO target',
    );
    sim.setHealthCheckConfig(sim.primaryHealthCheckId, {
      requestInterval: 10,
      failureThreshold: 2,
    });
    const fast = await warningsOf();
    expect(fast.ready.status).toBe('ready');
    expect(fast.ready.summary).toContain('TTL 250 s + health check 2 × 10 s = 270 s');
  });

  test('a calculated health check has no RequestInterval × FailureThreshold: the TTL alone is judged, and the preflight says so', async () => {
    sim.setHealthCheckConfig(sim.primaryHealthCheckId, { type: 'CALCULATED' });
    sim.setTtl(250);
    const under = await warningsOf();
    expect(under.ready.status).toBe('ready');
    expect(under.ready.summary).toContain(
      'failover time TTL 250 s (TTL only: health check hc-0000-primary is of type CALCULATED, whose status does not follow RequestInterval × FailureThreshold)',
    );
    expect(under.ready.details).toMatchObject({ failoverSeconds: 250 });
    sim.setTtl(300);
    expect((await warningsOf()).text).toContain(
      'TTL 300 s, not under the 5-min RTO target (TTL only: health check hc-0000-primary is of type CALCULATED',
    );
  });

  test('rewrite-records reads the health check of the record that is PRIMARY; when it cannot, the TTL alone is judged and the reason shown', async () => {
    sim.setTtl(250);
    const rewrite = { method: 'rewrite-records' as const, primaryHealthCheckId: undefined };
    expect((await warningsOf(rewrite)).text).toContain(
      'TTL 250 s + health check 3 × 30 s = 340 s, over the 5-min RTO target',
    );
    sim.failNext(
      403,
      'AccessDenied',
      'User: arn:aws:iam::123456789012:user/dr-bot is not authorized to perform: route53:GetHealthCheck',
      // Readiness reads each record's check for its health, then the PRIMARY's for the failover time.
      { operation: 'GetHealthCheck', times: 3 },
    );
    const denied = await warningsOf(rewrite);
    // Without GetHealthCheck the secondary's health is unknown too: a warning, not a refusal.
    expect(denied.ready.status).toBe('warning');
    expect(denied.text).toContain("the secondary's health cannot be read");
    expect(denied.ready.summary).toMatch(
      /failover time TTL 250 s \(TTL only: health check hc-0000-primary could not be read: route53: access denied while reading health check hc-0000-primary .*then retry the step\); switch by/,
    );

    // Failed over, the secondary's record is PRIMARY: its health check is the one that has to see a failure.
    await provider(rewrite).switchTo({ target: 'secondary', progress });
    sim.setHealthCheckConfig(sim.secondaryHealthCheckId, { failureThreshold: 1 });
    const back = await provider({ ...rewrite, rtoMinutes: 5 }).readiness('primary');
    expect(back.summary).toContain('failover time TTL 250 s + health check 1 × 30 s = 280 s');
  });
});
