/**
 * The Kubernetes provider against workloads as they really behave: an autoscaler that resets
 * the count, a controller that observes a change late, pods that crash-loop, a StatefulSet that
 * keeps pods at an old revision (partition, OnDelete). The real client
 * talks to the simulator (src/lab/simulators/kubernetes*.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/index.js';
import { SAVED_BOUNDS } from '../../src/providers/kubernetes-hpa.js';
import {
  createKubernetesProvider,
  type KubernetesProviderOptions,
  type WorkloadConfig,
} from '../../src/providers/kubernetes.js';
import type { ClusterProvider } from '../../src/providers/types.js';

const log = pino({ level: 'silent' });
const api: WorkloadConfig = {
  kind: 'Deployment',
  namespace: 'shop',
  name: 'api',
  productionReplicas: 6,
  standbyReplicas: 2,
};
let dir: string;
let sim: KubernetesSim;
let kubeconfig: string;
const providers: ClusterProvider[] = [];

async function start(opts: Parameters<typeof startKubernetesSimulator>[0]): Promise<void> {
  sim = await startKubernetesSimulator({ token: 'tok', contextName: 'eu-central', ...opts });
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigFor([
      { name: 'eu-west', url: 'http://127.0.0.1:1', token: 'x' },
      { name: 'eu-central', url: sim.url, token: sim.token },
    ]),
  );
}

function provider(over: Partial<KubernetesProviderOptions> = {}): ClusterProvider {
  const p = createKubernetesProvider({
    primary: { kubeconfig, context: 'eu-west' },
    secondary: { kubeconfig, context: 'eu-central' },
    workloads: [api],
    readyTimeoutSeconds: 20,
    pollMs: 20,
    log,
    ...over,
  });
  providers.push(p);
  return p;
}

/** Polls until `ok` holds: the simulator's controllers act on timers. */
async function until<T>(read: () => T, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hpa = {
  namespace: 'shop',
  name: 'api-hpa',
  target: { kind: 'Deployment' as const, name: 'api' },
};
const writes = () => sim.requests.filter((r) => r.method !== 'GET');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-k8s-rollout-'));
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a workload a HorizontalPodAutoscaler scales', () => {
  test('failover raises its bounds and holds production size; failback after a restart restores them', async () => {
    await start({
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
      hpas: [{ ...hpa, minReplicas: 2, maxReplicas: 4 }],
      hpaSyncMs: 30,
      podReadyMs: 5,
    });
    const before = await provider().readiness('secondary');
    expect(before.summary).toContain('api 2/2→6 (autoscaler 2–4→6–6)');

    const up = await provider().scale({
      region: 'secondary',
      profile: 'production',
      progress: () => {},
    });
    expect(up.evidence.autoscalers).toEqual({ 'Deployment/shop/api': 'shop/api-hpa 2–4→6–6' });
    expect(sim.hpa('shop', 'api-hpa')).toMatchObject({
      metadata: { annotations: { [SAVED_BOUNDS]: '{"minReplicas":2,"maxReplicas":4}' } },
      spec: { minReplicas: 6, maxReplicas: 6 },
    });
    // Several autoscaler syncs later the count is still production's: nothing fights it.
    await new Promise((r) => setTimeout(r, 150));
    expect(sim.workload('Deployment', 'shop', 'api')).toEqual({ replicas: 6, readyReplicas: 6 });
    expect(await provider().isScaled('secondary', 'production')).toBe(true);

    // The failback runs in another operation, from a bot that restarted: the bounds come from the cluster.
    const restarted = provider();
    expect(await restarted.isScaled('secondary', 'standby')).toBe(false);
    const down = await restarted.scale({
      region: 'secondary',
      profile: 'standby',
      progress: () => {},
    });
    expect(down.evidence.autoscalers).toEqual({ 'Deployment/shop/api': 'shop/api-hpa 6–6→2–4' });
    const restored = sim.hpa('shop', 'api-hpa') as any;
    expect(restored.spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    expect(restored.metadata.annotations[SAVED_BOUNDS]).toBeUndefined();
    // The autoscaler owns the count again and brings it down to what its metrics ask for.
    await until(
      () => sim.workload('Deployment', 'shop', 'api')!,
      (w) => w.replicas === 2 && w.readyReplicas === 2,
    );
    expect(await restarted.isScaled('secondary', 'standby')).toBe(true);
    // Scale-down never patched the count the autoscaler sets.
    expect(
      writes()
        .filter((r) => r.path.endsWith('/scale'))
        .map((r) => JSON.parse(r.body)),
    ).toEqual([{ spec: { replicas: 6 } }]);
  });

  test('a raise retried after a crash keeps the bounds saved by the first one', async () => {
    await start({
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
      hpas: [{ ...hpa, minReplicas: 2, maxReplicas: 8 }],
    });
    // The first raise went through (min 4, say from an older config), then the bot died.
    await fetch(`${sim.url}/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/api-hpa`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({
        metadata: { annotations: { [SAVED_BOUNDS]: '{"minReplicas":2,"maxReplicas":8}' } },
        spec: { minReplicas: 4 },
      }),
    });
    await provider().scale({ region: 'secondary', profile: 'production', progress: () => {} });
    expect(sim.hpa('shop', 'api-hpa')).toMatchObject({
      metadata: { annotations: { [SAVED_BOUNDS]: '{"minReplicas":2,"maxReplicas":8}' } },
      spec: { minReplicas: 6, maxReplicas: 8 },
    });
    await provider().scale({ region: 'secondary', profile: 'standby', progress: () => {} });
    expect(sim.hpa('shop', 'api-hpa')).toMatchObject({ spec: { minReplicas: 2, maxReplicas: 8 } });
  });

  test('one the config says to leave alone is refused in preflight, and scale changes nothing', async () => {
    await start({
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
      hpas: [{ ...hpa, minReplicas: 2, maxReplicas: 4 }],
    });
    const cluster = provider({ workloads: [{ ...api, autoscaler: 'leave' }] });
    const ready = await cluster.readiness('secondary');
    expect(ready.status).toBe('blocked');
    expect(ready.summary).toMatch(
      /Deployment\/shop\/api is scaled by HorizontalPodAutoscaler shop\/api-hpa \(2–4 replicas\) and its config says autoscaler: leave/,
    );
    const err = await cluster
      .scale({ region: 'secondary', profile: 'production', progress: () => {} })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'precondition-failed' });
    expect((err as Error).message).toMatch(/Set autoscaler: raise for it.*Nothing was changed/);
    expect(writes()).toHaveLength(0);
  });
});

