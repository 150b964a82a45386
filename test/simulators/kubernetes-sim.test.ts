import {
  startHealthServer,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/index.js';

let sim: KubernetesSim;
beforeEach(async () => {
  sim = await startKubernetesSimulator({
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 1 }],
    token: 't',
  });
});
afterEach(async () => {
  await sim.stop();
});

const auth = { authorization: 'Bearer t' };
const scaleUrl = () => `${sim.url}/apis/apps/v1/namespaces/shop/deployments/api/scale`;

test('the scale subresource accepts merge patch and JSON patch, and answers an autoscaling/v1 Scale', async () => {
  const merge = await fetch(scaleUrl(), {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ spec: { replicas: 3 } }),
  });
  expect(merge.status).toBe(200);
  expect(await merge.json()).toMatchObject({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    spec: { replicas: 3 },
    status: { selector: 'app=api' },
  });
  const jsonPatch = await fetch(scaleUrl(), {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json-patch+json' },
    body: JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 5 }]),
  });
  expect(jsonPatch.status).toBe(200);
  expect(sim.workload('Deployment', 'shop', 'api')).toEqual({ replicas: 5, readyReplicas: 5 });
});

test('a PUT with a stale resourceVersion is a 409 Conflict', async () => {
  const scale = (await (await fetch(scaleUrl(), { headers: auth })).json()) as {
    metadata: { resourceVersion: string };
  };
  await fetch(scaleUrl(), {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/merge-patch+json' },
    body: '{"spec":{"replicas":2}}',
  });
  const res = await fetch(scaleUrl(), {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ ...scale, spec: { replicas: 4 } }),
  });
  expect(res.status).toBe(409);
  expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'Conflict' });
});

test('requests without the token are 401, unknown workloads a NotFound Status', async () => {
  expect((await fetch(`${sim.url}/version`)).status).toBe(401);
  const res = await fetch(`${sim.url}/apis/apps/v1/namespaces/shop/statefulsets/db`, {
    headers: auth,
  });
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({
    kind: 'Status',
    reason: 'NotFound',
    message: 'statefulsets.apps "db" not found',
  });
});

test('a health endpoint can turn unhealthy, go away and come back on the same port', async () => {
  const health = await startHealthServer({ region: 'primary' });
  try {
    expect((await fetch(health.url)).status).toBe(200);
    health.setHealthy(false);
    expect((await fetch(health.url)).status).toBe(503);
    await health.stop();
    await expect(fetch(health.url)).rejects.toThrow();
    health.setHealthy(true);
    await health.start();
    expect((await fetch(health.url)).status).toBe(200);
  } finally {
    await health.stop();
  }
});

test('a PATCH without a patch media type is refused with 415, as the API server does', async () => {
  const res = await fetch(scaleUrl(), {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json' },
    body: '{"spec":{"replicas":2}}',
  });
  expect(res.status).toBe(415);
  expect(((await res.json()) as { reason: string }).reason).toBe('UnsupportedMediaType');
});

describe('RBAC: the Roles of deploy/permissions/kubernetes-rbac.yaml bound to the token', () => {
  let bot: KubernetesSim;
  beforeEach(async () => {
    bot = await startKubernetesSimulator({
      workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api', replicas: 1 }],
      token: 'bot',
      rbac: 'dr-bot',
    });
  });
  afterEach(async () => {
    await bot.stop();
  });

  const review = async (attrs: Record<string, string>) => {
    const res = await fetch(`${bot.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: 'POST',
      headers: { authorization: 'Bearer bot', 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: attrs },
      }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { status: { allowed: boolean } }).status.allowed;
  };
  const scale = { namespace: 'shop', verb: 'patch', group: 'apps', resource: 'deployments' };

  test('answers SelfSubjectAccessReview from the Role, and a revoked rule is denied', async () => {
    expect(await review({ ...scale, subresource: 'scale' })).toBe(true);
    expect(await review({ ...scale, verb: 'delete' })).toBe(false);
    expect(
      await review({
        ...scale,
        verb: 'list',
        group: 'velero.io',
        resource: 'backups',
        namespace: 'velero',
      }),
    ).toBe(true);
    // The velero Role stands in its own namespace only.
    expect(await review({ ...scale, verb: 'list', group: 'velero.io', resource: 'backups' })).toBe(
      false,
    );
    bot.revoke('patch', 'deployments/scale');
    expect(await review({ ...scale, subresource: 'scale' })).toBe(false);
    expect(await review({ ...scale, verb: 'get', subresource: 'scale' })).toBe(true);
    bot.restoreRbac();
    expect(await review({ ...scale, subresource: 'scale' })).toBe(true);
  });

  test('a request the Role does not allow is a 403 Forbidden naming the verb and resource', async () => {
    bot.revoke('patch', 'deployments/scale');
    const res = await fetch(`${bot.url}/apis/apps/v1/namespaces/shop/deployments/api/scale`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer bot', 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 3 } }),
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { reason: string; message: string };
    expect(body.reason).toBe('Forbidden');
    expect(body.message).toBe(
      'deployments.apps "api" is forbidden: User "system:serviceaccount:dr-bot:dr-bot" cannot patch resource "deployments/scale" in API group "apps" in the namespace "shop"',
    );
    expect(bot.workload('Deployment', 'shop', 'api')!.replicas).toBe(1);
  });
});
