/**
 * Each readiness check against the lab's simulators through the real SDKs, built from a config the
 * way the bot builds them: DNS routing and TTL (Route 53), the standby's workloads (Kubernetes),
 * object storage replication (S3), the newest Velero backup, and the drill age from Redis.
 */
import { Redis } from 'ioredis';
import { configSchema, type DrConfig, type DrConfigInput } from '../../src/config/schema.js';
import {
  startS3Simulator,
  startSimulators,
  type S3Sim,
  type Simulators,
} from '../../src/lab/simulators/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { DatabaseProvider, Providers } from '../../src/providers/types.js';
import {
  createReadinessChecks,
  drillCheck,
  postgresCheck,
  recordDrillAt,
  type ReadinessCheck,
  type ReadinessChecks,
  type ReadinessCheckId,
} from '../../src/readiness/index.js';
import { silentLog } from '../support/lab.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

const DAY = 86_400_000;
let sims: Simulators;
let s3: S3Sim;
let redis: Redis;
let providers: Providers;
let built: ReadinessChecks;
let config: DrConfig;
const prefix = uniquePrefix('readiness-checks');
const drills = (): { redis: Redis; prefix: string } => ({ redis, prefix });

function check(id: ReadinessCheckId): ReadinessCheck {
  const c = built.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} check built; have ${built.checks.map((x) => x.id).join(', ')}`);
  return c;
}

beforeAll(async () => {
  sims = await startSimulators({ podReadyMs: 0, changeDelayMs: 0, ttl: 60 });
  // The AWS SDKs read their (dummy) credentials from the process environment.
  Object.assign(process.env, sims.env);
  s3 = await startS3Simulator({
    buckets: ['shop-eu', 'shop-us'],
    replication: [{ from: 'shop-eu', to: 'shop-us', delayMs: 100 }],
  });
  redis = new Redis(REDIS_URL);
  const components = sims.components as NonNullable<DrConfigInput['components']>;
  const input: DrConfigInput = {
    environment: 'checks',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'us-east-1' } },
    slack: { incidentChannel: 'C0READY' },
    approvals: { approvers: ['U0APPROVER'] },
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    components: {
      dns: components.dns,
      kubernetes: { ...components.kubernetes!, velero: { namespace: 'velero', maxAgeHours: 24 } },
      objectStorage: {
        provider: 's3',
        primary: { bucket: 'shop-eu', region: 'eu-west-1', endpoint: s3.url },
        secondary: { bucket: 'shop-us', region: 'us-east-1', endpoint: s3.url },
        forcePathStyle: true,
        rpoSeconds: 2,
      },
    },
  };
  config = configSchema.parse(input);
  const env = { ...process.env, ...sims.env };
  providers = createProviders(config, env, silentLog);
  built = createReadinessChecks({ config, providers, env, drills: drills() });
});

afterAll(async () => {
  await built.close();
  await closeProviders(providers, silentLog);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await s3.stop();
  await sims.stop();
});

test('the bot builds one check per configured component, plus the drill age and the state store', () => {
  expect(built.checks.map((c) => c.id)).toEqual([
    'dns',
    'standby-workloads',
    'standby-cost',
    'object-storage',
    'velero',
    'drill',
    'state-store',
  ]);
});

test('DNS: users on the primary with a short TTL is ok; sent to the secondary is degraded', async () => {
  const ok = await check('dns').run();
  expect(ok).toMatchObject({
    status: 'ok',
    measured: 'primary, TTL 60 s',
    target: 'primary, TTL + detection < 30 min',
  });
  // The primary's health endpoint fails: Route 53's health check answers the secondary by itself.
  sims.health.primary.setHealthy(false);
  try {
    const moved = await check('dns').run();
    expect(moved.status).toBe('degraded');
    expect(moved.detail).toMatch(/^users are sent to the secondary, not the primary/);
  } finally {
    sims.health.primary.setHealthy(true);
  }
});

test('DNS: while switched to the secondary it stays degraded whatever the primary endpoint does; ok again after failback', async () => {
  await providers.dns!.switchTo({ target: 'secondary', progress: () => {} });
  try {
    const failedOver = await check('dns').run();
    expect(failedOver).toMatchObject({
      status: 'degraded',
      measured: 'secondary (held on secondary), TTL 60 s',
    });
    expect(failedOver.detail).toMatch(/^DNS is switched to the secondary \(failed over\)/);
    // The old primary's endpoint dies and comes back: still failed over, never "recovered".
    for (const healthy of [false, true]) {
      sims.health.primary.setHealthy(healthy);
      const r = await check('dns').run();
      expect(r.status).toBe('degraded');
      expect(r.evidence).toMatchObject({ servedBy: 'secondary', heldOn: 'secondary' });
    }
  } finally {
    sims.health.primary.setHealthy(true);
    await providers.dns!.switchTo({ target: 'primary', progress: () => {} });
  }
  expect(await check('dns').run()).toMatchObject({ status: 'ok', measured: 'primary, TTL 60 s' });
});

test('DNS: a half-switched health check (inverted, not disabled) is degraded even while it answers the primary', async () => {
  const r53 = sims.route53.sim;
  r53.setHealthCheckFlags(sims.route53.primaryHealthCheckId, { inverted: true });
  // Inverted alone: the primary's endpoint failing makes the check pass.
  sims.health.primary.setHealthy(false);
  try {
    const r = await check('dns').run();
    expect(r.status).toBe('degraded');
    expect(r.measured).toBe('primary (held on partial), TTL 60 s');
    expect(r.detail).toMatch(/half switched \(partial\).*inverted but still evaluated/);
  } finally {
    sims.health.primary.setHealthy(true);
    r53.setHealthCheckFlags(sims.route53.primaryHealthCheckId, { inverted: false });
  }
});

test("DNS: the TTL plus the health check's detection not under the RTO is degraded, even with the TTL alone under it", async () => {
  const slow = await startSimulators({ podReadyMs: 0, changeDelayMs: 0, ttl: 3600 });
  const env = { ...process.env, ...slow.env };
  const cfg = configSchema.parse({ ...config, components: { dns: slow.components.dns } });
  const p = createProviders(cfg, env, silentLog);
  try {
    const dns = createReadinessChecks({
      config: cfg,
      providers: p,
      env,
      drills: drills(),
    }).checks.find((c) => c.id === 'dns')!;
    const r = await dns.run();
    expect(r.status).toBe('degraded');
    expect(r.measured).toBe('primary, TTL 3600 s');
    expect(r.detail).toMatch(
      /^TTL 3600 s \+ health check 3 × 30 s = 3690 s is not under the RTO of 30 min/,
    );
    // 1750 s is under 30 min; with the 90 s the health check takes to see the primary fail it is not.
    slow.route53.sim.setTtl(1750);
    const near = await dns.run();
    expect(near).toMatchObject({
      status: 'degraded',
      measured: 'primary, TTL 1750 s',
      evidence: { ttl: 1750, failoverSeconds: 1840 },
    });
    expect(near.detail).toMatch(
      /^TTL 1750 s \+ health check 3 × 30 s = 1840 s is not under the RTO of 30 min: users would keep being sent to a failed region past the RTO/,
    );
    slow.route53.sim.setTtl(1700);
    expect(await dns.run()).toMatchObject({ status: 'ok', measured: 'primary, TTL 1700 s' });
  } finally {
    await closeProviders(p, silentLog);
    await slow.stop();
  }
});

test('standby workloads: at their standby counts is ok; one scaled below is degraded', async () => {
  const ok = await check('standby-workloads').run();
  expect(ok).toMatchObject({ status: 'ok', measured: 'api 1/1, web 1/1, worker 1/1' });
  const k8s = sims.kubernetes.secondary.sim;
  const scale = (replicas: number) =>
    fetch(`${k8s.url}/apis/apps/v1/namespaces/shop/deployments/web/scale`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${k8s.token}`,
        'content-type': 'application/merge-patch+json',
      },
      body: JSON.stringify({ spec: { replicas } }),
    });
  expect((await scale(0)).status).toBe(200);
  try {
    const r = await check('standby-workloads').run();
    expect(r.status).toBe('degraded');
    expect(r.detail).toMatch(
      /below their standby counts in the secondary: Deployment\/shop\/web 0 ready of 1 \(spec 0\)/,
    );
  } finally {
    await scale(1);
  }
});

