import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  createKubernetesProvider,
  type KubernetesProviderOptions,
  type WorkloadConfig,
} from '../../src/providers/kubernetes.js';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/index.js';
import type { ClusterProvider } from '../../src/providers/types.js';
import { writeFile } from 'node:fs/promises';

const log = pino({ level: 'silent' });
const workloads: WorkloadConfig[] = [
  { kind: 'Deployment', namespace: 'shop', name: 'api', productionReplicas: 6, standbyReplicas: 2 },
  {
    kind: 'StatefulSet',
    namespace: 'shop',
    name: 'worker',
    productionReplicas: 3,
    standbyReplicas: 1,
  },
];
let dir: string;
let primary: KubernetesSim;
let secondary: KubernetesSim;
let kubeconfig: string;
const providers: ClusterProvider[] = [];

async function start(podReadyMs: number): Promise<void> {
  const atStandby = workloads.map((w) => ({
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
    replicas: w.standbyReplicas,
  }));
  const atProduction = workloads.map((w) => ({
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
    replicas: w.productionReplicas,
  }));
  primary = await startKubernetesSimulator({
    workloads: atProduction,
    token: 'tok-primary',
    contextName: 'eu-west',
  });
  secondary = await startKubernetesSimulator({
    workloads: atStandby,
    podReadyMs,
    token: 'tok-secondary',
    contextName: 'eu-central',
  });
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigFor([
      { name: 'eu-west', url: primary.url, token: primary.token },
      { name: 'eu-central', url: secondary.url, token: secondary.token },
    ]),
  );
}

function provider(over: Partial<KubernetesProviderOptions> = {}): ClusterProvider {
  const p = createKubernetesProvider({
    primary: { kubeconfig, context: 'eu-west' },
    secondary: { kubeconfig, context: 'eu-central' },
    workloads,
    readyTimeoutSeconds: 5,
    pollMs: 10,
    log,
    ...over,
  });
  providers.push(p);
  return p;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dr-k8s-'));
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await Promise.all([primary?.stop(), secondary?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

test('scale-up patches the scale subresource, waits for ready replicas with progress, and scale-down returns to standby', async () => {
  await start(15);
  const cluster = provider();
  const ready = await cluster.readiness('secondary');
  expect(ready.status).toBe('ready');
  expect(ready.summary).toContain('api 2/2→6');
  expect(await cluster.isScaled('secondary', 'production')).toBe(false);

  const messages: string[] = [];
  const result = await cluster.scale({
    region: 'secondary',
    profile: 'production',
    progress: (m) => messages.push(m),
  });
  expect(result.noop).toBe(false);
  expect(result.summary).toMatch(/api 2→6, worker 1→3/);
  expect(secondary.workload('Deployment', 'shop', 'api')).toEqual({
    replicas: 6,
    readyReplicas: 6,
  });
  expect(secondary.workload('StatefulSet', 'shop', 'worker')).toEqual({
    replicas: 3,
    readyReplicas: 3,
  });
  // Progress shows the pods coming up, not just the end state.
  expect(messages.some((m) => /api [3-5]\/6 ready/.test(m))).toBe(true);
  // One merge patch per workload on its scale subresource, as `kubectl scale` does; no read-modify-write.
  const writes = secondary.requests.filter((r) => r.method !== 'GET');
  expect(
    writes.map((r) => [r.method, r.path, r.headers['content-type'], JSON.parse(r.body) as unknown]),
  ).toEqual([
    [
      'PATCH',
      '/apis/apps/v1/namespaces/shop/deployments/api/scale',
      'application/merge-patch+json',
      { spec: { replicas: 6 } },
    ],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/shop/statefulsets/worker/scale',
      'application/merge-patch+json',
      { spec: { replicas: 3 } },
    ],
  ]);
  expect(
    secondary.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/scale')),
  ).toHaveLength(0);
  expect(await cluster.isScaled('secondary', 'production')).toBe(true);
  // The primary was never touched.
  expect(primary.requests).toHaveLength(0);

  const again = await cluster.scale({
    region: 'secondary',
    profile: 'production',
    progress: () => {},
  });
  expect(again.noop).toBe(true);
  expect(again.summary).toMatch(/already at production counts/);

  const down = await cluster.scale({ region: 'secondary', profile: 'standby', progress: () => {} });
  expect(down.noop).toBe(false);
  expect(secondary.workload('Deployment', 'shop', 'api')).toEqual({
    replicas: 2,
    readyReplicas: 2,
  });
  expect(await cluster.isScaled('secondary', 'standby')).toBe(true);
});

test('a head start: counts set only from standby size, recorded before the first write, pods not waited for', async () => {
  await start(400);
  const cluster = provider();
  const order: string[] = [];
  const headStart = (beforeChange: () => Promise<void>) =>
    cluster.scale({
      region: 'secondary',
      profile: 'production',
      progress: () => {},
      wait: false,
      onlyFrom: 'standby',
      beforeChange,
    });
  const head = await headStart(async () => {
    order.push(
      `recorded after ${secondary.requests.filter((r) => r.method !== 'GET').length} writes`,
    );
  });
  expect(order).toEqual(['recorded after 0 writes']);
  expect(head.noop).toBe(false);
  expect(head.summary).toBe('set the secondary to production: api 2→6, worker 1→3');
  // Returned before the pods (400 ms each) were ready.
  expect(secondary.workload('Deployment', 'shop', 'api')).toMatchObject({ replicas: 6 });
  expect(secondary.workload('Deployment', 'shop', 'api')!.readyReplicas).toBeLessThan(6);

  // No longer at standby size: a second head start changes nothing and records nothing.
  const writes = secondary.requests.filter((r) => r.method !== 'GET').length;
  const second = await headStart(async () => {
    order.push('recorded again');
  });
  expect(second).toMatchObject({ noop: true });
  expect(second.summary).toMatch(/^left as it is: the secondary is not at standby size/);
  expect(order).toHaveLength(1);
  expect(secondary.requests.filter((r) => r.method !== 'GET')).toHaveLength(writes);
});

test('pods that never become ready time out with a retryable timeout naming the workload', async () => {
  await start(0);
  secondary.stall('api');
  const cluster = provider({ readyTimeoutSeconds: 0.3 });
  const err = await cluster
    .scale({ region: 'secondary', profile: 'production', progress: () => {} })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'timeout', retryable: true, provider: 'kubernetes' });
  expect((err as Error).message).toMatch(/Deployment\/shop\/api 2\/6 ready/);
});

