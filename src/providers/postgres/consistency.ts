/**
 * The consistency check before a failback promotes: both sides in one cluster, the standby
 * replayed the writer's WAL, and every configured table has the same row count and checksum.
 */
import type pg from 'pg';
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import type { Progress } from '../types.js';
import { other, quoteIdent, type PgContext, type Reachable } from './context.js';
import { waitForReplay } from './promote.js';
import { inspectReachable, writePosition } from './state.js';

/** A table's row count and checksum on one side. */
type TableSum = { n: string; sum: string };

/**
 * Both sides hold the same data: same cluster, the standby replayed the writer's WAL (LSNs equal),
 * and each configured table has the same row count and checksum. The writer is read first and
 * the standby after it caught up with the LSN read after that, so writes still arriving on the
 * writer cannot make a consistent pair look different.
 */
export async function consistency(
  ctx: PgContext,
  { writer, progress }: { writer: RegionRole; progress: Progress },
): Promise<CheckResult[]> {
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
  if (wrongRole) {
    checks.push(wrongRole);
    return checks;
  }
  const sums = await writerSums(ctx, writer);
  const lsn = await writePosition(ctx, writer);
  const { check, replayed } = await replayCheck(ctx, writer, s, lsn, progress);
  checks.push(check);
  checks.push(...(await tableChecks(ctx, writer, sums, replayed, progress)));
  return checks;
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

/** Each configured table's sum on the writer, or why it could not be read. */
async function writerSums(
  ctx: PgContext,
  writer: RegionRole,
): Promise<Map<string, TableSum | Error>> {
  const sums = new Map<string, TableSum | Error>();
  for (const table of ctx.opts.consistencyTables) {
    sums.set(
      table,
      await ctx
        .withClient(writer, `checksumming ${table}`, (c) => tableSum(c, table))
        .catch((err: Error) => err),
    );
  }
  return sums;
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

/** One check per configured table: the writer's sum against the standby's. */
async function tableChecks(
  ctx: PgContext,
  writer: RegionRole,
  sums: Map<string, TableSum | Error>,
  replayed: boolean,
  progress: Progress,
): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  for (const [table, a] of sums) {
    const check = { name: `postgres table ${table}`, kind: 'database' as const };
    if (a instanceof Error) {
      checks.push({ ...check, ok: false, detail: a.message });
      continue;
    }
    try {
      checks.push({
        ...check,
        ...(await compareTable(ctx, writer, table, a, replayed, progress)),
      });
    } catch (err) {
      checks.push({ ...check, ok: false, detail: (err as Error).message });
    }
  }
  return checks;
}

/**
 * `first` was read on the writer before the standby caught up. A mismatch only counts when the
 * writer still shows `first` afterwards; a table written meanwhile is compared again (the
 * writer keeps serving until promote-primary fences it).
 */
async function compareTable(
  ctx: PgContext,
  writer: RegionRole,
  table: string,
  first: TableSum,
  replayed: boolean,
  progress: Progress,
): Promise<{ ok: boolean; detail: string }> {
  const standby = other(writer);
  const describe = (a: TableSum, b: TableSum, ok: boolean, note = '') =>
    `${writer}: ${a.n} rows, ${standby}: ${b.n} rows${ok ? ', checksums match' : a.n === b.n ? ', checksums differ' : ''}${note}`;
  let a = first;
  for (let attempt = 1; ; attempt++) {
    const b = await ctx.withClient(standby, `checksumming ${table}`, (c) => tableSum(c, table));
    if (a.n === b.n && a.sum === b.sum) return { ok: true, detail: describe(a, b, true) };
    if (!replayed)
      return {
        ok: false,
        detail: describe(a, b, false, ` (${standby} has not replayed ${writer}'s WAL)`),
      };
    const now = await ctx.withClient(writer, `checksumming ${table}`, (c) => tableSum(c, table));
    if (now.n === a.n && now.sum === a.sum) return { ok: false, detail: describe(a, b, false) };
    if (attempt === 3)
      return {
        ok: false,
        detail: `${describe(now, b, false)}: ${table} kept changing on ${writer} during ${attempt} comparisons; compare it when its writes pause, or Skip`,
      };
    progress(`${table} changed on ${writer} during the comparison: comparing again`);
    a = now;
    const lsn = await writePosition(ctx, writer);
    await waitForReplay(ctx, standby, lsn, progress);
  }
}

/** Row count and an md5 over every row in a fixed order: equal on both sides only when the rows are. */
async function tableSum(c: pg.Client, table: string): Promise<TableSum> {
  const { rows } = await c.query(
    `SELECT count(*)::text AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS sum FROM ${quoteIdent(table)} t`,
  );
  return { n: rows[0].n as string, sum: rows[0].sum as string };
}
