import pino from 'pino';
import {
  GetHealthCheckStatusCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  createRoute53Provider,
  type Route53ProviderOptions,
} from '../../src/providers/route53/index.js';
import { startRoute53Simulator, type Route53Sim } from '../../src/lab/simulators/index.js';
import type { DnsProvider } from '../../src/providers/types.js';

const log = pino({ level: 'silent' });
const progress = () => {};
const sims: Route53Sim[] = [];
const providers: DnsProvider[] = [];

beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDSIMULATOR';
  process.env.AWS_SECRET_ACCESS_KEY = 'simulator-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function simulator(opts: Parameters<typeof startRoute53Simulator>[0] = {}) {
  const sim = await startRoute53Simulator({ ttl: 60, ...opts });
  sims.push(sim);
  return sim;
}

function provider(sim: Route53Sim, over: Partial<Route53ProviderOptions> = {}): DnsProvider {
  const p = createRoute53Provider({
    hostedZoneId: sim.zoneId,
    recordName: sim.recordName,
    primarySetIdentifier: sim.primarySetIdentifier,
    secondarySetIdentifier: sim.secondarySetIdentifier,
    method: 'invert-health-check',
    primaryHealthCheckId: sim.primaryHealthCheckId,
    endpoint: sim.url,
    changeTimeoutSeconds: 1,
    pollMs: 10,
    log,
    ...over,
  });
  providers.push(p);
  return p;
}

