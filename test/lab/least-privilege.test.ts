/**
 * The lab runs least-privilege: its config connects as the role and ACL user made from
 * deploy/permissions, and preflight names any right of theirs that is missing, with the grant that
 * fixes it, while nothing changes anywhere: PostgreSQL and Redis roles, DNS. One lab for every
 * right (test/permissions/permission-files checks each right in the files has a case here),
 * the bot's rights in the clouds included: the Kubernetes token holds only the Roles of
 * deploy/permissions/kubernetes-rbac.yaml, and taking one rule away (or having IAM deny a Route 53
 * read or the canary's write) shows a row naming the right and its grant.
 */
import { Redis } from 'ioredis';
import { loadConfig, type DrConfig } from '../../src/config/index.js';
import { runPreflight } from '../../src/engine/preflight.js';
import { readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { applyRedisAcl, BOT_PG_ROLE, BOT_REDIS_USER } from '../../src/lab/permissions.js';
import { labCloud } from '../../src/lab/simulators/part.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import { PG_RIGHTS } from '../../src/providers/postgres/rights.js';
import { REDIS_RIGHTS } from '../../src/providers/redis/rights.js';
import type { Providers } from '../../src/providers/types.js';
import { silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';

let lab: LabInfo;
let config: DrConfig;
let providers: Providers;
const saved = { ...process.env };

beforeAll(async () => {
  // With the cloud simulators: DNS must not move either.
  lab = await startLab({ cloud: true });
  // The AWS SDK's credential chain reads the process environment (the lab's dummy keys).
  Object.assign(process.env, readLabEnv(lab.envFile));
  config = loadConfig({ path: lab.configPath });
  providers = createProviders(config, process.env, silentLog);
}, 120_000);

afterAll(async () => {
  if (providers) await closeProviders(providers, silentLog);
  process.env = saved;
  await stopLabs();
});

async function redisCall(url: string, ...args: string[]): Promise<unknown> {
  const r = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

const adminRedis = (): string[] => [lab.redis.primary.url, lab.redis.secondary.url];

/** What a preflight must never change: each server's role, the PostgreSQL fence, DNS. */
async function roles(): Promise<unknown> {
  const pg = await Promise.all(
    [lab.postgres.primary.url, lab.postgres.secondary.url].map((url) =>
      sql(
        url,
        `SELECT pg_is_in_recovery() AS standby, current_setting('default_transaction_read_only') AS ro`,
      ),
    ),
  );
  const redis = await Promise.all(
    adminRedis().map(async (url) => ((await redisCall(url, 'ROLE')) as unknown[])[0]),
  );
  const dns = await providers.dns!.currentTarget();
  return { pg, redis, dns };
}

function preflight(using = providers): ReturnType<typeof runPreflight> {
  return runPreflight(using, { kind: 'failover', requestedMode: 'auto' }, Date.now);
}

/** Run `revoke` on the primary, wait until the standby has it too, preflight, then grant back. */
async function withoutPgRight(
  revoke: string,
  grant: string,
  check: string,
  using = providers,
): Promise<string> {
  const P = lab.postgres.primary.url;
  const S = config.components.postgres!.secondary.url!;
  await sql(P, revoke);
  try {
    await until('the standby to replay the REVOKE', async () => {
      const [row] = await sql<{ held: boolean }>(S, `SELECT ${check} AS held`);
      return row!.held === false;
    });
    const before = await roles();
    const report = await preflight(using);
    expect(await roles()).toEqual(before);
    const db = report.components.find((c) => c.component === 'database')!;
    expect(db.status).toBe('blocked');
    return db.summary;
  } finally {
    await sql(P, grant);
  }
}

test('the lab config connects as a non-superuser role and a Redis ACL user other than default', async () => {
  const pgUrl = config.components.postgres!.primary.url!;
  const [me] = await sql<{ role: string; su: boolean }>(
    pgUrl,
    'SELECT current_user AS role, rolsuper AS su FROM pg_roles WHERE rolname = current_user',
  );
  expect(me).toEqual({ role: BOT_PG_ROLE, su: false });
  const redisUrl = config.components.redis!.secondary.url!;
  expect(await redisCall(redisUrl, 'ACL', 'WHOAMI')).toBe(BOT_REDIS_USER);
  // Not a user allowed every command: FLUSHALL and ACL SETUSER are refused.
  await expect(redisCall(redisUrl, 'FLUSHALL')).rejects.toThrow(/NOPERM/);
  await expect(redisCall(redisUrl, 'ACL', 'SETUSER', 'x')).rejects.toThrow(/NOPERM/);
});

test('with every documented right, preflight passes the database and the cache', async () => {
  const report = await preflight();
  const byName = Object.fromEntries(report.components.map((c) => [c.component, c.status]));
  expect(byName).toMatchObject({ database: 'ready', cache: 'ready' });
});

test.each(PG_RIGHTS.map((r) => [r.name, r] as const))(
  'without %s, preflight blocks with a row naming it and its GRANT; nothing changes',
  async (_name, right) => {
    const grant = right.grant.replace('ROLE', BOT_PG_ROLE);
    const revoke = grant
      .replace(/^GRANT/, 'REVOKE')
      .replace(` TO ${BOT_PG_ROLE}`, ` FROM ${BOT_PG_ROLE}`);
    const summary = await withoutPgRight(revoke, grant, right.held);
    expect(summary).toContain(`primary: missing ${right.name}`);
    expect(summary).toContain(`secondary: missing ${right.name}`);
    expect(summary).toContain(right.grant.replace('ROLE', `"${BOT_PG_ROLE}"`));
  },
);

test('without CREATE in its schema (for the write probe table), preflight names it', async () => {
  const summary = await withoutPgRight(
    `REVOKE CREATE ON SCHEMA dr_bot FROM ${BOT_PG_ROLE}`,
    `GRANT CREATE ON SCHEMA dr_bot TO ${BOT_PG_ROLE}`,
    `has_schema_privilege('dr_bot', 'CREATE')`,
  );
  expect(summary).toContain('missing the write probe table dr_probe');
  expect(summary).toContain('CREATE SCHEMA IF NOT EXISTS dr_bot AUTHORIZATION "dr_bot"');
});

test('without SELECT on a consistencyTables table, preflight names it and its GRANT', async () => {
  await sql(lab.postgres.primary.url, 'CREATE TABLE public.lp_orders (id int PRIMARY KEY)');
  const pg = config.components.postgres!;
  const checking = createProviders(
    {
      ...config,
      components: {
        ...config.components,
        postgres: { ...pg, consistencyTables: ['public.lp_orders'] },
      },
    },
    process.env,
    silentLog,
  );
  try {
    const summary = await withoutPgRight(
      `REVOKE SELECT ON public.lp_orders FROM ${BOT_PG_ROLE}`,
      `GRANT SELECT ON public.lp_orders TO ${BOT_PG_ROLE}`,
      `has_table_privilege('public.lp_orders', 'SELECT')`,
      checking,
    );
    expect(summary).toContain(
      `primary: missing SELECT on public.lp_orders (consistency check): run on the primary \`GRANT SELECT ON "public"."lp_orders" TO "${BOT_PG_ROLE}";\``,
    );
  } finally {
    await closeProviders(checking, silentLog);
  }
});

/** Change the bot's ACL on both servers, preflight, then restore it from redis.acl. */
async function withAcl(rules: string[]): Promise<string> {
  await Promise.all(
    adminRedis().map((u) => redisCall(u, 'ACL', 'SETUSER', BOT_REDIS_USER, ...rules)),
  );
  try {
    const before = await roles();
    const report = await preflight();
    expect(await roles()).toEqual(before);
    const cache = report.components.find((c) => c.component === 'cache')!;
    expect(cache.status).toBe('blocked');
    return cache.summary;
  } finally {
    await Promise.all(adminRedis().map((u) => applyRedisAcl(u)));
  }
}

test.each(REDIS_RIGHTS.map((r) => [r.rule, r] as const))(
  'without %s, preflight blocks with a row naming the command and the ACL SETUSER; nothing changes',
  async (rule, right) => {
    const summary = await withAcl([rule.replace(/^\+/, '-')]);
    const command = right.command.slice(0, rule.includes('|') ? 2 : 1).join(' ');
    expect(summary).toContain(
      `primary: may not run ${command}: run \`ACL SETUSER ${BOT_REDIS_USER} ${rule}\``,
    );
    expect(summary).toContain(`secondary: may not run ${command}`);
  },
);

/** The key patterns redis.acl gives the bot's user, and the command preflight says needs each. */
const KEY_PATTERNS: readonly (readonly [string, string])[] = [
  ['%R~*', 'TYPE'],
  ['~dr:probe:*', 'SET'],
  ['~dr_drill_load:*', 'INCR'],
];

test.each(KEY_PATTERNS)(
  'without the key pattern %s, preflight names it as the fix for %s; nothing changes',
  async (pattern, command) => {
    const others = KEY_PATTERNS.map(([p]) => p).filter((p) => p !== pattern);
    const summary = await withAcl(['resetkeys', ...others]);
    expect(summary).toContain(
      `primary: may not run ${command}: run \`ACL SETUSER ${BOT_REDIS_USER} ${pattern}\``,
    );
  },
);

test.each(['+acl|whoami', '+acl|dryrun'])(
  'without %s, preflight says the rights cannot be checked and how to allow it; nothing changes',
  async (rule) => {
    const summary = await withAcl([rule.replace(/^\+/, '-')]);
    expect(summary).toContain('ACL SETUSER <bot user> +acl|whoami +acl|dryrun');
  },
);

// The clouds, through the simulators' control API: each test gives back what it took.
async function control(path: string): Promise<void> {
  const res = await fetch(`${labCloud(lab)!.controlUrl}${path}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

/** Everything a preflight must leave as it found it: DNS, replicas, PostgreSQL and Redis roles. */
async function cloudWorld(): Promise<unknown> {
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
  const before = await cloudWorld();
  const report = await runPreflight(providers, { kind, requestedMode: 'auto' }, Date.now);
  expect(await cloudWorld()).toEqual(before);
  return report.components.find((c) => c.component === component)!;
}

describe('in the clouds', () => {
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
});
