/**
 * How the consistency check cuts a table into chunks and digests one chunk on one side.
 *
 * A chunk is a range of heap blocks (`ctid >= '(a,0)' AND ctid < '(b,0)'`, a TID Range Scan since
 * PostgreSQL 14): a streaming standby is a physical copy, so a row sits in the same block on both
 * sides, and a chunk reads only its own blocks, in order. Its digest is the row count and the sum
 * of 64-bit row hashes: order-free, constant memory, no string per table (PostgreSQL caps a
 * string at 1 GB, the wall the old md5(string_agg(...)) hit) and no sort. A sum, not an XOR, so
 * two equal rows do not cancel out.
 *
 * Row hash per version:
 * - PostgreSQL 14+: sum(hash_record_extended(t, 0)), each column hashed by its type's own hash
 *   function (values equal by their type, like 1.0 and 1.00, hash alike), about 3× faster than
 *   the text form; config `consistency.postgres.rowHash: text` or a column type without a hash
 *   function selects sum(hashtextextended(t::text, 0)), byte-exact on the row's text form.
 * - PostgreSQL 13 (no TID Range Scan, no hash_record_extended): one chunk per table, the whole
 *   table streamed once per side with sum(hashtextextended(t::text, 0)).
 */
import type pg from 'pg';
import { quoteIdent } from './context.js';

/** Heap blocks [from, to); `to` null: to the end of the table, however far it grew meanwhile. */
export interface Chunk {
  from: number;
  to: number | null;
  /** PostgreSQL 13: the whole table, no TID condition. */
  whole?: boolean;
}

export interface TablePlan {
  table: string;
  quoted: string;
  hash: 'record' | 'text';
  /** The table's size in blocks when planned: where an open-ended chunk is split. */
  blocks: number;
  chunks: Chunk[];
  /** The primary key (or ctid without one), to name the rows of a chunk: as text, and its order. */
  key: { label: string; expr: string; order: string };
  method: string;
}

interface ChunkSettings {
  chunkRows: number;
  rowHash: 'record' | 'text';
}

const HASH_SQL = {
  record: 'hash_record_extended(t, 0)',
  text: 'hashtextextended(t::text, 0)',
} as const;

/** The text form of values must not depend on a server's settings (time zone, float digits). */
export async function prepareSession(c: pg.Client): Promise<void> {
  await c.query(
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'",
  );
}

/** Does every column of `table` have an extended hash function (hash_record_extended works)? */
async function recordHashable(c: pg.Client, quoted: string): Promise<boolean> {
  try {
    // A row of NULLs still makes hash_record_extended look up every column's hash function.
    await c.query(`SELECT hash_record_extended(jsonb_populate_record(NULL::${quoted}, '{}'), 0)`);
    return true;
  } catch {
    return false;
  }
}

async function primaryKey(c: pg.Client, table: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  return rows.map((r) => r.name);
}

function keyOf(columns: string[]): TablePlan['key'] {
  if (columns.length === 0) return { label: 'ctid', expr: 't.ctid::text', order: 't.ctid' };
  const cols = columns.map((c) => `t.${quoteIdent(c)}`);
  return columns.length === 1
    ? { label: columns[0]!, expr: `${cols[0]}::text`, order: cols[0]! }
    : {
        label: `(${columns.join(', ')})`,
        expr: `ROW(${cols.join(', ')})::text`,
        order: cols.join(', '),
      };
}

/** Cut the table into chunks of about `chunkRows` rows (from its statistics), in block order. */
export async function planTable(
  c: pg.Client,
  table: string,
  version: number,
  s: ChunkSettings,
): Promise<TablePlan> {
  const quoted = quoteIdent(table);
  const { rows } = await c.query<{
    relpages: number;
    reltuples: number;
    blocks: string;
    kind: string;
  }>(
    `SELECT relpages, reltuples, relkind AS kind,
            (pg_relation_size(oid) / current_setting('block_size')::int)::text AS blocks
       FROM pg_class WHERE oid = $1::regclass`,
    [table],
  );
  const info = rows[0]!;
  const blocks = Number(info.blocks);
  const hash = s.rowHash === 'record' && version >= 140000 && (await recordHashable(c, quoted));
  const key = keyOf(await primaryKey(c, table));
  const hashText = hash ? 'sum(hash_record_extended)' : 'sum(hashtextextended(row text))';
  // Tables without storage of their own (partitioned) and PostgreSQL 13 are read whole.
  if (version < 140000 || !['r', 'm', 't'].includes(info.kind)) {
    return {
      table,
      quoted,
      hash: hash ? 'record' : 'text',
      blocks,
      chunks: [{ from: 0, to: null, whole: true }],
      key,
      method: `${hashText} over the whole table (PostgreSQL ${Math.floor(version / 10000)})`,
    };
  }
  const perBlock = info.relpages > 0 && info.reltuples > 0 ? info.reltuples / info.relpages : 0;
  // Without statistics (never analyzed): 1024 blocks, 8 MB of heap.
  const size = perBlock > 0 ? Math.max(1, Math.round(s.chunkRows / perBlock)) : 1024;
  const chunks: Chunk[] = [];
  for (let from = 0; from + size < blocks; from += size) chunks.push({ from, to: from + size });
  chunks.push({ from: chunks.length * size, to: null });
  return {
    table,
    quoted,
    hash: hash ? 'record' : 'text',
    blocks,
    chunks,
    key,
    method: `${hashText} over ranges of ${size} blocks (PostgreSQL ${Math.floor(version / 10000)})`,
  };
}