test('a missing workload is refused before any change and blocks readiness', async () => {
  await start(0);
  const cluster = provider({
    workloads: [
      ...workloads,
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'checkout',
        productionReplicas: 4,
        standbyReplicas: 1,
      },
    ],
  });
  const ready = await cluster.readiness('secondary');
  expect(ready.status).toBe('blocked');
  expect(ready.summary).toContain('deployments.apps "checkout" not found');
  await expect(
    cluster.scale({ region: 'secondary', profile: 'production', progress: () => {} }),
  ).rejects.toMatchObject({ code: 'not-found' });
  expect(secondary.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
});

test('403 from the API server is a forbidden error that says which permission is missing', async () => {
  await start(0);
  secondary.failNext(
    403,
    'Forbidden',
    'deployments.apps "api" is forbidden: User "system:serviceaccount:dr:dr-bot" cannot patch resource "deployments/scale" in API group "apps" in the namespace "shop"',
    { method: 'PATCH' },
  );
  const err = await provider()
    .scale({ region: 'secondary', profile: 'production', progress: () => {} })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'forbidden', retryable: false });
  expect((err as Error).message).toMatch(
    /cannot patch resource "deployments\/scale".*patch on their scale subresource/,
  );
});

test('API server throttling (429) is retried and the scale goes through', async () => {
  await start(0);
  secondary.throttleNext(2);
  const result = await provider().scale({
    region: 'secondary',
    profile: 'production',
    progress: () => {},
  });
  expect(result.noop).toBe(false);
  expect(secondary.workload('Deployment', 'shop', 'api')).toEqual({
    replicas: 6,
    readyReplicas: 6,
  });
});

test('reachable reports the API server version, or why it cannot be reached', async () => {
  await start(0);
  const cluster = provider();
  const up = await cluster.reachable('primary');
  expect(up).toMatchObject({ ok: true, kind: 'cluster' });
  expect(up.detail).toContain('v1.30.0-sim');
  await primary.stop();
  const down = await cluster.reachable('primary');
  expect(down.ok).toBe(false);
  expect(down.detail).toMatch(/cannot reach the API server/);
  const missingContext = provider({ primary: { kubeconfig, context: 'nope' } });
  expect((await missingContext.reachable('primary')).detail).toMatch(
    /context "nope" is not in kubeconfig/,
  );
});

describe('waiting for ready pods', () => {
  test('reacts to the watch: scaled although the fallback poll is 10 minutes, watching from what it read', async () => {
    await start(15);
    const cluster = provider({ pollMs: 600_000 });
    const result = await cluster.scale({
      region: 'secondary',
      profile: 'production',
      progress: () => {},
    });
    expect(result.summary).toMatch(/all ready after \d+ ms/);
    expect(secondary.workload('Deployment', 'shop', 'api')).toEqual({
      replicas: 6,
      readyReplicas: 6,
    });
    const watches = secondary.requests.filter((r) => r.query.watch === 'true');
    expect(watches.map((r) => [r.path, r.query.fieldSelector])).toEqual([
      ['/apis/apps/v1/namespaces/shop/deployments', 'metadata.name=api'],
      ['/apis/apps/v1/namespaces/shop/statefulsets', 'metadata.name=worker'],
    ]);
    // List, then watch: from the resourceVersion of the read right before it.
    const reads = secondary.requests.filter(
      (r) => r.method === 'GET' && r.path.endsWith('/deployments/api') && !r.query.watch,
    );
    expect(Number(watches[0]!.query.resourceVersion)).toBeGreaterThan(0);
    expect(reads.length).toBeGreaterThanOrEqual(2);
  });

  test('a refused watch (no watch permission) falls back to polling and still finishes', async () => {
    await start(15);
    secondary.failNext(403, 'Forbidden', 'deployments.apps is forbidden: cannot watch', {
      watch: true,
      times: 10,
    });
    const cluster = provider({ pollMs: 20 });
    const result = await cluster.scale({
      region: 'secondary',
      profile: 'production',
      progress: () => {},
    });
    expect(result.noop).toBe(false);
    expect(secondary.workload('StatefulSet', 'shop', 'worker')).toEqual({
      replicas: 3,
      readyReplicas: 3,
    });
    expect(secondary.requests.some((r) => r.query.watch === 'true')).toBe(true);
  });
});
