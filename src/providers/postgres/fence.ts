/**
 * Fencing the side that must stop writing: read-only through ALTER SYSTEM, the application roles
 * (role-fence.ts) or the configured fence command, ending the sessions that predate it, the final LSN the standby must reach, lifting the
 * fence again, and the fence record a planned failover leaves for the failback.
 */
import type pg from 'pg';
import type { RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import { runShellCommand } from '../pg-command.js';
import { NAME, other, type PgContext } from './context.js';
import { switchpointFrom, timelineHistory, writerTimeline } from './divergence.js';
import type { FenceRecord, FenceTaken } from './memory.js';
import { DRILL_LOAD_APPLICATION } from '../write-load.js';
import { lsnDiff } from './lsn.js';
import { fencedSql, liftRoleFence, setRoleFence } from './role-fence.js';
import { inspect } from './state.js';
import { backoffMs, sleep } from '../dns-resolve.js';

/**
 * Stop writes on `side` and return its final LSN. read-only: default_transaction_read_only via
 * ALTER SYSTEM (survives a restart) + reload, then end every client session so none keeps
 * writing. A CHECKPOINT then flushes all WAL, so the LSN read after it is one the standby can
 * reach exactly.
 */
export async function fenceWrites(
  ctx: PgContext,
  side: RegionRole,
  { readState = false }: { readState?: boolean } = {},
): Promise<{
  finalLsn: string;
  terminated: number | null;
  ms: number;
  /** With readState: the fenced side's state for the fence record (null when unreadable or not fenced). */
  state?: FencedState | null;
}> {
  const started = Date.now();
  // After the fence: end the sessions, read the final LSN (and the fenced state) on one session.
  const finish = (c: pg.Client, roles?: readonly string[]) =>
    afterFence(ctx, c, side, roles, readState);
  let done: { terminated: number | null; finalLsn: string; state?: FencedState | null };
  if (ctx.opts.fence.method === 'command') {
    await runShellCommand(NAME, 'fence', ctx.opts.fence.command ?? '', {
      env: { DR_SIDE: side, DR_PG_URL: ctx.url(side), DR_PG_OTHER_URL: ctx.url(other(side)) },
      timeoutSeconds: 120,
    });
    const after = await inspect(ctx, side);
    if (!after.reachable) {
      // The command shut the server down: a clean shutdown sends all WAL to the standby first.
      const finalLsn = await receivedAfterShutdown(ctx, other(side));
      return {
        finalLsn,
        terminated: null,
        ms: Date.now() - started,
        ...(readState ? { state: null } : {}),
      };
    }
    done = await ctx.withClient(
      side,
      'reading the final LSN',
      (c) => finish(c, undefined),
      300_000,
    );
  } else if (ctx.opts.fence.method === 'role') {
    // Committed role settings apply to every later login: no reload to wait for.
    await setRoleFence(ctx, side);
    done = await ctx.withClient(
      side,
      'ending client sessions and reading the final LSN',
      (c) => finish(c, ctx.opts.fence.roles ?? []),
      300_000,
    );
  } else {
    await ctx.withClient(side, 'fencing writes (read-only)', async (c) => {
      await c.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await c.query('SELECT pg_reload_conf()');
    });
    // The reload is asynchronous: once a new session sees it, every later session is read-only.
    // That session, read-only itself, then ends the older ones and reads the final LSN.
    done = await ctx.poll(10_000, `${side} to apply default_transaction_read_only`, () =>
      ctx.withClient(
        side,
        'checking the fence, ending client sessions and reading the final LSN',
        async (c) =>
          (await c.query('SHOW default_transaction_read_only')).rows[0]
            .default_transaction_read_only === 'on'
            ? finish(c, undefined)
            : undefined,
        300_000,
      ),
    );
  }
  ctx.opts.log.info(
    { side, method: ctx.opts.fence.method, terminated: done.terminated, finalLsn: done.finalLsn },
    'postgres writes fenced',
  );
  return { ...done, ms: Date.now() - started };
}

/** On a session opened after the fence: end the sessions from before it (not for a command fence), then the final LSN. */
async function afterFence(
  ctx: PgContext,
  c: pg.Client,
  side: RegionRole,
  roles: readonly string[] | undefined,
  readState: boolean,
): Promise<{ terminated: number | null; finalLsn: string; state?: FencedState | null }> {
  const terminated =
    ctx.opts.fence.method === 'command' ? null : await endSessions(ctx, c, side, roles);
  try {
    await c.query('CHECKPOINT');
  } catch (err) {
    // Without CHECKPOINT rights the write position is still a correct, if slightly early, target.
    ctx.opts.log.warn(
      { err: (err as Error).message, side },
      'CHECKPOINT before reading the final LSN failed',
    );
  }
  const finalLsn = (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]
    .lsn as string;
  if (!readState) return { terminated, finalLsn };
  return { terminated, finalLsn, state: await fencedStateOn(ctx, c, side) };
}

/**
 * End every client session that predates the fence (with the role fence: those of its roles, and
 * the drill's write load standing in for them) and wait until each is gone, on every version: pg_terminate_backend(pid, timeout) on 14+ only returns false for a session that
 * outlives it, and a session still open could commit after the final LSN is read. Sessions
 * opened since are read-only by default and are not waited for (an application reconnecting
 * in a loop would otherwise hold the fence up forever).
 *
 * A role without superuser may not end a superuser's session (PostgreSQL raises "must be a
 * superuser to terminate superuser process"). Such a session, like a new one, takes the fence at
 * its next command (a backend reloads the configuration before running it): only a transaction it
 * began before the fence can still write, so that is what is waited for instead.
 */
async function endSessions(
  ctx: PgContext,
  c: pg.Client,
  side: RegionRole,
  roles?: readonly string[],
): Promise<number> {
  const timeoutMs = ctx.opts.sessionExitTimeoutMs ?? 15_000;
  {
    const { rows } = await c.query<Session & { ended: boolean | null; fencedAt: string }>(
      `SELECT a.pid, a.backend_start::text AS started, a.application_name AS app, a.usename AS "user",
              statement_timestamp()::text AS "fencedAt",
              CASE WHEN r.rolsuper AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   THEN NULL ELSE pg_terminate_backend(a.pid) END AS ended
         FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
        WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
          AND ($1::text[] IS NULL OR a.usename = ANY($1::text[]) OR a.application_name = $2)`,
      [roles ? [...roles] : null, DRILL_LOAD_APPLICATION],
    );
    const ended = rows.filter((r) => r.ended !== null);
    const kept = rows.filter((r) => r.ended === null);
    const fencedAt = rows[0]?.fencedAt ?? null;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const left = await sessionsLeft(c, ended, kept, fencedAt);
      if (left.ended.length + left.kept.length === 0) return ended.length;
      if (Date.now() > deadline) throw sessionsLeftError(ctx, side, left, timeoutMs);
      // An ended backend exits within milliseconds: look again soon, then back off.
      await sleep(backoffMs(attempt, 50, 2));
    }
  }
}

