/**
 * Failback analysis of an old PostgreSQL primary (the "stale" side) against the current writer:
 * where their histories split, how much the stale side wrote after that (never replicated, so
 * discarded by a rewind), and whether pg_rewind can work or a full pg_basebackup is needed.
 * Read-only: it runs before approval, so people see the loss and the method first.
 */
import type pg from 'pg';
import { formatBytes } from '../bytes.js';
import type { FenceRecord } from './memory.js';
import { lsnDiff, lsnToNumber } from './lsn.js';

export type ResyncMethod = 'rewind' | 'rebuild';

export interface Divergence {
  /** Timeline of the stale side, and of the writer (promoted from it). */
  staleTimeline: number;
  writerTimeline: number;
  /** Where the writer's timeline left the stale side's (from the writer's timeline history). */
  divergenceLsn: string;
  /** The stale side's end of WAL. */
  staleEndLsn: string;
  /** WAL the stale side wrote after the divergence point: never replicated. */
  lostBytes: number;
  /** Committed transactions in that WAL; null when they cannot be counted (no pg_walinspect). */
  lostTransactions: number | null;
  /**
   * Whether the resync can discard committed transactions: some were counted, or WAL was written
   * that cannot be counted. Only a count of 0 (pg_walinspect) proves it loses nothing the
   * application wrote: a fence read-only now does not say when it came. After a planned failover it
   * came before the split (background records only), but an old primary of an unplanned failover,
   * fenced when it came back, still holds the commits that never replicated. The one exception is
   * `fencedBeforeSplit`.
   */
  losesCommitted: boolean;
  /**
   * The bot's record of its planned-failover fence of this server matches this split (same
   * timeline and fork LSN, final LSN at or before the fork), the server is still fenced and has
   * taken no transaction id since: its uncounted WAL after the split is background records. Null otherwise.
   */
  fencedBeforeSplit: FenceRecord | null;
  method: ResyncMethod;
  /** The last checkpoint record before the split, where pg_rewind starts reading; null when not located. */
  rewindCheckpointLsn: string | null;
  /** Rewind planned without locating that checkpoint: why a rebuild may still follow; null otherwise. */
  caveat: string | null;
  /** Why rebuild (missing WAL, no wal_log_hints/checksums); empty for rewind. */
  reasons: string[];
  /** One line for the approval card. */
  description: string;
}

/** The writer's timeline from its WAL file name: the first 8 hex digits. */
export async function writerTimeline(c: pg.Client): Promise<number> {
  const { rows } = await c.query(`SELECT pg_walfile_name(pg_current_wal_lsn()) AS f`);
  return parseInt(String(rows[0].f).slice(0, 8), 16);
}

/** Timeline history lines "parentTLI<TAB>switchpoint<TAB>reason" of `timeline` (superuser: pg_read_file). */
export async function timelineHistory(
  c: pg.Client,
  timeline: number,
): Promise<{ parent: number; switchpoint: string }[]> {
  if (timeline <= 1) return [];
  const name = `pg_wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
  const { rows } = await c.query('SELECT pg_read_file($1) AS text', [name]);
  return String(rows[0].text)
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 2 && /^\d+$/.test(f[0]))
    .map((f) => ({ parent: Number(f[0]), switchpoint: f[1] }));
}

/**
 * The point where `writer`'s history left `staleTimeline`, or null when the writer was not
 * promoted from it (another cluster, or two writers on one timeline: not a failback situation).
 */
export function switchpointFrom(
  history: { parent: number; switchpoint: string }[],
  staleTimeline: number,
): string | null {
  return history.find((h) => h.parent === staleTimeline)?.switchpoint ?? null;
}

interface StaleFacts {
  endLsn: string;
  rewindable: boolean;
  segmentSize: number;
  /** Segment numbers of the stale timeline still in its pg_wal. */
  segments: Set<number>;
  /** The latest checkpoint record in pg_control. */
  latestCheckpointLsn: string | null;
  walinspect: boolean;
  /** Fenced the configured way (read-only or its roles), as a planned failover leaves the old primary. */
  fenced: boolean;
  /** The next transaction id (pg_snapshot_xmax of pg_current_snapshot): unchanged while nothing writes. */
  nextXid: string | null;
}

async function staleFacts(c: pg.Client, timeline: number, fenced: string): Promise<StaleFacts> {
  const { rows } = await c.query(`
    SELECT pg_current_wal_flush_lsn()::text AS end_lsn,
           current_setting('wal_log_hints') = 'on' OR current_setting('data_checksums') = 'on' AS rewindable,
           current_setting('wal_segment_size') AS seg,
           (SELECT checkpoint_lsn::text FROM pg_control_checkpoint()) AS checkpoint,
           EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_walinspect') AS walinspect,
           ${fenced} AS fenced,
           pg_snapshot_xmax(pg_current_snapshot())::text AS next_xid`);
  const r = rows[0];
  const segmentSize = parseSize(String(r.seg));
  const prefix = timeline.toString(16).toUpperCase().padStart(8, '0');
  const wal = await c.query(
    `SELECT name FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$' AND left(name, 8) = $1`,
    [prefix],
  );
  return {
    endLsn: r.end_lsn as string,
    rewindable: r.rewindable === true,
    segmentSize,
    segments: new Set(wal.rows.map((w) => segmentNumber(String(w.name), segmentSize))),
    latestCheckpointLsn: (r.checkpoint as string | null) ?? null,
    walinspect: r.walinspect === true,
    fenced: r.fenced === true,
    nextXid: (r.next_xid as string | null) ?? null,
  };
}