function where(chunk: Chunk): string {
  if (chunk.whole) return '';
  const lower = `t.ctid >= '(${chunk.from},0)'::tid`;
  return chunk.to === null
    ? ` WHERE ${lower}`
    : ` WHERE ${lower} AND t.ctid < '(${chunk.to},0)'::tid`;
}

/** "blocks 2800–5599", "blocks 5600–end", "whole table". */
export function chunkLabel(chunk: Chunk): string {
  if (chunk.whole) return 'whole table';
  return `blocks ${chunk.from}–${chunk.to === null ? 'end' : chunk.to - 1}`;
}

/** `rows:sum` of the chunk on the side `c` is connected to. */
export async function chunkDigest(c: pg.Client, plan: TablePlan, chunk: Chunk): Promise<string> {
  const { rows } = await c.query<{ n: string; s: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(${HASH_SQL[plan.hash]}), 0)::text AS s FROM ${plan.quoted} t${where(chunk)}`,
  );
  return `${rows[0]!.n}:${rows[0]!.s}`;
}

export const rowsOf = (digest: string): number => Number(digest.split(':')[0]);

/** Halves of a chunk that kept changing, to narrow what stays unproven; null when it is one block. */
export function splitChunk(chunk: Chunk, blocks: number): Chunk[] | null {
  if (chunk.whole) return null;
  const end = chunk.to ?? Math.max(blocks, chunk.from + 1);
  if (end - chunk.from < 2) return null;
  const mid = chunk.from + Math.floor((end - chunk.from) / 2);
  return [
    { from: chunk.from, to: mid },
    { from: mid, to: chunk.to },
  ];
}

/** Per-row hashes of a chunk on one side, by ctid, with the row's key. */
async function rowHashes(
  c: pg.Client,
  plan: TablePlan,
  chunk: Chunk,
): Promise<Map<string, { key: string; hash: string }>> {
  const { rows } = await c.query<{ id: string; key: string; h: string }>(
    `SELECT t.ctid::text AS id, ${plan.key.expr} AS key, ${HASH_SQL[plan.hash]}::text AS h FROM ${plan.quoted} t${where(chunk)}`,
  );
  return new Map(rows.map((r) => [r.id, { key: r.key, hash: r.h }]));
}

/** Rows read per side to name the rows of a differing chunk; larger chunks are named by range only. */
const NAME_ROWS_UP_TO = 200_000;

/**
 * Where a chunk differs, for a person to look: the block range, the key range on the writer and,
 * for a chunk small enough, the keys of the rows that differ ("id=12345 differs").
 */
export async function describeDifference(
  w: pg.Client,
  s: pg.Client,
  plan: TablePlan,
  chunk: Chunk,
  rows: number,
): Promise<string> {
  const end = async (dir: 'ASC' | 'DESC') =>
    (
      await w.query<{ k: string }>(
        `SELECT ${plan.key.expr} AS k FROM ${plan.quoted} t${where(chunk)} ORDER BY ${plan.key.order.replace(/(, |$)/g, ` ${dir}$1`)} LIMIT 1`,
      )
    ).rows[0]?.k;
  const [lo, hi] = [await end('ASC'), await end('DESC')];
  const range = lo !== undefined ? `${plan.key.label} ${lo}..${hi}` : 'no rows on the writer';
  const base = `${range} (${chunkLabel(chunk)})`;
  if (rows > NAME_ROWS_UP_TO) return base;
  const [mine, theirs] = [await rowHashes(w, plan, chunk), await rowHashes(s, plan, chunk)];
  const named: string[] = [];
  for (const [id, row] of mine) {
    const other = theirs.get(id);
    if (!other) named.push(`${plan.key.label}=${row.key} missing on the standby`);
    else if (other.hash !== row.hash) named.push(`${plan.key.label}=${row.key} differs`);
  }
  for (const [id, row] of theirs)
    if (!mine.has(id)) named.push(`${plan.key.label}=${row.key} only on the standby`);
  if (named.length === 0) return base;
  const more = named.length > 5 ? ` (+${named.length - 5} more)` : '';
  return `${base}: ${named.slice(0, 5).join(', ')}${more}`;
}
