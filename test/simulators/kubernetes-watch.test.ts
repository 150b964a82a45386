/**
 * The simulator's list and watch of apps/v1 workloads, read through the real client's Watch, as
 * the API server serves them (Kubernetes API Concepts, "Efficient detection of changes").
 */
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { startKubernetesSimulator, type KubernetesSim } from '../../src/lab/simulators/index.js';

let sim: KubernetesSim;
let kc: KubeConfig;
const controllers: AbortController[] = [];
const auth = { authorization: 'Bearer t' };
const PATH = '/apis/apps/v1/namespaces/shop/deployments';

beforeEach(async () => {
  sim = await startKubernetesSimulator({
    workloads: [
      { kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 1 },
      { kind: 'Deployment', namespace: 'shop', name: 'web', replicas: 1 },
    ],
    podReadyMs: 20,
    token: 't',
  });
  kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig());
});
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort();
  await sim.stop();
});

type Event = {
  type: string;
  name?: string;
  spec?: number;
  ready?: number;
  rv?: string;
  code?: number;
};

/** Watch until `until` holds for the events seen, or the stream ends. */
async function watch(query: Record<string, string>, until: (e: Event[]) => boolean) {
  const events: Event[] = [];
  let ended: unknown = 'open';
  await new Promise<void>((resolve) => {
    void new Watch(kc)
      .watch(
        PATH,
        query,
        (type, obj: Record<string, any>) => {
          events.push({
            type,
            name: obj.metadata?.name,
            spec: obj.spec?.replicas,
            ready: obj.status?.readyReplicas,
            rv: obj.metadata?.resourceVersion,
            code: obj.code,
          });
          if (until(events)) resolve();
        },
        (err) => {
          ended = err;
          resolve();
        },
      )
      .then((c) => controllers.push(c));
  });
  return { events, ended };
}

async function list(): Promise<{ metadata: { resourceVersion: string }; items: any[] }> {
  const res = await fetch(`${sim.url}${PATH}?fieldSelector=metadata.name%3Dapi`, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

test('list, then watch from its resourceVersion: a MODIFIED event as the spec and the pods change', async () => {
  const listed = await list();
  expect(listed.items.map((i) => i.metadata.name)).toEqual(['api']);
  await fetch(`${PATH.replace(/^/, sim.url)}/api/scale`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/merge-patch+json' },
    body: '{"spec":{"replicas":4}}',
  });
  const { events } = await watch(
    { fieldSelector: 'metadata.name=api', resourceVersion: listed.metadata.resourceVersion },
    (e) => e.some((x) => x.ready === 4),
  );
  expect(events.every((e) => e.type === 'MODIFIED' && e.name === 'api')).toBe(true);
  // The change made before the watch started is not missed; then the pods are seen coming up.
  expect(events[0]!.spec).toBe(4);
  const ready = events.map((e) => e.ready!);
  expect([...ready].sort()).toEqual(ready);
  expect(ready.at(-1)).toBe(4);
  const rvs = events.map((e) => Number(e.rv));
  expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
  expect(new Set(rvs).size).toBe(rvs.length);
});

test('without a resourceVersion the watch starts with ADDED for what exists; the selector filters', async () => {
  const all = await watch({}, (e) => e.length === 2);
  expect(all.events.map((e) => [e.type, e.name])).toEqual([
    ['ADDED', 'api'],
    ['ADDED', 'web'],
  ]);
  const one = await watch({ fieldSelector: 'metadata.name=web' }, (e) => e.length === 1);
  expect(one.events.map((e) => [e.type, e.name])).toEqual([['ADDED', 'web']]);
});

test('a resourceVersion older than the history is an ERROR event with 410; timeoutSeconds ends the stream', async () => {
  const old = await watch({ resourceVersion: '5' }, (e) => e.length === 1);
  expect(old.events).toEqual([expect.objectContaining({ type: 'ERROR', code: 410 })]);
  const listed = await list();
  const timed = await watch(
    { resourceVersion: listed.metadata.resourceVersion, timeoutSeconds: '1' },
    () => false,
  );
  expect(timed.events).toEqual([]);
  expect(timed.ended).toBeNull();
});

test('a field the API server cannot select on is refused with 400', async () => {
  const res = await fetch(`${sim.url}${PATH}?watch=true&fieldSelector=spec.replicas%3D3`, {
    headers: auth,
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { message: string }).message).toBe(
    'field label not supported: spec.replicas',
  );
});
