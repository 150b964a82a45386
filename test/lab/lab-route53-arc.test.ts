/**
 * `dr lab up --dns route53-arc`: the lab writes a config whose DNS switch is the ARC routing-control
 * method against the lab's ARC cluster simulator (its regional endpoints), and the Route 53 failover
 * records follow the routing controls through their health checks. A planned failover and a
 * failback through the engine move the controls, DNS answers follow, and `dr lab down` stops the
 * cluster's endpoints.
 */
import { loadConfig } from '../../src/config/index.js';
import { openConsoleRuntime, type ConsoleRuntime } from '../../src/console/runtime.js';
import type { OperationKind } from '../../src/domain/types.js';
import {
  cloudState,
  labCloud,
  labDown,
  labUp,
  readLabEnv,
  LAB_APPROVERS,
  type LabCloud,
  type LabInfo,
} from '../../src/lab/index.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { runDrHere } from '../support/dr-cli.js';
import { inPhase } from '../support/engine-harness.js';
import { silentLog } from '../support/lab.js';

const [REQUESTER, APPROVER] = LAB_APPROVERS as [string, string];
let lab: LabInfo | undefined;
let runtime: ConsoleRuntime | undefined;

afterAll(async () => {
  await runtime?.close();
  if (lab) await labDown({ dir: lab.dir });
});

/** Request, approve and run one operation to its end; the summary of its DNS step. */
async function run(engine: ConsoleRuntime['engine'], kind: OperationKind): Promise<string> {
  const req = await engine.request({ kind, mode: 'planned', requester: REQUESTER, reason: 'arc' });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
  const row = waiting.preflight?.components.find((c) => c.component === 'dns');
  expect(row?.status).toBe('ready');
  const ok = await engine.approve({
    opId: waiting.id,
    userId: APPROVER,
    planHash: waiting.planHash!,
  });
  expect(ok).toMatchObject({ ok: true });
  const done = await inPhase(engine, waiting.id, 'completed');
  return done.steps.find((s) => s.id === (kind === 'failover' ? 'switch-dns' : 'switch-dns-back'))!
    .summary!;
}

/** The routing controls as the cluster holds them, and what Route 53 answers for the record. */
async function routing(cloud: LabCloud) {
  const state = await cloudState(cloud);
  if ('error' in state) throw new Error(state.error);
  const resolve = createResolver({ servers: [cloud.route53.dnsServer] });
  return {
    controls: state.arc,
    servedBy: state.route53.servedBy,
    resolved: await resolve(cloud.route53.recordName, 'A'),
  };
}

test('a planned failover and failback move the routing controls, DNS follows, and lab down stops the cluster', async () => {
  lab = await labUp({ dns: 'route53-arc', walinspect: false });
  const cloud = labCloud(lab)!;
  const config = loadConfig({ path: lab.configPath });
  expect(config.components.dns).toMatchObject({
    provider: 'route53-arc',
    route53Arc: {
      endpoints: cloud.arc!.endpoints,
      primaryRoutingControlArn: cloud.arc!.primaryControlArn,
      secondaryRoutingControlArn: cloud.arc!.secondaryControlArn,
    },
  });
  expect(config.components.dns?.route53).toBeUndefined();
  expect(await routing(cloud)).toEqual({
    controls: { primary: 'On', secondary: 'Off' },
    servedBy: 'primary',
    resolved: ['10.0.1.10'],
  });

  Object.assign(process.env, readLabEnv(lab.envFile));
  runtime = await openConsoleRuntime({
    config,
    env: { ...process.env, REDIS_URL: lab.stateRedis.url },
    log: silentLog,
  });
  // `dr lab status` by the CLI's code in this process (lab-outage runs it as a child).
  const status = await runDrHere(['lab', 'status', '--dir', lab.dir], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  });
  expect(status.stdout).toMatch(
    /dns \(route53\) +serving primary \(10\.0\.1\.10\), routing controls primary On, secondary Off/,
  );

  expect(await run(runtime.engine, 'failover')).toMatch(
    /^Route 53 ARC now routes to the secondary: primary-cell Off, secondary-cell On \(through the us-east-1 endpoint\)$/,
  );
  expect(await routing(cloud)).toEqual({
    controls: { primary: 'Off', secondary: 'On' },
    servedBy: 'secondary',
    resolved: ['10.0.2.10'],
  });

  expect(await run(runtime.engine, 'failback')).toMatch(
    /^Route 53 ARC now routes to the primary: primary-cell On, secondary-cell Off/,
  );
  expect(await routing(cloud)).toEqual({
    controls: { primary: 'On', secondary: 'Off' },
    servedBy: 'primary',
    resolved: ['10.0.1.10'],
  });

  await runtime.close();
  runtime = undefined;
  await labDown({ dir: lab.dir });
  lab = undefined;
  for (const e of cloud.arc!.endpoints)
    await expect(
      fetch(e.url, { method: 'POST', signal: AbortSignal.timeout(2000) }),
    ).rejects.toThrow();
});
