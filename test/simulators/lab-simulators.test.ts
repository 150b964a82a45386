import { readFile, rm } from 'node:fs/promises';
import pino from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { startSimulators, type Simulators } from '../../src/lab/simulators/index.js';
import { createRoute53Provider } from '../../src/providers/route53/index.js';
import { createKubernetesProvider } from '../../src/providers/kubernetes.js';
import { createVerificationProvider } from '../../src/providers/verification.js';
import { createTrafficManagerProvider } from '../../src/providers/traffic-manager/index.js';
import { startControlServer, type CloudState } from '../../src/lab/simulators/control.js';
import { runPreflight } from '../../src/engine/index.js';
import { getStep, type StepContext } from '../../src/steps/index.js';

const log = pino({ level: 'silent' });
let sims: Simulators;

beforeAll(async () => {
  // A short progress deadline: a crash loop turned on through the control API is stuck soon.
  sims = await startSimulators({ podReadyMs: 5, changeDelayMs: 20, progressDeadlineMs: 300 });
  Object.assign(process.env, sims.env);
});

afterAll(async () => {
  await sims.stop();
  await rm(sims.dir, { recursive: true, force: true });
});

test('the config block it returns is a valid dr-bot config', () => {
  const parsed = configSchema.safeParse({
    environment: 'lab',
    regions: { primary: { name: 'lab-a' }, secondary: { name: 'lab-b' } },
    slack: { incidentChannel: 'C0LAB' },
    approvals: { approvers: ['U0APPROVER'] },
    components: sims.components,
  });
  expect(parsed.error?.issues ?? []).toEqual([]);
});

test('the providers configured from it fail the traffic and compute over to the secondary', async () => {
  const c = sims.components;
  const r53 = c.dns!.route53!;
  const dns = createRoute53Provider({
    ...r53,
    pollMs: 20,
    rtoMinutes: 30,
    resolverServers: [sims.route53.dnsServer],
    log,
  });
  const cluster = createKubernetesProvider({ ...c.kubernetes!, pollMs: 10, log } as Parameters<
    typeof createKubernetesProvider
  >[0]);
  const verification = createVerificationProvider({
    ...(c.verification as Parameters<typeof createVerificationProvider>[0]),
    retryDelayMs: 10,
    log,
  });

  expect((await dns.readiness('secondary')).status).toBe('ready');
  expect((await cluster.readiness('secondary')).status).toBe('ready');
  expect(await readFile(sims.kubernetes.kubeconfigPath, 'utf8')).toContain('lab-secondary');

  await dns.switchTo({ target: 'secondary', progress: () => {} });
  await cluster.scale({ region: 'secondary', profile: 'production', progress: () => {} });
  const checks = [
    ...(await dns.verify('secondary')),
    ...(await verification.run({ region: 'secondary', progress: () => {} })),
  ];
  expect(checks.filter((x) => !x.ok)).toEqual([]);
  expect(sims.kubernetes.secondary.sim.workload('Deployment', 'shop', 'api')).toEqual({
    replicas: 4,
    readyReplicas: 4,
  });
  await dns.close();
});

test('losing the primary health endpoint makes Route 53 answer the secondary on its own', async () => {
  const sim = sims.route53.sim;
  sims.health.primary.setHealthy(true);
  // Undo any earlier switch (a no-op when there was none), so Route 53's own failover is what shows.
  const dns = createRoute53Provider({ ...sims.components.dns!.route53!, pollMs: 20, log });
  await dns.switchTo({ target: 'primary', progress: () => {} });
  await dns.close();
  expect(sim.answer()).toEqual([sim.primaryValue]);
  await sims.health.primary.stop();
  expect(sim.answer()).toEqual([sim.secondaryValue]);
  await sims.health.primary.start();
  expect(sim.answer()).toEqual([sim.primaryValue]);
});

