/**
 * The engine on a real lab for failback tests: the lab's own bot config (plus the tables whose
 * consistency is checked), the real provider factory, the engine and store on the test Redis. The
 * cloud simulators (DNS, Kubernetes, health) are used when the lab config has them.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { configSchema, loadConfig, type DrConfig } from '../../src/config/index.js';
import type { OperationKind, OperationView, RequestedMode } from '../../src/domain/types.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { LAB_APPROVERS, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { createRedisStore } from '../../src/store/index.js';
import { inPhase } from '../support/engine-harness.js';
import { silentLog, sql } from '../support/lab.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

export const OPERATOR = 'U0LABOPER1';
export const [APPROVER] = LAB_APPROVERS as [string, ...string[]];

export interface LabEngine {
  config: DrConfig;
  providers: Providers;
  engine: Engine;
  close(): Promise<void>;
}

export async function labEngine(
  lab: LabInfo,
  name: string,
  consistencyTables: string[],
  /** Where the bot reaches the secondary PostgreSQL instead (a proxy the test controls). */
  opts: { secondaryPgUrl?: string } = {},
): Promise<LabEngine> {
  const base = loadConfig({ path: lab.configPath });
  const pg = base.components.postgres!;
  const config = configSchema.parse({
    ...base,
    components: {
      ...base.components,
      postgres: {
        ...pg,
        consistencyTables,
        ...(opts.secondaryPgUrl
          ? { secondary: { ...pg.secondary, url: opts.secondaryPgUrl } }
          : {}),
      },
    },
  });
  // The AWS SDK (Route 53 simulator) reads its credentials from the environment, as after `. lab.env`.
  const env = { ...process.env, ...(lab.envFile ? readLabEnv(lab.envFile) : {}) };
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('AWS_') && v !== undefined) process.env[k] = v;
  const providers = createProviders(config, env, silentLog);
  const redis = new Redis(REDIS_URL);
  const prefix = uniquePrefix(name);
  const engine = createEngine({
    config,
    store: createRedisStore({ redis, prefix }),
    providers,
    authorizer: { isAuthorized: async (u) => config.approvals.approvers.includes(u) },
    log: silentLog,
  });
  await engine.start();
  return {
    config,
    providers,
    engine,
    async close() {
      await engine.stop();
      await closeProviders(providers, silentLog);
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}

/** Request, wait for the approval card, approve; returns the view awaiting approval and the final one. */
export async function requestAndApprove(
  engine: Engine,
  kind: OperationKind,
  opts: { mode?: RequestedMode; until?: 'completed' | 'paused' } = {},
): Promise<{ before: OperationView; after: OperationView }> {
  const req = await engine.request({
    kind,
    mode: opts.mode ?? 'auto',
    requester: OPERATOR,
    reason: `lab ${kind}`,
  });
  if (!req.ok) throw new Error(req.message);
  const before = await inPhase(engine, req.op.id, 'awaitingApproval');
  const approved = await engine.approve({
    opId: before.id,
    userId: APPROVER,
    planHash: before.planHash!,
  });
  if (!approved.ok) throw new Error(approved.message);
  const after = await inPhase(engine, before.id, opts.until ?? 'completed');
  return { before, after };
}

export async function ids(url: string, table = 'orders'): Promise<number[]> {
  return (await sql<{ id: number }>(url, `SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id);
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** One committed transaction per row, so the count of transactions is known. */
export async function insertRows(url: string, rows: number[], side: string): Promise<void> {
  for (const id of rows)
    await sql(url, 'INSERT INTO orders (id, side) VALUES ($1, $2)', [id, side]);
}

/** A standby in recovery, streaming, and at lag 0: it has replayed the writer's current LSN. */
export async function standbyState(
  standbyUrl: string,
  writerUrl: string,
): Promise<{ inRecovery: boolean; receiver: string | null; lagBytes: number }> {
  const [w] = await sql<{ lsn: string }>(writerUrl, 'SELECT pg_current_wal_lsn()::text AS lsn');
  const [s] = await sql<{ rec: boolean; status: string | null; lag: string }>(
    standbyUrl,
    `SELECT pg_is_in_recovery() AS rec, (SELECT status FROM pg_stat_wal_receiver) AS status,
            greatest(0, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()))::text AS lag`,
    [w.lsn],
  );
  return { inRecovery: s.rec, receiver: s.status, lagBytes: Number(s.lag) };
}

/** Delete `dataDir`'s WAL segments of `timeline` older than the one holding `lsn` (what a short wal_keep_size does). */
export async function removeWalBefore(
  url: string,
  dataDir: string,
  lsn: string,
): Promise<string[]> {
  const [{ name }] = await sql<{ name: string }>(
    url,
    'SELECT pg_walfile_name($1::pg_lsn) AS name',
    [lsn],
  );
  const removed = readdirSync(join(dataDir, 'pg_wal')).filter(
    (f) => /^[0-9A-F]{24}$/.test(f) && f.slice(0, 8) === name.slice(0, 8) && f < name,
  );
  for (const f of removed) rmSync(join(dataDir, 'pg_wal', f));
  return removed;
}
