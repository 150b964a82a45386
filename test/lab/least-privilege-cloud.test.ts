/**
 * The bot's rights in the clouds, checked by preflight against the lab's simulators: the
 * Kubernetes token holds only the Roles of deploy/permissions/kubernetes-rbac.yaml, and taking one
 * rule away (or having IAM deny a Route 53 read or the canary's write) shows a blocked row naming
 * the right and its grant, while nothing changes anywhere.
 */
import { Redis } from 'ioredis';
import { loadConfig, type DrConfig } from '../../src/config/index.js';
import { runPreflight } from '../../src/engine/preflight.js';
import { readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { labCloud } from '../../src/lab/simulators/part.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { silentLog, sql, startLab, stopLabs } from '../support/lab.js';

let lab: LabInfo;
let config: DrConfig;
let providers: Providers;
const saved = { ...process.env };

beforeAll(async () => {
  lab = await startLab({ cloud: true });
  config = loadConfig({ path: lab.configPath });
  // The AWS SDK reads the lab's dummy credentials and endpoints from lab.env, as the bot would.
  Object.assign(process.env, readLabEnv(lab.envFile));
  providers = createProviders(config, process.env, silentLog);
}, 120_000);

afterAll(async () => {
  if (providers) await closeProviders(providers, silentLog);
  process.env = saved;
  await stopLabs();
});

async function control(path: string): Promise<void> {
  const res = await fetch(`${labCloud(lab)!.controlUrl}${path}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

/** Everything a preflight must leave as it found it: DNS, replicas, PostgreSQL and Redis roles. */
async function world(): Promise<unknown> {
  const cloud = (await (await fetch(`${labCloud(lab)!.controlUrl}/state`)).json()) as {
    route53: unknown;
    kubernetes: unknown;
  };
  const pg = await Promise.all(
    [lab.postgres.primary.url, lab.postgres.secondary.url].map((url) =>
      sql(url, 'SELECT pg_is_in_recovery() AS standby'),
    ),
  );
  const redis = await Promise.all(
    [lab.redis.primary.url, lab.redis.secondary.url].map(async (url) => {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return ((await r.call('ROLE')) as unknown[])[0];
      } finally {
        r.disconnect();
      }
    }),
  );
  return { dns: cloud.route53, replicas: cloud.kubernetes, pg, redis };
}

/** Preflight a failover (or failback), asserting it changed nothing; the row of `component`. */
async function row(component: string, kind: 'failover' | 'failback' = 'failover') {
  const before = await world();
  const report = await runPreflight(providers, { kind, requestedMode: 'auto' }, Date.now);
  expect(await world()).toEqual(before);
  return report.components.find((c) => c.component === component)!;
}

test('with the documented rights, the cluster, DNS and object storage rows pass and say what cannot be dry-run', async () => {
  const cluster = await row('cluster');
  expect(cluster.status).toBe('ready');
  const dns = await row('dns');
  expect(dns.status).not.toBe('blocked');
  expect(dns.summary).toContain(
    'rights: the reads succeed; route53:UpdateHealthCheck cannot be dry-run',
  );
  const storage = await row('object-storage');
  expect(storage).toMatchObject({ status: 'ready' });
  expect(storage.summary).toContain('wrote and read the canary');
});

test('without patch on deployments/scale in the secondary, preflight blocks naming it and the Role rule; nothing changes', async () => {
  await control('/kubernetes/secondary/revoke?verb=patch&resource=deployments/scale');
  try {
    const cluster = await row('cluster');
    expect(cluster.status).toBe('blocked');
    expect(cluster.summary).toContain('secondary: may not patch deployments/scale in namespace');
    expect(cluster.summary).toContain(
      "add the rule {apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch']}",
    );
    expect(cluster.summary).not.toContain('primary:');
  } finally {
    await control('/kubernetes/secondary/restore');
  }
  expect((await row('cluster')).status).toBe('ready');
});

test('without it in the primary, a failover only warns; a failback (which scales the primary) blocks', async () => {
  await control('/kubernetes/primary/revoke?verb=patch&resource=deployments/scale');
  try {
    const failover = await row('cluster');
    expect(failover.status).toBe('warning');
    expect(failover.warnings).toContainEqual(
      expect.stringContaining('primary: may not patch deployments/scale'),
    );
    const failback = await row('cluster', 'failback');
    expect(failback.status).toBe('blocked');
    expect(failback.summary).toContain('primary: may not patch deployments/scale');
  } finally {
    await control('/kubernetes/primary/restore');
  }
});

test('without list on Velero backups, the cluster row warns naming the right', async () => {
  await control('/kubernetes/secondary/revoke?verb=list&resource=backups');
  try {
    const cluster = await row('cluster');
    expect(cluster.status).toBe('warning');
    expect(cluster.warnings).toContainEqual(
      expect.stringContaining(
        "secondary: may not list backups.velero.io in namespace velero (read the newest backup (the Velero readiness row)): add the rule {apiGroups: ['velero.io'], resources: ['backups'], verbs: ['list']}",
      ),
    );
  } finally {
    await control('/kubernetes/secondary/restore');
  }
});

test('a denied Route 53 read blocks the DNS row, naming the IAM action', async () => {
  await control('/route53/deny/ListResourceRecordSets');
  try {
    const dns = await row('dns');
    expect(dns.status).toBe('blocked');
    expect(dns.summary).toContain(
      "may not route53:ListResourceRecordSets (read the failover records): allow it in the bot's IAM policy",
    );
  } finally {
    await control('/route53/allow/ListResourceRecordSets');
  }
});

test('a denied canary write blocks the object-storage row, naming s3:PutObject', async () => {
  await control('/s3/deny/s3:PutObject');
  try {
    const storage = await row('object-storage');
    expect(storage.status).toBe('blocked');
    expect(storage.summary).toContain('the bot may not s3:PutObject there');
    expect(storage.summary).toContain('deploy/permissions/aws-iam-policy.json');
  } finally {
    await control('/s3/allow/s3:PutObject');
  }
});
