/**
 * The Route 53 ARC provider through the real SDK against the cluster simulator: failover and
 * failback in one UpdateRoutingControlStates, an unreachable endpoint skipped for the next one,
 * and a safety rule's refusal told to a person with nothing changed.
 */
import {
  Route53RecoveryClusterClient,
  UpdateRoutingControlStateCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import pino from 'pino';
import { startRoute53ArcSimulator, type ArcSim } from '../../src/lab/simulators/index.js';
import { createRoute53ArcProvider } from '../../src/providers/route53-arc/index.js';
import type { DnsProvider } from '../../src/providers/types.js';

const creds = { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator-secret' };
const progress = (): void => undefined;
let sim: ArcSim;
let dns: DnsProvider;

function provider(primary = sim.primaryControlArn, secondary = sim.secondaryControlArn) {
  return createRoute53ArcProvider({
    endpoints: sim.endpoints,
    primaryRoutingControlArn: primary,
    secondaryRoutingControlArn: secondary,
    timeoutSeconds: 2,
    credentials: creds,
    log: pino({ level: 'silent' }),
  });
}

beforeEach(async () => {
  sim = await startRoute53ArcSimulator();
  dns = provider();
});

afterEach(async () => {
  await dns.close();
  await sim.stop();
});

test('failover turns the secondary On and the primary Off in one call; failback reverses it', async () => {
  expect(await dns.currentTarget()).toBe('primary');
  const ready = await dns.readiness('secondary');
  expect(ready.status).toBe('ready');
  expect(ready.summary).toMatch(/users held on the primary; switch: secondary-cell On/);

  const over = await dns.switchTo({ target: 'secondary', progress });
  expect(over.noop).toBe(false);
  expect(over.summary).toMatch(/now routes to the secondary: primary-cell Off, secondary-cell On/);
  expect(sim.state(sim.primaryControlArn)).toBe('Off');
  expect(sim.state(sim.secondaryControlArn)).toBe('On');
  const updates = sim.requestsFor('UpdateRoutingControlStates');
  expect(updates).toHaveLength(1);
  expect(updates[0]!.headers['content-type']).toBe('application/x-amz-json-1.0');
  expect(await dns.currentTarget()).toBe('secondary');
  expect((await dns.verify('secondary')).every((c) => c.ok)).toBe(true);
  expect((await dns.verify('primary')).every((c) => c.ok)).toBe(false);

  expect((await dns.switchTo({ target: 'secondary', progress })).noop).toBe(true);

  const back = await dns.switchTo({ target: 'primary', progress });
  expect(back.summary).toMatch(/now routes to the primary: primary-cell On, secondary-cell Off/);
  expect(sim.state(sim.primaryControlArn)).toBe('On');
  expect(sim.state(sim.secondaryControlArn)).toBe('Off');
});

test('an unreachable endpoint is skipped: the call goes to the next one and says so', async () => {
  await sim.setEndpointReachable(0, false);
  const ready = await dns.readiness('secondary');
  expect(ready.status).toBe('warning');
  expect(ready.warnings?.join(' ')).toMatch(
    /cluster endpoint us-east-1 \(ECONNREFUSED\) did not answer/,
  );

  const over = await dns.switchTo({ target: 'secondary', progress });
  expect(sim.state(sim.secondaryControlArn)).toBe('On');
  expect(sim.requestsFor('UpdateRoutingControlStates').map((r) => r.endpoint)).toEqual([1]);
  expect(over.evidence).toMatchObject({ via: 'us-west-2' });

  // Every endpoint down: a retryable error naming each (from the last that answered), nothing changed.
  await sim.setEndpointReachable(1, false);
  await sim.setEndpointReachable(2, false);
  await expect(dns.switchTo({ target: 'primary', progress })).rejects.toMatchObject({
    retryable: true,
    message: expect.stringMatching(
      /no cluster endpoint answered .*us-west-2 .*eu-west-1 .*us-east-1 \(ECONNREFUSED\)/,
    ),
  });
  await sim.setEndpointReachable(0, true);
  expect(await dns.currentTarget()).toBe('secondary');
});

test('a safety rule refusal names the rule and changes nothing', async () => {
  // The gating rule: the cells change only while the manual gate is On. Someone closed it.
  sim.setState(sim.gateControlArn, 'Off');
  const ready = await dns.readiness('secondary');
  expect(ready.status).toBe('ready');
  await expect(dns.switchTo({ target: 'secondary', progress })).rejects.toMatchObject({
    code: 'precondition-failed',
    message: expect.stringMatching(
      /Route 53 ARC refused switching the routing controls to the secondary: safety rule .*safetyrule\/manual-gate-on forbids it.*Nothing changed/,
    ),
  });
  expect(sim.state(sim.primaryControlArn)).toBe('On');
  expect(sim.state(sim.secondaryControlArn)).toBe('Off');
  // Only one endpoint was asked: a refusal is an answer, not an endpoint failure.
  expect(sim.requestsFor('UpdateRoutingControlStates')).toHaveLength(1);

  sim.setState(sim.gateControlArn, 'On');
  await dns.switchTo({ target: 'secondary', progress });
  expect(sim.state(sim.secondaryControlArn)).toBe('On');
});

test('the simulator enforces the assertion rule: both cells Off is refused', async () => {
  const client = new Route53RecoveryClusterClient({
    region: sim.endpoints[0]!.region,
    endpoint: sim.endpoints[0]!.url,
    credentials: creds,
  });
  await expect(
    client.send(
      new UpdateRoutingControlStateCommand({
        RoutingControlArn: sim.primaryControlArn,
        RoutingControlState: 'Off',
      }),
    ),
  ).rejects.toMatchObject({
    name: 'ConflictException',
    resourceId: sim.safetyRuleArn,
    resourceType: 'SafetyRule',
  });
  expect(sim.state(sim.primaryControlArn)).toBe('On');
  // Named in SafetyRulesToOverride ("break glass"), the same change goes through.
  await client.send(
    new UpdateRoutingControlStateCommand({
      RoutingControlArn: sim.primaryControlArn,
      RoutingControlState: 'Off',
      SafetyRulesToOverride: [sim.safetyRuleArn],
    }),
  );
  expect(sim.state(sim.primaryControlArn)).toBe('Off');
  client.destroy();
});
