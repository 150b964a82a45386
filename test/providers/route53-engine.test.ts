/**
 * A real SDK failure inside an operation: the engine (real Redis, fakes for the other components)
 * runs the switch-dns step through the real Route 53 provider against its simulator. A 403 on
 * UpdateHealthCheck pauses the operation with an error that names the missing permission; Retry,
 * once the permission is granted, completes it.
 */
import pino from 'pino';
import { startRoute53Simulator, type Route53Sim } from '../../src/lab/simulators/index.js';
import { createRoute53Provider } from '../../src/providers/route53/index.js';
import type { DnsProvider } from '../../src/providers/types.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';

let sim: Route53Sim;
let dns: DnsProvider;
let h: Harness;

beforeAll(() => {
  // The SDK's default credential chain reads these; the simulator does not check signatures.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDSIMULATOR';
  process.env.AWS_SECRET_ACCESS_KEY = 'simulator-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});

beforeEach(async () => {
  sim = await startRoute53Simulator();
  dns = createRoute53Provider({
    hostedZoneId: sim.zoneId,
    recordName: sim.recordName,
    primarySetIdentifier: sim.primarySetIdentifier,
    secondarySetIdentifier: sim.secondarySetIdentifier,
    method: 'invert-health-check',
    primaryHealthCheckId: sim.primaryHealthCheckId,
    endpoint: sim.url,
    changeTimeoutSeconds: 5,
    pollMs: 10,
    log: pino({ level: 'silent' }),
  });
  h = await createHarness({ name: 'route53-engine', providers: { dns } });
});

afterEach(async () => {
  await h.close();
  await dns.close();
  await sim.stop();
});

test('403 AccessDenied on the switch pauses the operation naming the permission; Retry after granting it completes', async () => {
  const req = await h.engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'eu-west-1 down',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  expect(waiting.preflight?.components.find((c) => c.component === 'dns')).toMatchObject({
    status: 'ready',
  });

  // The bot's IAM policy lacks route53:UpdateHealthCheck (until someone fixes it).
  sim.failNext(
    403,
    'AccessDenied',
    'User: arn:aws:iam::123456789012:user/dr-bot is not authorized to perform: route53:UpdateHealthCheck on resource: arn:aws:route53:::healthcheck/hc-0000-primary',
    { operation: 'UpdateHealthCheck' },
  );
  expect(
    await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! }),
  ).toMatchObject({ ok: true });

  const paused = await inPhase(h.engine, waiting.id, 'paused');
  expect(paused.currentSteps).toEqual(['switch-dns']);
  expect(paused.lastError).toMatchObject({ code: 'forbidden', retryable: false });
  expect(paused.lastError?.message).toMatch(
    /access denied while pinning health check hc-0000-primary/,
  );
  expect(paused.lastError?.message).toMatch(/not authorized to perform: route53:UpdateHealthCheck/);
  expect(paused.lastError?.message).toMatch(/Grant the bot's IAM identity .*UpdateHealthCheck/);
  expect(paused.steps.find((s) => s.id === 'switch-dns')?.status).toBe('failed');
  expect(paused.steps.find((s) => s.id === 'verify-secondary')?.status).toBe('pending');
  // Nothing moved: users still go to the primary.
  expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
    inverted: false,
    disabled: false,
  });
  expect(sim.answer()).toEqual([sim.primaryValue]);

  // The permission is granted (the injected 403 was the only one): Retry runs the step again.
  expect(await h.engine.retry({ opId: waiting.id, userId: REQUESTER })).toMatchObject({ ok: true });
  const done = await inPhase(h.engine, waiting.id, 'completed');
  expect(done.steps.find((s) => s.id === 'switch-dns')).toMatchObject({
    status: 'succeeded',
    attempts: 2,
  });
  expect(done.steps.find((s) => s.id === 'switch-dns')?.summary).toMatch(
    /Route 53 now answers the secondary/,
  );
  expect(sim.healthCheck(sim.primaryHealthCheckId)).toMatchObject({
    inverted: true,
    disabled: true,
  });
  expect(sim.answer()).toEqual([sim.secondaryValue]);
  expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(2);
});
