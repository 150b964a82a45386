/**
 * What the failback benchmarks share: a large table of fixed-size rows on the lab's writer, the
 * wait for its standby, a parallel count(*) of both sides (the reference a consistency check is
 * measured against), the check's chunk digests alone (its raw operation), the whole table's row
 * hashes in one parallel query per side (the floor of any content check), a write load on that
 * table, and the servers' peak private memory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import {
  chunkDigest,
  planTable,
  prepareSession,
  type TablePlan,
} from '../../src/providers/postgres/chunks.js';

/** Numbers from a flag: `--rows 200000` or `--rows 1e6,1e7`. */
export function listArg(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  return String(process.argv[i + 1])
    .split(',')
    .map((x) => Number(x));
}

export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * `name` with `rows` rows of about `rowBytes` bytes (id bigint primary key, note text), inserted
 * a million at a time so WAL and the standby keep up, then vacuumed and analyzed.
 */
export async function createTable(
  url: string,
  name: string,
  rows: number,
  rowBytes: number,
  progress: (m: string) => void,
): Promise<void> {
  const text = Math.max(1, rowBytes - 40);
  await query(url, `DROP TABLE IF EXISTS ${name}`);
  await query(url, `CREATE TABLE ${name} (id bigint PRIMARY KEY, note text NOT NULL)`);
  for (let from = 1; from <= rows; from += 1_000_000) {
    const to = Math.min(rows, from + 999_999);
    await query(
      url,
      `INSERT INTO ${name} SELECT g, left(repeat(md5(g::text), ${Math.ceil(text / 32)}), ${text}) FROM generate_series(${from}, ${to}) g`,
    );
    progress(`${name}: ${to} of ${rows} rows`);
  }
  await query(url, `VACUUM (ANALYZE) ${name}`);
  await query(url, 'CHECKPOINT');
}

/** Until `standby` has replayed everything `writer` wrote so far. */
export async function replayed(writer: string, standby: string): Promise<void> {
  const [{ lsn }] = await query<{ lsn: string }>(
    writer,
    'SELECT pg_current_wal_lsn()::text AS lsn',
  );
  for (;;) {
    const [{ ok }] = await query<{ ok: boolean }>(
      standby,
      'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS ok',
      [lsn],
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The reference: count(*) of the table on both sides at once (each may use parallel workers). */
export async function parallelScan(urls: string[], table: string): Promise<number> {
  return timed(() => Promise.all(urls.map((u) => query(u, `SELECT count(*) FROM ${table}`))));
}

/** The check's plan of `table` (its chunks and row hash), as the writer's side sees it. */
async function planOf(url: string, table: string, chunkRows: number): Promise<TablePlan> {
  const planner = new pg.Client({ connectionString: url });
  await planner.connect();
  try {
    const { rows } = await planner.query<{ v: string }>('SHOW server_version_num');
    return await planTable(planner, table, Number(rows[0]!.v), { chunkRows, rowHash: 'column' });
  } finally {
    await planner.end();
  }
}

/**
 * The check's raw operation: every chunk's digest query (the check's own SQL, chunks.ts) on both
 * sides at once, `concurrency` at a time per side, with no comparison, LSN or replay wait.
 */
export async function rawDigests(
  urls: string[],
  table: string,
  settings: { chunkRows: number; concurrency: number },
): Promise<number> {
  const plan = await planOf(urls[0]!, table, settings.chunkRows);
  const side = async (url: string) => {
    const queue = [...plan.chunks];
    await Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await prepareSession(c);
          for (let chunk = queue.pop(); chunk; chunk = queue.pop())
            await chunkDigest(c, plan, chunk);
        } finally {
          await c.end();
        }
      }),
    );
  };
  return timed(() => Promise.all(urls.map(side)));
}

/**
 * The least any content check in SQL costs: the check's row hash summed over the whole table in
 * one query per side, both sides at once, with the same parallel plan as the count(*) reference
 * (a sequential scan with its buffer ring, the leader and its workers). No chunks, so nothing
 * could be compared at one WAL point under writes: a floor, not an alternative.
 */
export async function hashFloor(urls: string[], table: string): Promise<number> {
  const plan = await planOf(urls[0]!, table, Number.MAX_SAFE_INTEGER);
  const sql = `SELECT count(*), sum(${plan.rowHash}) FROM ${plan.quoted} t`;
  return timed(() => Promise.all(urls.map((u) => query(u, sql))));
}

/**
 * A writer on `table` until stopped: each round inserts a new row and updates a random existing
 * one, as an application keeps doing during a failback. Returns the writes per second.
 */
export function writeLoad(url: string, table: string, rows: number): { stop(): Promise<number> } {
  let running = true;
  let writes = 0;
  const started = Date.now();
  const loop = (async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (let next = rows + 1_000_000_000; running; next++) {
        await c.query(`INSERT INTO ${table} VALUES ($1, 'written during the check')`, [next]);
        await c.query(`UPDATE ${table} SET note = note || '.' WHERE id = $1`, [
          1 + Math.floor(Math.random() * rows),
        ]);
        writes += 2;
      }
    } finally {
      await c.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Math.round(writes / ((Date.now() - started) / 1000));
    },
  };
}

function postmasterPid(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** Private memory (RssAnon, so shared buffers are not counted once per backend) of a server and its children. */
function serverMemory(postmaster: number): number {
  let kb = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (Number(entry) !== postmaster && ppid !== postmaster) continue;
      kb += Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // A process that ended while being read.
    }
  }
  return kb * 1024;
}

/** Samples both servers' private memory every 100 ms until stopped; the highest sum seen, per server. */
export function memoryPeak(dataDirs: string[]): { stop(): number[] } {
  const pids = dataDirs.map(postmasterPid);
  const peak = pids.map(() => 0);
  const sample = () =>
    pids.forEach((pid, i) => {
      peak[i] = Math.max(peak[i]!, serverMemory(pid));
    });
  sample();
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