describe('Route 53 failover routing with an unhealthy secondary', () => {
  test('Route 53 answers the PRIMARY when both records are unhealthy, never the unhealthy secondary', async () => {
    const sim = await simulator();
    sim.setEndpointHealthy('secondary', false);
    expect(sim.answer()).toEqual([sim.primaryValue]);
    sim.setEndpointHealthy('primary', false);
    expect(sim.answer()).toEqual([sim.primaryValue]);
    sim.setEndpointHealthy('secondary', true);
    expect(sim.answer()).toEqual([sim.secondaryValue]);
  });

  test('preflight shows the DNS row blocked and the switch is refused with no change, for both methods', async () => {
    const sim = await simulator();
    sim.setEndpointHealthy('secondary', false);
    for (const method of ['invert-health-check', 'rewrite-records'] as const) {
      const dns = provider(sim, { method });
      const ready = await dns.readiness('secondary');
      expect(ready.status).toBe('blocked');
      expect(ready.summary).toMatch(
        /^secondary unhealthy: Route 53 would keep answering the primary \(health check hc-0000-secondary: 0 of 5 checkers report success/,
      );
      expect(ready.details).toMatchObject({
        primaryHealth: 'healthy',
        secondaryHealth: 'unhealthy',
      });
      const err = await dns.switchTo({ target: 'secondary', progress }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'precondition-failed' });
      expect((err as Error).message).toContain('allowUnhealthyTarget');
    }
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(0);
    expect(sim.requestsFor('ChangeResourceRecordSets')).toHaveLength(0);
    expect(sim.requestsFor('GetHealthCheckStatus').length).toBeGreaterThan(0);
  });

  test('the override turns the refusal into a warning; the switch then waits and says the secondary fails', async () => {
    const sim = await simulator();
    sim.setEndpointHealthy('secondary', false);
    const dns = provider(sim, { allowUnhealthyTarget: true });
    const ready = await dns.readiness('secondary');
    expect(ready.status).toBe('warning');
    expect(ready.warnings?.join(' ')).toContain('switching anyway because allowUnhealthyTarget');
    const err = await dns.switchTo({ target: 'secondary', progress }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout' });
    // Route 53 kept the primary: both records unhealthy.
    expect(sim.answer()).toEqual([sim.primaryValue]);
    // The secondary recovers: the pin holds, so Route 53 moves users there.
    sim.setEndpointHealthy('secondary', true);
    expect(await dns.currentTarget()).toBe('secondary');
  });

  test('a healthy secondary is shown in the preflight and the failover goes through', async () => {
    const sim = await simulator();
    const dns = provider(sim);
    const ready = await dns.readiness('secondary');
    expect(ready.status).toBe('ready');
    expect(ready.details).toMatchObject({
      secondaryHealth: 'healthy',
      targetHealth: 'health check hc-0000-secondary: 5 of 5 checkers report success',
    });
    expect((await dns.switchTo({ target: 'secondary', progress })).noop).toBe(false);
  });
});

describe('Route 53 simulator health checkers', () => {
  test('GetHealthCheckStatus follows the checkers, which flip only after FailureThreshold probes in a row', async () => {
    // A clock too slow to tick during the test: the rounds are run by hand.
    const sim = await simulator({ checkerIntervalMs: 3_600_000 });
    sim.setHealthCheckConfig(sim.secondaryHealthCheckId, { failureThreshold: 3 });
    const client = new Route53Client({ region: 'us-east-1', endpoint: sim.url });
    const status = async () => [
      ...new Set(
        (
          await client.send(
            new GetHealthCheckStatusCommand({ HealthCheckId: sim.secondaryHealthCheckId }),
          )
        ).HealthCheckObservations?.map((o) => o.StatusReport?.Status?.split(':')[0]),
      ),
    ];
    const rounds = async (n: number) => {
      const seen: (string | undefined)[][] = [];
      for (let i = 0; i < n; i++) {
        sim.runCheckers();
        seen.push(await status());
      }
      return seen;
    };
    sim.setEndpointHealthy('secondary', false);
    expect(await status()).toEqual(['Success']);
    expect(await rounds(3)).toEqual([['Success'], ['Success'], ['Failure']]);
    // A pass in between resets the streak: back to healthy takes 3 passes in a row too.
    sim.setEndpointHealthy('secondary', true);
    expect(await rounds(2)).toEqual([['Failure'], ['Failure']]);
    sim.setEndpointHealthy('secondary', false);
    expect(await rounds(1)).toEqual([['Failure']]);
    sim.setEndpointHealthy('secondary', true);
    expect(await rounds(3)).toEqual([['Failure'], ['Failure'], ['Success']]);
    client.destroy();
  });

  test('on its own clock the checkers reach the same conclusion', async () => {
    const sim = await simulator({ checkerIntervalMs: 20 });
    const dns = provider(sim);
    sim.setEndpointHealthy('secondary', false);
    const deadline = Date.now() + 10_000;
    let ready = await dns.readiness('secondary');
    while (ready.status !== 'blocked' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      ready = await dns.readiness('secondary');
    }
    expect(ready.summary).toMatch(
      /^secondary unhealthy: Route 53 would keep answering the primary/,
    );
  });
});

describe('Route 53 alias failover records', () => {
  test("alias records with health checks and EvaluateTargetHealth=false: routing is read from the records' health, and a failover and failback work", async () => {
    const sim = await simulator({ alias: { evaluateTargetHealth: false } });
    const dns = provider(sim);
    expect(await dns.currentTarget()).toBe('primary');
    await dns.switchTo({ target: 'secondary', progress });
    expect(sim.answer()).toEqual([sim.secondaryValue]);
    expect(await dns.currentTarget()).toBe('secondary');
    // No resolver configured: routing came from the records' health alone.
    expect(sim.requestsFor('GetHealthCheckStatus').length).toBeGreaterThan(0);
    await dns.switchTo({ target: 'primary', progress });
    expect(await dns.currentTarget()).toBe('primary');
  });

  test('alias records to load balancers with EvaluateTargetHealth: the answering record set is found by its target, and a failover and failback work', async () => {
    const sim = await simulator({ alias: { evaluateTargetHealth: true } });
    const client = new Route53Client({ region: 'us-east-1', endpoint: sim.url });
    const listed = await client.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: sim.zoneId }),
    );
    const primary = listed.ResourceRecordSets?.find((r) => r.Failover === 'PRIMARY');
    expect(primary?.AliasTarget).toMatchObject({ EvaluateTargetHealth: true });
    expect(primary?.ResourceRecords).toBeUndefined();
    client.destroy();

    const dns = provider(sim, { resolverServers: [sim.dnsServer!] });
    expect(await dns.currentTarget()).toBe('primary');
    const ready = await dns.readiness('secondary');
    expect(ready.details).toMatchObject({ servedBy: 'primary', answer: [sim.primaryValue] });
    await dns.switchTo({ target: 'secondary', progress });
    expect(sim.answer()).toEqual([sim.secondaryValue]);
    expect(await dns.currentTarget()).toBe('secondary');
    expect((await dns.verify('secondary')).every((c) => c.ok)).toBe(true);
    await dns.switchTo({ target: 'primary', progress });
    expect(await dns.currentTarget()).toBe('primary');
  });

  test('an alias whose load balancer has no healthy targets is answered around; when its target cannot be resolved either, preflight says why routing is unknown', async () => {
    const sim = await simulator({ alias: { evaluateTargetHealth: true, healthChecks: false } });
    sim.setAliasTargetHealthy('primary', false);
    expect(sim.answer()).toEqual([sim.secondaryValue]);
    const rewrite = { method: 'rewrite-records' as const, primaryHealthCheckId: undefined };
    const seen = provider(sim, { ...rewrite, resolverServers: [sim.dnsServer!] });
    expect((await seen.readiness('secondary')).details).toMatchObject({ servedBy: 'secondary' });
    const dns = provider(sim, {
      ...rewrite,
      resolver: () => Promise.reject(new Error('no resolver reachable')),
    });
    expect(await dns.currentTarget()).toBe('unknown');
    const ready = await dns.readiness('secondary');
    expect(ready.status).toBe('warning');
    expect(ready.warnings?.join(' ')).toContain(
      'which alias record Route 53 answers cannot be told',
    );
    expect(ready.warnings?.join(' ')).toContain('Associate a health check with each alias record');
  });

  test('the simulator refuses an alias record that also has a TTL, as Route 53 does', async () => {
    const sim = await simulator({ alias: {} });
    const res = await fetch(`${sim.url}/2013-04-01/hostedzone/${sim.zoneId}/rrset/`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: `<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>${sim.recordName}</Name><Type>A</Type><SetIdentifier>${sim.primarySetIdentifier}</SetIdentifier><Failover>PRIMARY</Failover><TTL>60</TTL><AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId><DNSName>x.elb.amazonaws.com.</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('cannot have a TTL');
  });
});