interface Session {
  pid: number;
  started: string;
  app: string;
  user: string;
}

/** Ended sessions still alive, and kept (superuser) ones still in a transaction from before the fence. */
async function sessionsLeft(
  c: pg.Client,
  ended: Session[],
  kept: Session[],
  fencedAt: string | null,
): Promise<{ ended: Session[]; kept: Session[] }> {
  const all = [...ended, ...kept];
  const alive = await c.query<Session & { before: boolean }>(
    `SELECT pid, backend_start::text AS started, application_name AS app, usename AS "user",
            coalesce(xact_start < $2::timestamptz, false) AS before
       FROM pg_stat_activity WHERE pid = ANY($1::int[])`,
    [all.map((r) => r.pid), fencedAt],
  );
  // A pid reused by a new (read-only) session is not the one we saw.
  const same = (list: Session[]) =>
    alive.rows.filter((a) => list.some((r) => r.pid === a.pid && r.started === a.started));
  return { ended: same(ended), kept: same(kept).filter((a) => a.before) };
}

function sessionsLeftError(
  ctx: PgContext,
  side: RegionRole,
  left: { ended: Session[]; kept: Session[] },
  timeoutMs: number,
): ProviderError {
  const names = (l: Session[]) => l.map((s) => `${s.pid}${s.app ? ` (${s.app})` : ''}`).join(', ');
  const secs = Math.round(timeoutMs / 1000);
  const problems: string[] = [];
  if (left.ended.length > 0)
    problems.push(
      `${left.ended.length} client session${left.ended.length === 1 ? '' : 's'} did not exit within ${secs} s of pg_terminate_backend (pid ${names(left.ended)})`,
    );
  if (left.kept.length > 0)
    problems.push(
      `${left.kept.length} superuser session${left.kept.length === 1 ? '' : 's'} the bot's role may not end kept a transaction from before the fence open for ${secs} s (pid ${names(left.kept)}; user ${[...new Set(left.kept.map((s) => s.user))].join(', ')})`,
    );
  return new ProviderError(
    NAME,
    `${ctx.where(side)}: ${problems.join('; ')}; one still open could commit after the final LSN is read, so nothing was promoted. ${side} stays fenced read-only (new sessions cannot write): end them (as a superuser: SELECT pg_terminate_backend(pid); on the host, check for a process stuck in I/O), then Retry.`,
    { code: 'timeout', retryable: true },
  );
}

