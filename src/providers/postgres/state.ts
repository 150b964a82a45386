/**
 * Reading a side: its replication state (roles, LSNs, receiver), the contact and writer readings
 * noted from each reading, and the role questions built on it (is it the writer, a streaming
 * standby, does it take a write probe).
 */
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import {
  iso,
  other,
  quoteIdent,
  type PgContext,
  type Reachable,
  type SideState,
} from './context.js';
import type { WriterReading } from './memory.js';
import { fencedSql } from './role-fence.js';

/** One reading of `side`; a retryable failure (down, not up yet) is Unreachable, not an error. */
export async function inspect(ctx: PgContext, side: RegionRole): Promise<SideState> {
  try {
    return await ctx.withClient(side, 'reading replication state', async (c) => {
      const { rows } = await c.query(`
        SELECT pg_is_in_recovery() AS in_recovery,
               (SELECT system_identifier::text FROM pg_control_system()) AS system_id,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END AS flush_lsn,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS walfile,
               pg_last_wal_receive_lsn()::text AS receive_lsn,
               pg_last_wal_replay_lsn()::text AS replay_lsn,
               pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text AS replay_gap,
               pg_last_xact_replay_timestamp() AS last_replay_at,
               extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS last_replay_age,
               ${fencedSql(ctx.opts.fence)} AS fenced,
               clock_timestamp() AS checked_at,
               CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS replay_paused`);
      const r = rows[0];
      const recv = await c.query(
        `SELECT status, flushed_lsn::text AS flushed, latest_end_lsn::text AS latest_end, last_msg_receipt_time FROM pg_stat_wal_receiver`,
      );
      const w = recv.rows[0];
      const state = {
        reachable: true as const,
        inRecovery: r.in_recovery as boolean,
        systemId: r.system_id as string,
        // From the WAL file name, not pg_control: that shows the new timeline only after the first checkpoint.
        timeline: r.walfile === null ? null : parseInt(String(r.walfile).slice(0, 8), 16),
        currentLsn: r.current_lsn as string | null,
        flushLsn: r.flush_lsn as string | null,
        receiveLsn: r.receive_lsn as string | null,
        replayLsn: r.replay_lsn as string | null,
        replayGapBytes: r.replay_gap === null ? null : Number(r.replay_gap),
        lastReplayAt: iso(r.last_replay_at),
        lastReplayAgeSeconds:
          r.last_replay_age === null ? null : Math.max(0, Number(r.last_replay_age)),
        readOnlyFenced: r.fenced === true,
        replayPaused: r.replay_paused === true,
        receiver: w
          ? {
              status: w.status as string,
              flushedLsn: w.flushed ?? null,
              latestEndLsn: w.latest_end ?? null,
              lastMsgReceiptAt: iso(w.last_msg_receipt_time),
            }
          : null,
        checkedAt: iso(r.checked_at) ?? new Date().toISOString(),
      };
      if (state.inRecovery) noteContact(ctx, side, state);
      noteWriter(ctx, side, state);
      return state;
    });
  } catch (err) {
    if (err instanceof DrError && err.retryable) return { reachable: false, error: err };
    throw err;
  }
}

/**
 * Only a streaming receiver's times are contact: a receiver (re)starting resets them to its own
 * start time, before it has heard from anyone.
 */
function noteContact(ctx: PgContext, side: RegionRole, s: Reachable): void {
  const w = s.receiver;
  const c = ctx.contact.get(side) ?? { lastSeen: null, lostBy: null };
  if (w?.status === 'streaming' && w.lastMsgReceiptAt) {
    ctx.contact.set(side, {
      lastSeen: {
        at: w.lastMsgReceiptAt,
        latestEndLsn: w.latestEndLsn,
        flushedLsn: w.flushedLsn,
      },
      lostBy: null,
    });
  } else if (!c.lostBy) {
    ctx.contact.set(side, { ...c, lostBy: s.checkedAt });
  }
}

/**
 * A writer's flushed WAL and when it was read (its own clock): a standby later found holding all
 * of it lost no transaction committed before then. Forgotten once the side is seen in recovery,
 * so a position from an earlier history (before a resync) is never compared with a new one.
 */
