/**
 * What the failback's consistency check proved, per PostgreSQL table and per Redis keyspace, and
 * the plain-text wording every adapter shows it with (status card, thread, console, drill report).
 *
 * The words are chosen so that nothing is claimed that was not compared: a scope is called
 * "consistent" only when every part of it was compared and found equal. A partial check says
 * "sampled N %", parts written during every comparison say "changing", and parts that differ are
 * named by their key range so a person can look at them.
 */

/** One table (PostgreSQL) or keyspace (Redis) as the check saw it. Plain JSON: it is persisted. */
export interface ConsistencyScope {
  component: 'database' | 'cache';
  /** The table as configured, or `db0` for a Redis keyspace. */
  name: string;
  /** How it was compared, for the curious: "sum(hash_record_extended) over block ranges (PostgreSQL 15)". */
  method: string;
  /** What `total`, `equal`, ... count: chunks of a table, keys of a keyspace. */
  unit: 'chunk' | 'key';
  /** Units in the scope: the chunks the table was cut into, the keys on the writer (DBSIZE). */
  total: number;
  equal: number;
  different: number;
  /** Written on the writer during every comparison (a bounded number): neither equal nor different. */
  changing: number;
  /**
   * Part of it was chosen at random instead of compared in full: a Redis keyspace larger than the
   * sample, or a table whose check ran out of time budget (the rest then sampled).
   */
  sampled: boolean;
  /** Rows (PostgreSQL) or keys (Redis) in the units found equal: what the check proves. */
  rowsEqual: number;
  /** Where the differences are (key ranges, key names), the first few. */
  differences: string[];
  /** Where the changing units are, the first few. */
  changingRanges: string[];
  /** The scope could not be checked at all (missing table, connection lost): why. */
  error?: string;
}

type ConsistencyVerdict = 'consistent' | 'different' | 'changing' | 'sampled' | 'error';

/** Units that were compared (equal, different or changing), as a share of all units. */
function comparedPercent(s: ConsistencyScope): number {
  if (s.total === 0) return 100;
  return (100 * (s.equal + s.different + s.changing)) / s.total;
}

/** The worst thing that is true of the scope: an error, a difference, a partial check, changes. */
export function verdictOf(s: ConsistencyScope): ConsistencyVerdict {
  if (s.error !== undefined) return 'error';
  if (s.different > 0) return 'different';
  if (s.sampled || s.equal + s.changing < s.total) return 'sampled';
  if (s.changing > 0) return 'changing';
  return 'consistent';
}

/** "12.3 %", "0.05 %", "100 %": enough digits that a small sample does not read as 0 %. */
function formatPercent(p: number): string {
  if (p >= 99.95 && p < 100) return '99.9 %';
  if (p >= 10 || p === 0) return `${Math.round(p * 10) / 10} %`;
  return `${Number(p.toPrecision(2))} %`;
}

function plural(n: number, unit: string): string {
  return `${n.toLocaleString('en-US')} ${unit}${n === 1 ? '' : 's'}`;
}

/** The verdict as the card's first word for the scope. */
export function verdictLabel(s: ConsistencyScope): string {
  switch (verdictOf(s)) {
    case 'consistent':
      return 'consistent';
    case 'different':
      return 'DIFFERENT';
    case 'changing':
      return 'changing';
    case 'sampled':
      return `sampled ${formatPercent(comparedPercent(s))}`;
    case 'error':
      return 'NOT CHECKED';
  }
}

/** The counts behind the verdict: "298/300 chunks equal (29.8 M rows), 1 changing, 1 not compared". */
export function countsText(s: ConsistencyScope): string {
  if (s.error !== undefined) return s.error;
  const rows = s.unit === 'chunk' ? `, ${plural(s.rowsEqual, 'row')}` : '';
  const compared = s.equal + s.different + s.changing;
  const parts = [`${s.equal.toLocaleString('en-US')}/${plural(s.total, s.unit)} equal${rows}`];
  if (s.different > 0) parts.push(`${s.different.toLocaleString('en-US')} different`);
  if (s.changing > 0) parts.push(`${s.changing.toLocaleString('en-US')} changing`);
  if (compared < s.total)
    parts.push(`${(s.total - compared).toLocaleString('en-US')} not compared`);
  return parts.join(', ');
}

/** The ranges a person should look at: differences first, then the changing ones. */
export function rangesText(s: ConsistencyScope, max = 3): string {
  const list = (label: string, all: string[], count: number): string | null => {
    if (count === 0 || all.length === 0) return null;
    const shown = all.slice(0, max).join('; ');
    return `${label}: ${shown}${count > Math.min(max, all.length) ? ` (+${count - Math.min(max, all.length)} more)` : ''}`;
  };
  return [
    list('different', s.differences, s.different),
    list('changing', s.changingRanges, s.changing),
  ]
    .filter((x): x is string => x !== null)
    .join(' · ');
}

/** Columns of the consistency table: where, verdict, counts, the ranges to look at. */
const COLUMNS = ['scope', 'result', 'compared', 'look at'];

/** The table's rows as cells (Markdown renders them as a table). */
export function consistencyRows(scopes: readonly ConsistencyScope[]): string[][] {
  if (scopes.length === 0) return [];
  return [
    COLUMNS,
    ...scopes.map((s) => [
      `${s.component === 'database' ? 'postgres' : 'redis'} ${s.name}`,
      verdictLabel(s),
      countsText(s),
      rangesText(s, 2),
    ]),
  ];
}

/**
 * The table in fixed-width columns (Slack code block, terminal). The ranges to look at go on an
 * indented line under their row, clipped to `width`, so a long key range is never cut off a row.
 */
export function consistencyTable(scopes: readonly ConsistencyScope[], width = 200): string[] {
  if (scopes.length === 0) return [];
  const rows = consistencyRows(scopes);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const clip = (line: string) => (line.length <= width ? line : `${line.slice(0, width - 1)}…`);
  return rows.flatMap(([scope, result, compared, look], i) => {
    const line = `${scope!.padEnd(widths[0]!)}  ${result!.padEnd(widths[1]!)}  ${compared}`;
    return i > 0 && look ? [clip(line), clip(`  ↳ ${look}`)] : [clip(line.trimEnd())];
  });
}