describe('rollouts', () => {
  test('crash-looping pods: the step fails at the progress deadline with the pods, their reasons and the last events', async () => {
    await start({
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
      progressDeadlineMs: 200,
    });
    sim.crashLoop('api');
    const updates: { message: string; data?: any }[] = [];
    const err = await provider({ readyTimeoutSeconds: 60 })
      .scale({
        region: 'secondary',
        profile: 'production',
        progress: (message, data) => updates.push({ message, data }),
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ provider: 'kubernetes', retryable: true });
    const message = (err as Error).message;
    // The deadline failed it, not the 60 s wait.
    expect(message).toMatch(
      /rollout stuck: Deployment\/shop\/api 2\/6 ready, exceeded its progress deadline/,
    );
    expect(message).toMatch(
      /Deployment\/shop\/api 2\/6 ready.*pods not ready: api-\S+ CrashLoopBackOff/,
    );
    expect(message).toMatch(
      /and 2 more; last event: Warning BackOff api-\S+: Back-off restarting failed container/,
    );
    const detail = updates.at(-1)!.data.diagnosis['Deployment/shop/api'];
    expect(detail.podsNotReady).toHaveLength(4);
    expect(detail.podsNotReady[0]).toMatchObject({
      reason: expect.stringMatching(/^CrashLoopBackOff/),
      detail: expect.stringMatching(/back-off 40s restarting failed container=api/),
    });
    expect(
      detail.lastEvents.some((e: string) => /Normal ScalingReplicaSet api: Scaled up/.test(e)),
    ).toBe(true);
  });

  test('a change observed late is waited out: not done until observedGeneration and the updated replicas catch up', async () => {
    await start({
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 6 }],
      podReadyMs: 30,
    });
    const cluster = provider();
    expect(await cluster.isScaled('secondary', 'production')).toBe(true);
    // A deploy lands on the standby right before the failover; its controller is slow to see it.
    // Long enough for the checks below to run inside it even on a loaded machine.
    sim.observeLag(1500);
    sim.rollout('api');
    const lagging = sim.object('Deployment', 'shop', 'api') as any;
    expect(lagging.status).toMatchObject({ observedGeneration: 1, replicas: 6, readyReplicas: 6 });
    expect(await cluster.isScaled('secondary', 'production')).toBe(false);
    const messages: string[] = [];
    const result = await cluster.scale({
      region: 'secondary',
      profile: 'production',
      progress: (m) => messages.push(m),
    });
    expect(result.noop).toBe(false);
    const done = sim.object('Deployment', 'shop', 'api') as any;
    expect(done.status.observedGeneration).toBe(done.metadata.generation);
    expect(done.status).toMatchObject({ updatedReplicas: 6, replicas: 6, readyReplicas: 6 });
    expect(messages[0]).toBe('api spec update not yet observed');
  });
});

describe('a StatefulSet the controller updates only in part', () => {
  const worker: WorkloadConfig = {
    kind: 'StatefulSet',
    namespace: 'shop',
    name: 'worker',
    productionReplicas: 3,
    standbyReplicas: 1,
  };
  const status = () =>
    (sim.object('StatefulSet', 'shop', 'worker') as { status: Record<string, unknown> }).status;

  test.each([
    ['a partition', { type: 'RollingUpdate' as const, partition: 1 }],
    ['OnDelete', { type: 'OnDelete' as const }],
  ])(
    'with %s, scaling up finishes with the held-back pod at the old revision, as kubectl judges it',
    async (_, updateStrategy) => {
      await start({
        workloads: [
          { kind: 'StatefulSet', namespace: 'shop', name: 'worker', replicas: 1, updateStrategy },
        ],
        podReadyMs: 5,
      });
      // A new template the controller will not roll onto pod 0 (below the partition, or OnDelete).
      sim.rollout('worker');
      const up = await provider({ workloads: [worker] }).scale({
        region: 'secondary',
        profile: 'production',
        progress: () => {},
      });
      expect(up.evidence.after).toEqual({ 'StatefulSet/shop/worker': '3/3' });
      // Pods 1 and 2 were created at the new revision; pod 0 keeps the old one.
      expect(status()).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 2 });
      expect(status().currentRevision).not.toBe(status().updateRevision);
      expect(await provider({ workloads: [worker] }).isScaled('secondary', 'production')).toBe(
        true,
      );
    },
  );
});