test("the secondary's health endpoint marked down turns the preflight's DNS row red, and nothing is changed", async () => {
  const sim = sims.route53.sim;
  const control = await startControlServer(sims);
  const dns = createRoute53Provider({ ...sims.components.dns!.route53!, pollMs: 20, log });
  try {
    await dns.switchTo({ target: 'primary', progress: () => {} });
    const updatesBefore = sim.requestsFor('UpdateHealthCheck').length;
    await fetch(`${control.url}/health/secondary/down`, { method: 'POST' });
    const report = await runPreflight(
      { dns },
      { kind: 'failover', requestedMode: 'auto' },
      Date.now,
    );
    const row = report.components.find((c) => c.component === 'dns');
    expect(row?.status).toBe('blocked');
    expect(row?.summary).toMatch(
      /^secondary unhealthy: Route 53 would keep answering the primary \(health check hc-0000-secondary: 0 of 5 checkers report success/,
    );
    expect(sim.requestsFor('UpdateHealthCheck')).toHaveLength(updatesBefore);
    expect(sim.answer()).toEqual([sim.primaryValue]);

    await fetch(`${control.url}/health/secondary/up`, { method: 'POST' });
    const again = await runPreflight(
      { dns },
      { kind: 'failover', requestedMode: 'auto' },
      Date.now,
    );
    expect(again.components.find((c) => c.component === 'dns')?.status).toBe('ready');
  } finally {
    await dns.close();
    await control.close();
  }
});

test('Traffic Manager is reachable with the CA file and token it hands out', async () => {
  const tm = sims.trafficManager;
  const provider = createTrafficManagerProvider({
    subscriptionId: tm.subscriptionId,
    resourceGroup: tm.resourceGroup,
    profileName: tm.profileName,
    primaryEndpoint: tm.primaryEndpoint,
    secondaryEndpoint: tm.secondaryEndpoint,
    endpoint: tm.url,
    ca: await readFile(tm.caPath, 'utf8'),
    credential: {
      getToken: async () => ({ token: tm.token, expiresOnTimestamp: Date.now() + 3600_000 }),
    },
    log,
  });
  expect(await provider.currentTarget()).toBe('primary');
});

test('the control API repeats a stuck rollout on the lab: an autoscaled workload whose new pods crash fails the scale step with their reasons', async () => {
  const control = await startControlServer(sims);
  const cluster = createKubernetesProvider({
    ...sims.components.kubernetes!,
    pollMs: 10,
    log,
  } as Parameters<typeof createKubernetesProvider>[0]);
  const post = (path: string, body?: unknown) =>
    fetch(`${control.url}${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const hpa = () => sims.kubernetes.secondary.sim.hpa('shop', 'api') as { spec: object };
  try {
    // Back at standby size: an earlier test scaled the secondary up.
    await cluster.scale({ region: 'secondary', profile: 'standby', progress: () => {} });
    expect(
      (await post('/kubernetes/secondary/api/autoscaler', { minReplicas: 1, maxReplicas: 2 }))
        .status,
    ).toBe(201);
    expect((await post('/kubernetes/secondary/api/crash-loop/on')).status).toBe(200);
    const state = (await (await fetch(`${control.url}/state`)).json()) as CloudState;
    expect(state.kubernetes.secondary.find((w) => w.name === 'api')).toMatchObject({
      autoscaler: { minReplicas: 1, maxReplicas: 2 },
    });

    const ctx: StepContext = {
      opId: 'DR-LAB',
      kind: 'failover',
      mode: 'planned',
      providers: { cluster },
      log,
      targets: { rtoMinutes: 30, rpoMinutes: 5 },
    };
    const step = getStep('scale-secondary');
    const lines: string[] = [];
    await expect(step.run(ctx, (line) => lines.push(line))).rejects.toThrow(
      /rollout stuck: Deployment\/shop\/api .*CrashLoopBackOff/,
    );
    expect(lines.at(-1)).toMatch(/pods not ready: api-\S+ CrashLoopBackOff \(\d+ restarts\)/);
    expect(lines.at(-1)).toMatch(/last event: Warning BackOff/);
    // The autoscaler was raised to hold production size before the pods were asked for.
    expect(hpa().spec).toMatchObject({ minReplicas: 4, maxReplicas: 4 });

    // The pods are fixed: the step, retried, finishes.
    expect((await post('/kubernetes/secondary/api/crash-loop/off')).status).toBe(200);
    // (Done or already done: the pods may be ready before it reads them.)
    await step.run(ctx, () => {});
    expect((await step.check(ctx)).done).toBe(true);
    expect(sims.kubernetes.secondary.sim.workload('Deployment', 'shop', 'api')).toEqual({
      replicas: 4,
      readyReplicas: 4,
    });
    await cluster.scale({ region: 'secondary', profile: 'standby', progress: () => {} });
    expect(hpa().spec).toMatchObject({ minReplicas: 1, maxReplicas: 2 });
  } finally {
    await cluster.close();
    await control.close();
  }
});

test('the control API refuses a workload the lab does not have and an autoscaler it could not create', async () => {
  const control = await startControlServer(sims);
  const post = async (path: string, body?: unknown) => {
    const res = await fetch(`${control.url}${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };
  try {
    expect(await post('/kubernetes/secondary/nope/crash-loop/on')).toEqual({
      status: 404,
      body: { error: 'no workload "nope" on the lab; it has api, web, worker' },
    });
    expect(
      await post('/kubernetes/primary/web/autoscaler', { minReplicas: 3, maxReplicas: 2 }),
    ).toEqual({
      status: 400,
      body: { error: 'maxReplicas must be a whole number >= minReplicas' },
    });
    expect(
      await post('/kubernetes/primary/web/autoscaler', { minReplicas: 0, maxReplicas: 2 }),
    ).toEqual({
      status: 400,
      body: { error: 'minReplicas must be a whole number of at least 1' },
    });
    expect(sims.kubernetes.primary.sim.hpa('shop', 'web')).toBeUndefined();
    expect(
      (
        await post('/kubernetes/primary/web/autoscaler', {
          minReplicas: 3,
          maxReplicas: 5,
          load: 3,
        })
      ).status,
    ).toBe(201);
    expect(
      await post('/kubernetes/primary/web/autoscaler', { minReplicas: 3, maxReplicas: 5 }),
    ).toEqual({
      status: 409,
      body: { error: 'shop/web already has an autoscaler in the primary' },
    });
  } finally {
    await control.close();
  }
});