async function receivedAfterShutdown(ctx: PgContext, standby: RegionRole): Promise<string> {
  return ctx.poll(
    ctx.opts.catchUpTimeoutSeconds * 1000,
    `${standby}'s WAL receiver to see the fenced server go away`,
    () =>
      ctx.withClient(standby, 'reading the received LSN', async (c) => {
        const streaming = (
          await c.query(`SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'`)
        ).rowCount;
        if (streaming) return undefined;
        return (
          ((await c.query('SELECT pg_last_wal_receive_lsn()::text AS lsn')).rows[0].lsn as
            string | null) ?? undefined
        );
      }),
  );
}

/**
 * Undo a fence we left on `side` earlier (a failback promotes the old, fenced primary), or that
 * replication copied to it (the role fence): the role settings, then a read-only ALTER SYSTEM.
 */
export async function unfence(ctx: PgContext, side: RegionRole): Promise<boolean> {
  const roles = ctx.opts.fence.method === 'role' && (await liftRoleFence(ctx, side));
  return (await unfenceSystem(ctx, side)) || roles;
}

async function unfenceSystem(ctx: PgContext, side: RegionRole): Promise<boolean> {
  return ctx.withClient(side, 'removing the read-only fence', async (c) => {
    const { rows } = await c.query(
      `SELECT setting, sourcefile FROM pg_settings WHERE name = 'default_transaction_read_only'`,
    );
    const fenced =
      rows[0]?.setting === 'on' &&
      String(rows[0]?.sourcefile ?? '').endsWith('postgresql.auto.conf');
    if (!fenced) return false;
    await c.query('ALTER SYSTEM RESET default_transaction_read_only');
    await c.query('SELECT pg_reload_conf()');
    return true;
  });
}

/** The fenced side's timeline, next transaction id and end of WAL, for the fence record; null when unreadable (a fence command that stopped it) or not fenced. */
async function readFencedState(ctx: PgContext, side: RegionRole): Promise<FencedState | null> {
  try {
    return await ctx.withClient(side, 'reading the fenced state', (c) =>
      fencedStateOn(ctx, c, side),
    );
  } catch (err) {
    ctx.opts.log.warn(
      { err: (err as Error).message, side },
      'reading the fenced side for the fence record failed',
    );
    return null;
  }
}

/** readFencedState on an open session; null (and a warning) when it cannot be read. */
async function fencedStateOn(
  ctx: PgContext,
  c: pg.Client,
  side: RegionRole,
): Promise<FencedState | null> {
  try {
    const { rows } = await c.query(
      `SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, pg_current_wal_insert_lsn()::text AS lsn,
              ${fencedSql(ctx.opts.fence)} AS fenced`,
    );
    if (rows[0].fenced !== true) return null;
    return {
      timeline: await writerTimeline(c),
      nextXid: rows[0].xid as string,
      endLsn: rows[0].lsn as string,
    };
  } catch (err) {
    ctx.opts.log.warn(
      { err: (err as Error).message, side },
      'reading the fenced side for the fence record failed',
    );
    return null;
  }
}

interface FencedState {
  timeline: number;
  nextXid: string;
  /** pg_current_wal_insert_lsn: nothing of it is written past this. */
  endLsn: string;
}

/**
 * Keep the fence read before a promotion, so a re-check that finds the promotion done (its reply
 * lost, or the bot restarted) can still leave the fence record (keepFoundFence).
 */
