/**
 * The consistency check before a failback promotes: both sides in one cluster, the standby
 * replayed the writer's WAL, and every configured table compared chunk by chunk while the writer
 * keeps serving (chunks.ts: how a table is cut and digested; table-check.ts: how chunks are
 * compared at one point of the WAL, within the time budget).
 */
import type { ConsistencyScope } from '../../domain/consistency.js';
import { countsText, rangesText, verdictLabel, verdictOf } from '../../domain/consistency.js';
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import type { ConsistencyResult, Progress } from '../types.js';
import { planTable, type TablePlan } from './chunks.js';
import {
  consistencySettings,
  other,
  type PgConsistencyOptions,
  type PgContext,
  type Reachable,
} from './context.js';
import { waitForReplay } from './promote.js';
import { inspectReachable, writePosition } from './state.js';
import { compareTables } from './table-check.js';

/**
 * Same data on both sides: same cluster, the standby replayed the writer's WAL, and each
 * configured table's chunks equal, with what was proven per table (equal, different with key
 * ranges, changing, sampled) in the result's scopes.
 */
export async function consistency(
  ctx: PgContext,
  { writer, progress }: { writer: RegionRole; progress: Progress },
): Promise<ConsistencyResult> {
  const settings = consistencySettings(ctx.opts);
  const deadline = Date.now() + settings.timeBudgetSeconds * 1000;
  const standby = other(writer);
  const [w, s] = await Promise.all([inspectReachable(ctx, writer), inspectReachable(ctx, standby)]);
  const checks: CheckResult[] = [
    {
      name: 'postgres same cluster',
      kind: 'database',
      ok: w.systemId === s.systemId,
      detail: `system identifiers ${w.systemId} / ${s.systemId}`,
    },
  ];
  const wrongRole = roleCheck(writer, w, s);
  if (wrongRole) return { checks: [...checks, wrongRole], scopes: [] };
  const lsn = await writePosition(ctx, writer);
  const { check, replayed } = await replayCheck(ctx, writer, s, lsn, progress);
  checks.push(check);
  if (!replayed) {
    // Chunks are compared at points the standby replays: a standby that does not replay has none.
    const why = `not compared: ${standby} has not replayed ${writer}'s WAL (see above)`;
    for (const table of ctx.opts.consistencyTables)
      checks.push({ name: `postgres table ${table}`, kind: 'database', ok: false, detail: why });
    return { checks, scopes: [] };
  }
  const scopes = await tableScopes(ctx, writer, settings, deadline, progress);
  checks.push(...scopes.map((scope) => tableCheck(scope, settings)));
  return { checks, scopes };
}

/** Plan each table on the writer (a missing table is an error scope), then compare the chunks. */
async function tableScopes(
  ctx: PgContext,
  writer: RegionRole,
  settings: PgConsistencyOptions,
  deadline: number,
  progress: Progress,
): Promise<ConsistencyScope[]> {
  const tables = ctx.opts.consistencyTables;
  const planned = await ctx.withClient(writer, 'planning the table chunks', async (c) => {
    const version = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num);
    const out: (TablePlan | { table: string; error: string })[] = [];
    for (const table of tables)
      out.push(
        await planTable(c, table, version, settings).catch((err: Error) => ({
          table,
          error: err.message,
        })),
      );
    return out;
  });
  const plans = planned.filter((p): p is TablePlan => 'chunks' in p);
  let compared: ConsistencyScope[] = [];
  if (plans.length) {
    const chunks = plans.reduce((n, p) => n + p.chunks.length, 0);
    progress(
      `comparing ${chunks} chunks of ${plans.length} table(s), ${settings.concurrency} queries at a time per side`,
    );
    compared = await compareTables(ctx, { writer, plans, settings, deadline, progress });
  }
  return planned.map(
    (p) =>
      compared.find((c) => c.name === p.table) ?? {
        component: 'database',
        name: p.table,
        method: 'not planned',
        unit: 'chunk',
        total: 0,
        equal: 0,
        different: 0,
        changing: 0,
        sampled: false,
        rowsEqual: 0,
        differences: [],
        changingRanges: [],
        error: `not compared: ${'error' in p ? p.error : 'unknown'}`,
      },
  );
}

/**
 * A table's check: fails on a difference or an error; a table not wholly proven (sampled,
 * changing) fails too when `unproven` is `pause`, so a person reads the table before the switch.
 */
function tableCheck(scope: ConsistencyScope, settings: PgConsistencyOptions): CheckResult {
  const verdict = verdictOf(scope);
  const unproven = verdict === 'sampled' || verdict === 'changing';
  const ok = verdict === 'consistent' || (unproven && settings.unproven === 'continue');
  const ranges = rangesText(scope);
  const advice =
    unproven && !ok
      ? '; not proven: Retry to compare again, or Skip to switch back on this evidence'
      : '';
  return {
    name: `postgres table ${scope.name}`,
    kind: 'database',
    ok,
    detail: `${verdictLabel(scope)}: ${countsText(scope)}${ranges ? ` — ${ranges}` : ''}${advice}`,
  };
}

/** A failed check when `writer` is not the writer or the other side is not a standby. */
function roleCheck(writer: RegionRole, w: Reachable, s: Reachable): CheckResult | null {
  const standby = other(writer);
  if (!w.currentLsn) {
    return {
      name: `postgres ${writer} is the writer`,
      kind: 'database',
      ok: false,
      detail: `${writer} is in recovery`,
    };
  }
  if (!s.inRecovery) {
    return {
      name: `postgres ${standby} is a standby`,
      kind: 'database',
      ok: false,
      detail: `${standby} is not in recovery: it is not replicating from ${writer}`,
    };
  }
  return null;
}

/** Has the standby replayed the writer's WAL up to `lsn`? */
async function replayCheck(
  ctx: PgContext,
  writer: RegionRole,
  s: Reachable,
  lsn: string,
  progress: Progress,
): Promise<{ check: CheckResult; replayed: boolean }> {
  const standby = other(writer);
  const name = `postgres ${standby} replayed ${writer}'s WAL`;
  if (s.replayPaused) {
    // Paused replay never catches up by itself: say so now instead of waiting for the timeout.
    return {
      check: {
        name,
        kind: 'database',
        ok: false,
        detail: `WAL replay is paused on ${standby} (replayed ${s.replayLsn ?? 'nothing'}, ${writer} at ${lsn}): resume it with SELECT pg_wal_replay_resume() and retry`,
      },
      replayed: false,
    };
  }
  try {
    const r = await waitForReplay(ctx, standby, lsn, progress);
    return {
      check: {
        name,
        kind: 'database',
        ok: true,
        detail: `LSNs equal: ${standby} replayed ${r.replayLsn}, ${writer} at ${lsn}`,
        durationMs: r.ms,
      },
      replayed: true,
    };
  } catch (err) {
    // waitForReplay's own text is about a fenced failover; here nothing was fenced.
    const detail =
      err instanceof DrError && err.code === 'timeout'
        ? `${standby} did not replay ${writer}'s WAL up to ${lsn} within ${ctx.opts.catchUpTimeoutSeconds} s: check its replication (pg_stat_wal_receiver on ${standby}), then Retry`
        : (err as Error).message;
    return { check: { name, kind: 'database', ok: false, detail }, replayed: false };
  }
}