test('object storage: the canary replicated is ok; stalled replication is degraded after the RPO', async () => {
  const ok = await check('object-storage').run();
  expect(ok.status).toBe('ok');
  expect(ok.target).toBe('≤ 2 s');
  expect(s3.object('shop-us', 'dr-bot-canary/checks')).toBeDefined();
  s3.stallReplication(true);
  try {
    const r = await check('object-storage').run();
    expect(r).toMatchObject({ status: 'degraded', measured: 'not replicated after 2 s' });
  } finally {
    s3.stallReplication(false);
  }
});

test('Velero: a backup of the primary from this morning, synced to the secondary, is ok; old or none is degraded', async () => {
  const both = (backups: Parameters<typeof sims.kubernetes.primary.sim.setVeleroBackups>[0]) => {
    sims.kubernetes.primary.sim.setVeleroBackups(backups);
    sims.kubernetes.secondary.sim.setVeleroBackups(backups);
  };
  both([
    { name: 'nightly-1', phase: 'Completed', completedAt: new Date(Date.now() - 6 * 3_600_000) },
  ]);
  expect(await check('velero').run()).toMatchObject({
    status: 'ok',
    target: '< 24 h, secondary location Available and synced',
  });
  both([
    { name: 'nightly-0', phase: 'Completed', completedAt: new Date(Date.now() - 50 * 3_600_000) },
  ]);
  expect(await check('velero').run()).toMatchObject({
    status: 'degraded',
    measured: '50 h old; secondary location Available',
  });
  both([]);
  expect(await check('velero').run()).toMatchObject({
    status: 'degraded',
    measured: 'none completed; secondary location Available',
  });
});