/** "16MB" / "16777216" → bytes (the setting's unit depends on the server version). */
function parseSize(text: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)?$/.exec(text.trim());
  if (!m) return 16 * 1024 * 1024;
  const unit = { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'kB' | 'MB' | 'GB'] ?? 1;
  return Number(m[1]) * unit;
}

/** WAL file TTTTTTTTXXXXXXXXYYYYYYYY → segment number (log * segments-per-log + seg). */
function segmentNumber(name: string, segmentSize: number): number {
  const perLog = 2 ** 32 / segmentSize;
  return parseInt(name.slice(8, 16), 16) * perLog + parseInt(name.slice(16, 24), 16);
}

const lsnText = (n: number): string =>
  `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;

async function countCommits(c: pg.Client, from: string, to: string): Promise<number | null> {
  if (lsnDiff(to, from) <= 0) return 0;
  try {
    const { rows } = await c.query(
      `SELECT count(*)::int AS n FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
        WHERE resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%'`,
      [from, to],
    );
    return rows[0].n as number;
  } catch {
    // A record still being written at `to`, or no rights: the byte count still stands.
    return null;
  }
}

/** Where pg_rewind starts reading, or why that is unknown or unreadable. */
type RewindStart =
  | { kind: 'found'; checkpointLsn: string }
  | { kind: 'missing'; what: string }
  | { kind: 'unknown'; why: string };

/**
 * pg_rewind finds the last checkpoint record before the divergence point by walking the stale
 * side's WAL back from that point, then reads its WAL forward from that record: every segment from
 * the one holding it to the end must still be in pg_wal. With pg_walinspect, walk back one segment
 * at a time (usually one or two: checkpoints come every checkpoint_timeout) until a checkpoint
 * record turns up or a segment is gone.
 */
async function rewindStart(
  c: pg.Client,
  f: StaleFacts,
  divergenceLsn: string,
): Promise<RewindStart> {
  const divergence = lsnToNumber(divergenceLsn);
  const divergenceSegment = Math.floor(divergence / f.segmentSize);
  // The latest checkpoint before the split is necessarily the last one before it: exact without WAL reading.
  if (f.latestCheckpointLsn && lsnDiff(divergenceLsn, f.latestCheckpointLsn) > 0) {
    const segment = Math.floor(lsnToNumber(f.latestCheckpointLsn) / f.segmentSize);
    return f.segments.has(segment)
      ? { kind: 'found', checkpointLsn: f.latestCheckpointLsn }
      : {
          kind: 'missing',
          what: `its WAL from the last checkpoint before the split (${f.latestCheckpointLsn})`,
        };
  }
  if (!f.segments.has(divergenceSegment))
    return { kind: 'missing', what: `its WAL at the split (${divergenceLsn})` };
  if (!f.walinspect) {
    return {
      kind: 'unknown',
      why: 'its latest checkpoint is after the split (a restart since?) and without pg_walinspect the checkpoint before the split cannot be located',
    };
  }
  try {
    for (let segment = divergenceSegment; ; segment--) {
      const gone = `its WAL back to the last checkpoint before the split (there is none from ${lsnText((segment + 1) * f.segmentSize)} to the split at ${divergenceLsn}, and older segments are gone)`;
      if (!f.segments.has(segment)) return { kind: 'missing', what: gone };
      const from = segment * f.segmentSize;
      const to = Math.min((segment + 1) * f.segmentSize, divergence);
      if (to > from) {
        const { rows } = await c.query(
          `SELECT start_lsn::text AS lsn FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
            WHERE resource_manager = 'XLOG' AND record_type IN ('CHECKPOINT_ONLINE', 'CHECKPOINT_SHUTDOWN')
            ORDER BY start_lsn DESC LIMIT 1`,
          [lsnText(from), lsnText(to)],
        );
        if (rows[0]) return { kind: 'found', checkpointLsn: rows[0].lsn as string };
      }
      if (segment === 0)
        return { kind: 'missing', what: `a checkpoint before the split at ${divergenceLsn}` };
    }
  } catch (err) {
    return {
      kind: 'unknown',
      why: `reading its WAL with pg_walinspect failed (${(err as Error).message})`,
    };
  }
}

