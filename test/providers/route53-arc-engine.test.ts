/**
 * A whole failover and failback through the engine (real Redis, the ARC provider through the real
 * SDK against the cluster simulator, no other components), with the first cluster endpoint down
 * the whole time: each switch goes through the next endpoint and users end where they started.
 */
import pino from 'pino';
import { startRoute53ArcSimulator, type ArcSim } from '../../src/lab/simulators/index.js';
import { createRoute53ArcProvider } from '../../src/providers/route53-arc/index.js';
import type { DnsProvider } from '../../src/providers/types.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';

let sim: ArcSim;
let dns: DnsProvider;
let h: Harness;

beforeAll(async () => {
  sim = await startRoute53ArcSimulator();
  dns = createRoute53ArcProvider({
    endpoints: sim.endpoints,
    primaryRoutingControlArn: sim.primaryControlArn,
    secondaryRoutingControlArn: sim.secondaryControlArn,
    timeoutSeconds: 2,
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator-secret' },
    log: pino({ level: 'silent' }),
  });
  h = await createHarness({ name: 'route53-arc-engine', providers: { dns } });
});

afterAll(async () => {
  await h.close();
  await dns.close();
  await sim.stop();
});

async function run(kind: 'failover' | 'failback'): Promise<string | undefined> {
  const req = await h.engine.request({ kind, mode: 'auto', requester: REQUESTER, reason: 'drill' });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  const row = waiting.preflight?.components.find((c) => c.component === 'dns');
  expect(row?.summary).toMatch(/switch: (primary|secondary)-cell On, the other Off/);
  expect(
    await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! }),
  ).toMatchObject({ ok: true });
  const done = await inPhase(h.engine, waiting.id, 'completed');
  const step = kind === 'failover' ? 'switch-dns' : 'switch-dns-back';
  return done.steps.find((s) => s.id === step)?.summary;
}

test('failover then failback move the routing controls, around an endpoint that is down', async () => {
  await sim.setEndpointReachable(0, false);

  expect(await run('failover')).toMatch(
    /Route 53 ARC now routes to the secondary: primary-cell Off, secondary-cell On/,
  );
  expect(sim.state(sim.primaryControlArn)).toBe('Off');
  expect(sim.state(sim.secondaryControlArn)).toBe('On');

  expect(await run('failback')).toMatch(
    /Route 53 ARC now routes to the primary: primary-cell On, secondary-cell Off/,
  );
  expect(sim.state(sim.primaryControlArn)).toBe('On');
  expect(sim.state(sim.secondaryControlArn)).toBe('Off');
  // No change ever went to the endpoint that was down.
  expect(sim.requestsFor('UpdateRoutingControlStates').map((r) => r.endpoint)).toEqual([1, 1]);
});
