/**
 * The simulator's autoscalers, rollouts and failing pods, read over HTTP as a client would:
 * an HPA overwrites a count set through /scale, a spec change is observed late, crash-looping
 * pods show their reason and events, and a stuck Deployment reports ProgressDeadlineExceeded.
 */
import { startKubernetesSimulator, type KubernetesSim } from '../../src/lab/simulators/index.js';

let sim: KubernetesSim;
const auth = { authorization: 'Bearer t' };
const base = '/apis/apps/v1/namespaces/shop/deployments/api';

async function get(path: string): Promise<any> {
  const res = await fetch(`${sim.url}${path}`, { headers: auth });
  expect(res.status).toBe(200);
  return res.json();
}
async function patch(path: string, body: unknown): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(body),
  });
}
/** Polls `read` until `ok` holds (the simulator's controllers run on timers). */
async function until<T>(read: () => Promise<T> | T, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(async () => {
  await sim.stop();
});

test('an HPA puts a count set through /scale back into [minReplicas, maxReplicas]; raising minReplicas holds it', async () => {
  sim = await startKubernetesSimulator({
    token: 't',
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
    hpas: [
      {
        namespace: 'shop',
        name: 'api',
        target: { kind: 'Deployment', name: 'api' },
        minReplicas: 2,
        maxReplicas: 4,
      },
    ],
    hpaSyncMs: 20,
  });
  expect((await patch(`${base}/scale`, { spec: { replicas: 6 } })).status).toBe(200);
  await until(
    () => sim.workload('Deployment', 'shop', 'api')!.replicas,
    (r) => r === 2,
  );
  const list = await get('/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers');
  expect(list.items[0].spec).toMatchObject({
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
    minReplicas: 2,
    maxReplicas: 4,
  });
  const invalid = await patch('/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/api', {
    spec: { minReplicas: 6 },
  });
  expect(invalid.status).toBe(422);
  expect(((await invalid.json()) as { message: string }).message).toMatch(
    /spec.maxReplicas: Invalid value: 4: must be greater than or equal to `minReplicas`/,
  );
  const raised = await patch('/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/api', {
    metadata: { annotations: { note: 'x' } },
    spec: { minReplicas: 6, maxReplicas: 6 },
  });
  expect(raised.status).toBe(200);
  await until(
    () => sim.workload('Deployment', 'shop', 'api')!.replicas,
    (r) => r === 6,
  );
  expect(sim.hpa('shop', 'api')).toMatchObject({ metadata: { annotations: { note: 'x' } } });
  const events = await get('/api/v1/namespaces/shop/events');
  expect(events.items.map((e: any) => e.reason)).toContain('SuccessfulRescale');
});

test('a spec change is observed late: until then observedGeneration trails generation and status is the old one', async () => {
  sim = await startKubernetesSimulator({
    token: 't',
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
  });
  sim.observeLag(1000);
  await patch(`${base}/scale`, { spec: { replicas: 4 } });
  const lagging = await get(base);
  expect(lagging.metadata.generation).toBe(2);
  expect(lagging.status).toMatchObject({ observedGeneration: 1, replicas: 2, readyReplicas: 2 });
  const caughtUp = await until(
    () => get(base),
    (d) => d.status.observedGeneration === 2,
  );
  expect(caughtUp.status).toMatchObject({ replicas: 4, readyReplicas: 4, updatedReplicas: 4 });
});

test('crash-looping new pods: CrashLoopBackOff with restarts, BackOff events, then ProgressDeadlineExceeded', async () => {
  sim = await startKubernetesSimulator({
    token: 't',
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 2 }],
    progressDeadlineMs: 100,
  });
  sim.crashLoop('api');
  await patch(`${base}/scale`, { spec: { replicas: 3 } });
  const pods = await get('/api/v1/namespaces/shop/pods?labelSelector=app%3Dapi');
  expect(pods.items).toHaveLength(3);
  const failing = pods.items.filter((p: any) => !p.status.containerStatuses[0].ready);
  expect(failing).toHaveLength(1);
  expect(failing[0].status.containerStatuses[0]).toMatchObject({
    state: { waiting: { reason: 'CrashLoopBackOff' } },
    lastState: { terminated: { reason: 'Error', exitCode: 1 } },
  });
  const events = await get('/api/v1/namespaces/shop/events');
  expect(events.items).toContainEqual(
    expect.objectContaining({
      type: 'Warning',
      reason: 'BackOff',
      involvedObject: expect.objectContaining({ kind: 'Pod', name: failing[0].metadata.name }),
    }),
  );
  const stuck = await until(
    () => get(base),
    (d) => d.status.conditions[0].status === 'False',
  );
  expect(stuck.status.conditions[0]).toMatchObject({
    type: 'Progressing',
    reason: 'ProgressDeadlineExceeded',
  });
  expect(stuck.status.readyReplicas).toBe(2);
  const other = await fetch(
    `${sim.url}/api/v1/namespaces/shop/pods?labelSelector=app%20in%20(api)`,
    {
      headers: auth,
    },
  );
  expect(other.status).toBe(400);
});

test('a rollout replaces the pods one by one: updatedReplicas climbs to spec.replicas', async () => {
  sim = await startKubernetesSimulator({
    token: 't',
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 3 }],
    podReadyMs: 20,
  });
  sim.rollout('api');
  // Read at once (a request could arrive after the 60 ms the rollout takes).
  const first = sim.object('Deployment', 'shop', 'api') as any;
  expect(first.metadata.generation).toBe(2);
  expect(first.status.updatedReplicas).toBeLessThan(3);
  const done = await until(
    () => get(base),
    (d) => d.status.updatedReplicas === 3,
  );
  expect(done.status).toMatchObject({ replicas: 3, readyReplicas: 3, observedGeneration: 2 });
  expect(done.status.conditions[0].reason).toBe('NewReplicaSetAvailable');
});
