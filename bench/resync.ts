/**
 * What a failback resync costs on the lab: the provider's PostgreSQL resync of the old primary
 * (analysis, CHECKPOINT, the lab's resync command, streaming at lag 0) by rewind and by rebuild,
 * beside the consistency check over a table, for a given table size.
 *
 *   npm run bench:resync                       # 3 runs, 100 000 rows
 *   npm run bench:resync -- --runs 5 --rows 500000
 *
 * Each run starts a fresh lab (a rewind cannot be undone cheaply) and removes it afterwards.
 */
import pg from 'pg';
import { pino } from 'pino';
import { labDown, labUp } from '../src/lab/index.js';
import { labResyncCommand } from '../src/lab/resync-command.js';
import { createPostgresProvider } from '../src/providers/postgres/index.js';
import type { DatabaseProvider } from '../src/providers/types.js';

const log = pino({ level: 'silent' });
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('--runs', 3);
const ROWS = arg('--rows', 100_000);

async function exec(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

type Key = 'rewind' | 'rebuild' | 'consistency';
const samples = new Map<Key, number[]>();
const add = (key: Key, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);

async function oneRun(): Promise<void> {
  const lab = await labUp({ parts: [] });
  const progress = () => undefined;
  // The same command the lab config uses; rebuild is forced by wrapping it (DR_RESYNC_METHOD is the only input that differs).
  const provider = (command: string): DatabaseProvider =>
    createPostgresProvider({
      primaryUrl: lab.postgres.primary.url,
      secondaryUrl: lab.postgres.secondary.url,
      promoteTimeoutSeconds: 60,
      catchUpTimeoutSeconds: 120,
      fence: { method: 'read-only' },
      probe: { table: 'dr_probe' },
      resync: { command, timeoutSeconds: 600 },
      consistencyTables: ['orders'],
      log,
    });
  const rewind = provider(labResyncCommand(lab.dir));
  const rebuild = provider(`DR_RESYNC_METHOD=rebuild ${labResyncCommand(lab.dir)}`);
  try {
    await exec(
      lab.postgres.primary.url,
      `CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, ${ROWS}) g`,
    );
    await rewind.promote({ target: 'secondary', mode: 'planned', progress });
    await exec(
      lab.postgres.secondary.url,
      `INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(${ROWS + 1}, ${ROWS + 1000}) g`,
    );
    add('rewind', await timed(() => rewind.resync({ standby: 'primary', progress })));
    add('consistency', await timed(() => rewind.consistency({ writer: 'secondary', progress })));
    // Back to the primary, then the secondary is resynced again, this time by a full copy.
    await rewind.promote({ target: 'primary', mode: 'planned', progress });
    add('rebuild', await timed(() => rebuild.resync({ standby: 'secondary', progress })));
  } finally {
    await Promise.all([rewind.close(), rebuild.close()]);
    await labDown({ dir: lab.dir });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  for (let i = 1; i <= RUNS; i++) {
    process.stderr.write(`run ${i}/${RUNS}\n`);
    await oneRun();
  }
  const row = (name: string, key: Key) =>
    `${name.padEnd(44)} ${median(samples.get(key) ?? [])
      .toFixed(0)
      .padStart(8)} ms`;
  console.log(`failback resync on the lab, ${ROWS} rows, median of ${RUNS} runs`);
  console.log(row('postgres resync by rewind (pg_rewind)', 'rewind'));
  console.log(row('postgres resync by rebuild (pg_basebackup)', 'rebuild'));
  console.log(row('consistency check (LSNs, row count, md5)', 'consistency'));
  console.log(
    'each resync: analysis, CHECKPOINT, the lab resync command (stop, copy, start), streaming at lag 0',
  );
}

await main();