test('standby footprint: both regions shown; a standby left at production size is flagged with its extra replicas', async () => {
  const ok = await check('standby-cost').run();
  expect(ok.status).toBe('ok');
  expect(ok.measured).toBe(
    'primary 9 replicas (api 4, web 3, worker 2; production 9, standby 3); secondary 3 replicas (api 1, web 1, worker 1; production 9, standby 3)',
  );
  // A drill scaled the standby up and nobody scaled it back.
  await providers.cluster!.scale({
    region: 'secondary',
    profile: 'production',
    progress: () => {},
  });
  try {
    const left = await check('standby-cost').run();
    expect(left.status).toBe('degraded');
    expect(left.detail).toMatch(
      /^the standby is above its standby counts by 6 replica\(s\): api 4 \(standby 1, \+3\), web 3 \(standby 1, \+2\), worker 2 \(standby 1, \+1\)/,
    );
    expect(left.evidence).toMatchObject({ extraReplicas: 6 });
  } finally {
    await providers.cluster!.scale({ region: 'secondary', profile: 'standby', progress: () => {} });
  }
  expect((await check('standby-cost').run()).status).toBe('ok');
}, 60_000);

test('drill age: none recorded, too old, and recent', async () => {
  const drill = check('drill');
  expect(await drill.run()).toMatchObject({
    status: 'degraded',
    measured: 'no drill recorded',
    target: '≤ 90 days',
  });
  await recordDrillAt(drills(), 'checks', Date.now() - 120 * DAY);
  const old = await drill.run();
  expect(old).toMatchObject({ status: 'degraded', measured: '120 days' });
  expect(old.detail).toMatch(/the last drill was 120 days ago .*more than 90/);
  await recordDrillAt(drills(), 'checks', Date.now() - 3 * DAY);
  expect(await drill.run()).toMatchObject({ status: 'ok', measured: '3 days' });
  // An older drill recorded late does not hide the newer one.
  await recordDrillAt(drills(), 'checks', Date.now() - 200 * DAY);
  expect(await drillCheck(drills(), 'checks', 90).run()).toMatchObject({
    status: 'ok',
    measured: '3 days',
  });
});

test('PostgreSQL: lag over the RPO is degraded, a standby that writes is degraded', async () => {
  // An in-memory DatabaseProvider answering readiness the way the postgres provider does.
  let details: Record<string, number | string | boolean | null> = {
    targetInRecovery: true,
    lagSeconds: 420,
    lagBytes: 5_000_000,
    receiverStatus: 'streaming',
  };
  const db = {
    name: 'postgres',
    readiness: async () => ({
      component: 'database',
      status: 'ready',
      summary: 'secondary in recovery',
      details,
      planFacts: {},
      primaryReachable: true,
    }),
  } as unknown as DatabaseProvider;
  const lagging = await postgresCheck(db, 300).run();
  expect(lagging).toMatchObject({
    status: 'degraded',
    measured: '420 s (4.8 MB)',
    target: 'lag ≤ 300 s',
  });
  expect(lagging.detail).toMatch(/420 s behind, over the RPO of 300 s/);
  details = { targetInRecovery: false };
  expect(await postgresCheck(db, 300).run()).toMatchObject({
    status: 'degraded',
    measured: 'no standby',
  });
});

test("PostgreSQL: a driver's notes for the card leave the row ok; its warnings degrade it", async () => {
  let answer: { status: string; warnings: string[] } = {
    status: 'ready',
    warnings: ['rds-replica: PromoteReadReplica is one-way. Failback is a rebuild.'],
  };
  const db = {
    name: 'postgres',
    readiness: async () => ({
      component: 'database',
      summary: 'secondary in recovery',
      details: {
        targetInRecovery: true,
        lagSeconds: 0.2,
        lagBytes: 0,
        receiverStatus: 'streaming',
      },
      planFacts: {},
      primaryReachable: true,
      ...answer,
    }),
  } as unknown as DatabaseProvider;
  expect(await postgresCheck(db, 300).run()).toMatchObject({ status: 'ok' });
  answer = {
    status: 'warning',
    warnings: ['the standby replays WAL 40 s behind what it received'],
  };
  expect(await postgresCheck(db, 300).run()).toMatchObject({
    status: 'degraded',
    detail: 'the standby replays WAL 40 s behind what it received',
  });
});