/**
 * Analyse `stale` (a writer on an older timeline) against the writer whose history left it at
 * `divergenceLsn`: what it wrote after the split, and whether pg_rewind can work (hint bits logged,
 * and its own WAL from the last checkpoint before the split still in pg_wal) or only a rebuild can.
 * When that checkpoint cannot be located, it says rewind and that a rebuild may follow.
 */
export async function analyseStale(
  c: pg.Client,
  opts: {
    staleTimeline: number;
    writerTimeline: number;
    divergenceLsn: string;
    fence?: FenceRecord | null;
    /** The SQL test of the configured fence (role-fence.ts fencedSql). */
    fencedSql: string;
  },
): Promise<Divergence> {
  const f = await staleFacts(c, opts.staleTimeline, opts.fencedSql);
  const fencedBeforeSplit =
    opts.fence && fenceProvesNoCommit(opts.fence, f, opts) ? opts.fence : null;
  const lostBytes = Math.max(0, lsnDiff(f.endLsn, opts.divergenceLsn));
  const lostTransactions = f.walinspect
    ? await countCommits(c, opts.divergenceLsn, f.endLsn)
    : null;
  const reasons: string[] = [];
  if (!f.rewindable)
    reasons.push('wal_log_hints is off and data checksums are disabled, so pg_rewind refuses');
  const start = await rewindStart(c, f, opts.divergenceLsn);
  if (start.kind === 'missing')
    reasons.push(`pg_rewind needs ${start.what}, which is no longer in its pg_wal`);
  const method: ResyncMethod = reasons.length ? 'rebuild' : 'rewind';
  const caveat =
    method === 'rewind' && start.kind === 'unknown'
      ? `may fall back to a rebuild: ${start.why}`
      : null;
  const discards = method === 'rewind' ? 'pg_rewind discards it' : 'the rebuild discards it';
  const wrote = `it wrote ${formatBytes(lostBytes)} of WAL after the split`;
  const losesCommitted =
    lostBytes > 0 && lostTransactions !== 0 && !(lostTransactions === null && fencedBeforeSplit);
  const loss =
    lostBytes === 0
      ? 'it wrote nothing after the split: no data is lost'
      : lostTransactions === 0
        ? `${wrote}, none of it a committed transaction (counted with pg_walinspect): no committed transaction is lost; ${discards}`
        : lostTransactions !== null
          ? `${wrote} (${lostTransactions} committed transaction${lostTransactions === 1 ? '' : 's'}) that never reached the current primary: ${discards}`
          : fencedBeforeSplit
            ? `${wrote} (committed transactions not counted: no pg_walinspect); it was fenced at LSN ${fencedBeforeSplit.finalLsn} before the split (planned failover at ${fencedBeforeSplit.at}), is still fenced and has taken no transaction id since: the ${formatBytes(lostBytes)} after the split are background records, no committed transaction is lost; ${discards}`
            : f.fenced
              ? `${wrote} (committed transactions not counted: install pg_walinspect to count them); it is fenced read-only: after a planned failover (fenced before the split) that is background records such as checkpoints, but after an unplanned one it holds the commits that never replicated; ${discards}`
              : `${wrote} (committed transactions not counted: install pg_walinspect to count them) that never reached the current primary: ${discards}`;
  const plan =
    method === 'rebuild'
      ? `rebuild (pg_basebackup): ${reasons.join('; ')}`
      : `rewind (pg_rewind)${start.kind === 'found' ? `, reading its WAL from the checkpoint at ${start.checkpointLsn}` : ''}${caveat ? `; ${caveat}` : ''}`;
  return {
    staleTimeline: opts.staleTimeline,
    writerTimeline: opts.writerTimeline,
    divergenceLsn: opts.divergenceLsn,
    staleEndLsn: f.endLsn,
    lostBytes,
    lostTransactions,
    losesCommitted,
    fencedBeforeSplit,
    method,
    rewindCheckpointLsn: start.kind === 'found' ? start.checkpointLsn : null,
    caveat,
    reasons,
    description: `timeline ${opts.staleTimeline} left at ${opts.divergenceLsn} for timeline ${opts.writerTimeline}; ${loss}; will ${plan}`,
  };
}

/**
 * Proof that a fence recorded by a planned failover covers all the WAL after this split: it is the
 * fence of this split (the fenced timeline and the fork the promotion made, its final LSN at or
 * before that fork: the standby replayed it before promotion), the server is fenced now, and its
 * next transaction id is the one read once it was fenced, so no transaction wrote anything since
 * (a fence lifted and set again in between would have let one take an id). Anything short of
 * that, including a fence set by hand after an unplanned failover, proves nothing.
 */
function fenceProvesNoCommit(
  fence: FenceRecord,
  f: StaleFacts,
  split: { staleTimeline: number; divergenceLsn: string },
): boolean {
  return (
    f.fenced &&
    fence.timeline === split.staleTimeline &&
    fence.splitLsn === split.divergenceLsn &&
    lsnDiff(split.divergenceLsn, fence.finalLsn) >= 0 &&
    f.nextXid !== null &&
    fence.nextXid === f.nextXid
  );
}
