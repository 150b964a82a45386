/**
 * Autoscalers through whole operations: the engine (real Redis, fakes for the other components)
 * runs the runbooks' scale steps through the real Kubernetes provider against two simulated
 * clusters, each with a HorizontalPodAutoscaler in front of its workload. Failover raises the
 * secondary's, failback raises the primary's before DNS returns; when it ends both are back at
 * the bounds they had, with no note of saved bounds left on them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { OperationKind, OperationView } from '../../src/domain/types.js';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/index.js';
import { SAVED_BOUNDS } from '../../src/providers/kubernetes-hpa.js';
import { createKubernetesProvider } from '../../src/providers/kubernetes.js';
import type { ClusterProvider } from '../../src/providers/types.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';
import { until } from '../support/lab.js';

const hpa = {
  namespace: 'shop',
  name: 'api-hpa',
  target: { kind: 'Deployment' as const, name: 'api' },
};
let dir: string;
let sims: Record<'primary' | 'secondary', KubernetesSim>;
let cluster: ClusterProvider;
let h: Harness;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-k8s-engine-'));
  const start = (name: string, replicas: number, minReplicas: number, maxReplicas: number) =>
    startKubernetesSimulator({
      token: `tok-${name}`,
      contextName: name,
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas }],
      // The primary serves with the count its metrics ask for; the standby idles at its minimum.
      hpas: [{ ...hpa, minReplicas, maxReplicas, metricsReplicas: replicas }],
      hpaSyncMs: 20,
      podReadyMs: 2,
    });
  sims = {
    primary: await start('eu-west', 4, 3, 8),
    secondary: await start('eu-central', 2, 2, 4),
  };
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigFor(
      Object.values(sims).map((s) => ({ name: s.contextName, url: s.url, token: s.token })),
    ),
  );
  cluster = createKubernetesProvider({
    primary: { kubeconfig, context: 'eu-west' },
    secondary: { kubeconfig, context: 'eu-central' },
    workloads: [
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'api',
        productionReplicas: 6,
        standbyReplicas: 2,
      },
    ],
    readyTimeoutSeconds: 20,
    pollMs: 20,
    log: pino({ level: 'silent' }),
  });
  h = await createHarness({ name: 'k8s-engine', providers: { cluster } });
});

afterEach(async () => {
  await h.close();
  await cluster.close();
  await Promise.all(Object.values(sims).map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function run(kind: OperationKind): Promise<OperationView> {
  const req = await h.engine.request({ kind, mode: 'planned', requester: REQUESTER, reason: kind });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  const approved = await h.engine.approve({
    opId: waiting.id,
    userId: APPROVER,
    planHash: waiting.planHash!,
  });
  expect(approved.ok).toBe(true);
  return inPhase(h.engine, waiting.id, 'completed');
}

/** What `kubectl get hpa -o yaml` shows of the bounds and the bot's note. */
function bounds(region: 'primary' | 'secondary') {
  const o = sims[region].hpa('shop', 'api-hpa') as {
    metadata: { annotations: Record<string, string> };
    spec: { minReplicas: number; maxReplicas: number };
  };
  return {
    min: o.spec.minReplicas,
    max: o.spec.maxReplicas,
    saved: o.metadata.annotations[SAVED_BOUNDS],
  };
}
const ORIGINAL = {
  primary: { min: 3, max: 8, saved: undefined },
  secondary: { min: 2, max: 4, saved: undefined },
};

const step = (op: OperationView, id: string) => op.steps.find((s) => s.id === id);

test('failover then failback leave both regions\u2019 autoscalers at their own bounds', async () => {
  const failover = await run('failover');
  expect(step(failover, 'scale-secondary')?.summary).toContain('autoscaler shop/api-hpa 2–4→6–6');
  expect(bounds('secondary')).toEqual({
    min: 6,
    max: 6,
    saved: '{"minReplicas":2,"maxReplicas":4}',
  });
  expect(bounds('primary')).toEqual(ORIGINAL.primary);

  const failback = await run('failback');
  expect(step(failback, 'scale-primary')?.summary).toContain('autoscaler shop/api-hpa 3–8→6–8');
  const down = step(failback, 'scale-secondary-down');
  expect(down?.summary).toContain("restored the primary's autoscalers: shop/api-hpa 6–8→3–8");
  expect(down?.summary).toContain('shop/api-hpa 6–6→2–4');
  expect(bounds('primary')).toEqual(ORIGINAL.primary);
  expect(bounds('secondary')).toEqual(ORIGINAL.secondary);
  // Each autoscaler owns its count again: the standby settles at its minimum (the autoscaler
  // syncs and the pods come up after the step), the primary at its load.
  await until('the standby back at its standby size', () =>
    cluster.isScaled('secondary', 'standby'),
  );
  expect(await cluster.autoscalersReleased('primary')).toBe(true);
});

test('a drill fails over and back and leaves both regions\u2019 autoscalers as it found them', async () => {
  const drill = await run('drill');
  expect(step(drill, 'scale-secondary')?.status).toBe('succeeded');
  expect(step(drill, 'scale-primary')?.summary).toContain('3–8→6–8');
  expect(step(drill, 'scale-secondary-down')?.summary).toContain(
    "restored the primary's autoscalers",
  );
  expect(bounds('primary')).toEqual(ORIGINAL.primary);
  expect(bounds('secondary')).toEqual(ORIGINAL.secondary);
});
