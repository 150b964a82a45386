/**
 * The lab runs least-privilege: its config connects as the role and ACL user made from
 * deploy/permissions, and preflight names any right of theirs that is missing, with the grant that
 * fixes it, while nothing changes anywhere: PostgreSQL and Redis roles, DNS. One lab for every
 * right (test/permissions/permission-files checks each right in the files has a case here).
 */
import { Redis } from 'ioredis';
import { loadConfig, type DrConfig } from '../../src/config/index.js';
import { runPreflight } from '../../src/engine/preflight.js';
import { readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { applyRedisAcl, BOT_PG_ROLE, BOT_REDIS_USER } from '../../src/lab/permissions.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import { PG_RIGHTS } from '../../src/providers/postgres/rights.js';
import { REDIS_RIGHTS } from '../../src/providers/redis/rights.js';
import type { Providers } from '../../src/providers/types.js';
import { silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';

let lab: LabInfo;
let config: DrConfig;
let providers: Providers;

beforeAll(async () => {
  // With the cloud simulators: DNS must not move either.
  lab = await startLab({ cloud: true });
  // The AWS SDK's credential chain reads the process environment (the lab's dummy keys).
  Object.assign(process.env, readLabEnv(lab.envFile));
  config = loadConfig({ path: lab.configPath });
  providers = createProviders(config, process.env, silentLog);
});

afterAll(async () => {
  if (providers) await closeProviders(providers, silentLog);
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