function noteWriter(ctx: PgContext, side: RegionRole, s: Reachable): void {
  const server = ctx.serverName(side);
  if (!s.inRecovery && s.flushLsn) {
    const reading: WriterReading = {
      flushLsn: s.flushLsn,
      at: s.checkedAt,
      systemId: s.systemId,
      timeline: s.timeline,
    };
    ctx.writerSeen.set(side, reading);
    ctx.writerForgotten.delete(side);
    ctx.keep('the PostgreSQL writer reading', () => ctx.servers.rememberWriter(server, reading));
  } else if (s.inRecovery) {
    ctx.writerSeen.delete(side);
    if (!ctx.writerForgotten.has(side)) {
      ctx.writerForgotten.add(side);
      ctx.keep('the PostgreSQL writer reading', () => ctx.servers.forgetWriter(server));
    }
  }
}

/**
 * The last reading of `side` as a writer: this process's own, else the one kept in `servers` by
 * an earlier process (a bot restarted after the primary died) when it can only be of the history
 * `standby` follows: same system identifier, and the writer's timeline is the one of the
 * standby's last restartpoint. Anything else (another cluster, a reading from before a failover)
 * is left out, which only widens the loss window.
 */
export async function writerReading(
  ctx: PgContext,
  side: RegionRole,
  standby: Reachable,
): Promise<WriterReading | null> {
  const own = ctx.writerSeen.get(side);
  if (own) return own;
  try {
    const kept = await ctx.servers.recallWriter(ctx.serverName(side));
    if (!kept || kept.systemId !== standby.systemId || kept.timeline === null) return null;
    const tli = await ctx.withClient(
      other(side),
      'reading the timeline of the last restartpoint',
      async (c) =>
        Number(
          (await c.query('SELECT timeline_id FROM pg_control_checkpoint()')).rows[0].timeline_id,
        ),
    );
    return tli === kept.timeline ? kept : null;
  } catch (err) {
    ctx.opts.log.warn(
      { err: (err as Error).message },
      'reading the kept PostgreSQL writer reading failed',
    );
    return null;
  }
}

export async function inspectReachable(ctx: PgContext, side: RegionRole): Promise<Reachable> {
  const s = await inspect(ctx, side);
  if (!s.reachable) throw s.error;
  return s;
}

/** Not in recovery and not fenced read-only: a fenced old primary does not accept writes. */
export async function isWriter(ctx: PgContext, target: RegionRole): Promise<boolean> {
  const s = await inspectReachable(ctx, target);
  return !s.inRecovery && !s.readOnlyFenced;
}

export async function isStreamingStandby(ctx: PgContext, standby: RegionRole): Promise<boolean> {
  const s = await inspectReachable(ctx, standby);
  if (!s.inRecovery || s.receiver?.status !== 'streaming') return false;
  const o = await inspect(ctx, other(standby));
  return o.reachable && !o.inRecovery && o.systemId === s.systemId;
}

export async function verifyWriter(ctx: PgContext, target: RegionRole): Promise<CheckResult[]> {
  const s = await inspect(ctx, target);
  if (!s.reachable)
    return [
      {
        name: `postgres ${target} reachable`,
        kind: 'database',
        ok: false,
        detail: s.error.message,
      },
    ];
  const checks: CheckResult[] = [
    {
      name: `postgres ${target} not in recovery`,
      kind: 'database',
      ok: !s.inRecovery,
      detail: `pg_is_in_recovery() = ${s.inRecovery}`,
    },
  ];
  const started = Date.now();
  try {
    await ctx.withClient(target, 'write probe', async (c) => {
      if (ctx.opts.probe.statement) {
        await c.query(ctx.opts.probe.statement);
        return;
      }
      const table = quoteIdent(ctx.opts.probe.table);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${table} (region text PRIMARY KEY, probed_at timestamptz NOT NULL, probed_by text NOT NULL)`,
      );
      await c.query(
        `INSERT INTO ${table} (region, probed_at, probed_by) VALUES ($1, clock_timestamp(), 'dr-bot')
         ON CONFLICT (region) DO UPDATE SET probed_at = EXCLUDED.probed_at, probed_by = EXCLUDED.probed_by`,
        [target],
      );
    });
    checks.push({
      name: `postgres ${target} write probe`,
      kind: 'database',
      ok: true,
      detail: ctx.opts.probe.statement
        ? 'probe statement succeeded'
        : `wrote ${ctx.opts.probe.table}`,
      durationMs: Date.now() - started,
    });
  } catch (err) {
    checks.push({
      name: `postgres ${target} write probe`,
      kind: 'database',
      ok: false,
      detail: (err as Error).message,
      durationMs: Date.now() - started,
    });
  }
  return checks;
}

/** The writer's end of WAL (pg_current_wal_lsn). */
export async function writePosition(ctx: PgContext, side: RegionRole): Promise<string> {
  return ctx.withClient(
    side,
    'reading the write position',
    async (c) => (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string,
  );
}