export function keepFenceTaken(
  ctx: PgContext,
  fenced: RegionRole,
  finalLsn: string,
  state: FencedState,
): void {
  const taken = { finalLsn, timeline: state.timeline, nextXid: state.nextXid, at: now() };
  ctx.keep('the PostgreSQL fence taken', () =>
    ctx.servers.rememberFenceTaken(ctx.serverName(fenced), taken),
  );
}

const now = () => new Date().toISOString();

/**
 * Keep the fence of a planned failover for `fenced`'s server: its final LSN and the split the
 * promotion of `promoted` made (read from its timeline history), so a failback can tell WAL
 * written after the split under this fence (background records) from lost commits. A failure
 * only loses that note: the failback then warns as without the record.
 */
export async function recordFence(
  ctx: PgContext,
  fenced: RegionRole,
  promoted: RegionRole,
  finalLsn: string,
  state: { timeline: number; nextXid: string } | null,
): Promise<void> {
  if (state)
    await keepRecord(ctx, fenced, promoted, {
      finalLsn,
      timeline: state.timeline,
      nextXid: state.nextXid,
      at: now(),
    });
}

/** recordFence's work; returns why no record was kept, or null when it was. */
async function keepRecord(
  ctx: PgContext,
  fenced: RegionRole,
  promoted: RegionRole,
  fence: FenceTaken,
): Promise<string | null> {
  try {
    const splitLsn = await ctx.withClient(promoted, 'reading the timeline history', async (c) =>
      switchpointFrom(await timelineHistory(c, await writerTimeline(c)), fence.timeline),
    );
    if (!splitLsn || lsnDiff(splitLsn, fence.finalLsn) < 0) {
      ctx.opts.log.warn(
        { fenced, finalLsn: fence.finalLsn, splitLsn },
        'the promoted timeline does not fork at or after the final LSN: no fence record',
      );
      return `${promoted}'s timeline does not fork from ${fenced}'s timeline ${fence.timeline} at or after ${fence.finalLsn} (${splitLsn ? `it forks at ${splitLsn}` : 'no fork found'})`;
    }
    const record: FenceRecord = { ...fence, splitLsn };
    ctx.keep('the PostgreSQL fence record', () =>
      ctx.servers.rememberFence(ctx.serverName(fenced), record),
    );
    return null;
  } catch (err) {
    ctx.opts.log.warn(
      { err: (err as Error).message, fenced },
      'reading the split for the fence record failed',
    );
    return `reading ${promoted}'s timeline history failed (${(err as Error).message})`;
  }
}

/**
 * `promoted` found promoted already by a re-check (a lost reply, a restarted bot): keep the fence
 * record the promotion would have left on the other side, from the fence kept before it, else from
 * that side now when it is fenced and wrote nothing past the split (then nothing of it is lost, and
 * its next transaction id tells the failback whether anything took one since). Returns the line
 * for the step's evidence.
 */
export async function keepFoundFence(ctx: PgContext, promoted: RegionRole): Promise<string> {
  const fenced = other(promoted);
  const server = ctx.serverName(fenced);
  const recall = <T>(what: Promise<T | null>) => what.catch(() => null);
  const [taken, kept] = await Promise.all([
    recall(ctx.servers.recallFenceTaken(server)),
    recall(ctx.servers.recallFence(server)),
  ]);
  if (taken && kept && kept.finalLsn === taken.finalLsn && kept.nextXid === taken.nextXid)
    return `the fence record of ${fenced} (final LSN ${kept.finalLsn}) was kept by the promotion`;
  const current = taken ? null : await readFencedState(ctx, fenced);
  const fence = taken ?? (current && { ...current, finalLsn: current.endLsn, at: now() });
  const why = fence
    ? await keepRecord(ctx, fenced, promoted, {
        finalLsn: fence.finalLsn,
        timeline: fence.timeline,
        nextXid: fence.nextXid,
        at: fence.at,
      })
    : `no fence taken before the promotion is kept, and ${ctx.where(fenced)} is not readable as fenced`;
  return why
    ? `no fence record kept for ${fenced}: ${why}; a failback counts its WAL after the split as a possible loss`
    : `fence record kept for ${fenced}: fenced at ${fence!.finalLsn} (${taken ? 'read before the promotion' : 'its end of WAL now'})`;
}
