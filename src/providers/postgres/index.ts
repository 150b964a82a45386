/**
 * PostgreSQL streaming-replication provider (DatabaseProvider) on `pg`.
 *
 *   createPostgresProvider({
 *     primaryUrl,             // connection string of the primary region's server, and of the secondary's:
 *     secondaryUrl,           //   the bot's role with deploy/permissions/postgres.sql's rights (preflight checks them)
 *     promoteTimeoutSeconds,  // pg_promote(wait => true, timeout); config: postgres.promoteTimeoutSeconds
 *     catchUpTimeoutSeconds,  // planned: how long to wait for the standby to replay the final LSN
 *     fence,                  // { method: 'read-only' | 'role', roles? } or { method: 'command', command } (config postgres.fence)
 *     probe,                  // { table: 'dr_probe', statement? }: verification's write probe
 *     resync?,                // { command, timeoutSeconds }: host-level rewind/rebuild script (failback)
 *     consistencyTables,      // tables compared chunk by chunk on both sides (consistency.ts)
 *     consistency?,           // { chunkRows, concurrency, rowHash, attempts, timeBudgetSeconds, unproven }
 *     log,                    // pino logger (child with provider: 'postgres')
 *     connectTimeoutMs?,      // default 3000: how long "is the other side reachable?" may take
 *     systemIdentifier?,      // config postgres.systemIdentifier: the cluster's identifier, checked on every side seen
 *     identity?,              // where the identifier seen on both sides is remembered (default: in memory)
 *     servers?,               // where each server's planned-failover fence and last writer reading are kept (default: in memory)
 *     sessionExitTimeoutMs?,  // default 15000: how long fenced-off sessions may take to exit
 *   })
 *
 * Needs PostgreSQL 13 or later (pg_stat_wal_receiver.flushed_lsn, pg_promote, wal_keep_size).
 *
 * Commands run by `fence.command` / `resync.command` (via /bin/sh) get these environment variables:
 *   fence: DR_SIDE (primary|secondary: the side being fenced), DR_PG_URL (its connection string),
 *   DR_PG_OTHER_URL (the other side's). resync (README, "The resync command"): DR_RESYNC_STANDBY,
 *   DR_RESYNC_TARGET_URL, DR_RESYNC_SOURCE_URL, DR_RESYNC_METHOD (rewind|rebuild),
 *   DR_RESYNC_DIVERGENCE_LSN.
 *
 * Why one short-lived connection per call and no pool: during a failover the old primary may be
 * dying; a pool would hand out half-dead connections and hide reachability.
 *
 * One file per concern: context.ts (connection, options, what is remembered), state.ts (reading a
 * side, its role), identity.ts (is it this cluster's server), readiness.ts, loss.ts (RPO),
 * promote.ts, fence.ts (role-fence.ts), undo.ts (lifting a fence whose promotion failed), resync.ts
 * (failback of an old primary), consistency.ts; and the helpers
 * divergence.ts (the stale side's analysis), memory.ts (what outlives the process), lsn.ts.
 */
import type { ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import type { ActionResult, DatabaseProvider, Progress, PromotionResult } from '../types.js';
import { SqlDatabaseProvider } from './sql-provider.js';
import { NAME, PgContext, type PostgresProviderOptions } from './context.js';
import { keepFoundFence } from './fence.js';
import { promote } from './promote.js';
import { readiness } from './readiness.js';
import { resync } from './resync.js';
import { withRights } from './rights.js';
import { undoPromotion } from './undo.js';

export type { PostgresProviderOptions } from './context.js';
export { switchpointFrom } from './divergence.js';
export { lsnDiff, lsnToNumber } from './lsn.js';
export {
  keptPostgresFacts,
  keyValuePostgresServers,
  keyValueSystemIdentifier,
  type PostgresServerMemory,
  type SystemIdentifierMemory,
} from './memory.js';

export function createPostgresProvider(opts: PostgresProviderOptions): DatabaseProvider {
  return new PostgresProvider(opts);
}

/** The provider's face: each method hands the shared context to the file that owns the concern. */
class PostgresProvider extends SqlDatabaseProvider implements DatabaseProvider {
  readonly name = NAME;
  protected readonly ctx: PgContext;

  /** Only a fence the bot set (ALTER SYSTEM) is one it can lift: a fence command has no undo. */
  readonly undoPromotion?: DatabaseProvider['undoPromotion'];

  constructor(opts: PostgresProviderOptions) {
    super();
    this.ctx = new PgContext(opts);
    if (opts.fence.method === 'read-only') this.undoPromotion = (o) => undoPromotion(this.ctx, o);
  }

  readiness(target: RegionRole): Promise<ComponentReadiness> {
    return withRights(this.ctx, () => readiness(this.ctx, target));
  }

  promote(opts: { target: RegionRole; mode: Mode; progress: Progress }): Promise<PromotionResult> {
    return promote(this.ctx, opts);
  }

  keepFoundPromotion(promoted: RegionRole): Promise<string> {
    return keepFoundFence(this.ctx, promoted);
  }

  resync(opts: { standby: RegionRole; progress: Progress }): Promise<ActionResult> {
    return resync(this.ctx, opts);
  }
}
