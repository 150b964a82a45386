/**
 * What a failback resync costs on the lab, per table size: the provider's PostgreSQL resync of
 * the old primary (analysis, CHECKPOINT, the lab's resync command, streaming at lag 0) by rewind
 * and by rebuild, and the consistency check that follows it beside its reference (count(*) of
 * the table on both sides at once).
 *
 *   npm run bench:resync                              # 1 M, 10 M and 30 M rows, 1 run each (~10 min)
 *   npm run bench:resync -- --rows 200000 --runs 3    # a small size, median of 3 runs
 *   npm run bench:resync -- --rows 1e6 --json         # the figures as JSON
 *
 * Options: --row-bytes N (200). Each run starts a fresh lab (a rewind cannot be undone cheaply)
 * and removes it afterwards.
 */
import { pino } from 'pino';
import { labDown, labUp } from '../src/lab/index.js';
import { labResyncCommand } from '../src/lab/resync-command.js';
import { createPostgresProvider } from '../src/providers/postgres/index.js';
import type { DatabaseProvider } from '../src/providers/types.js';
import {
  createTable,
  listArg,
  numberArg,
  parallelScan,
  query,
  replayed,
  timed,
} from './support/table.js';

const log = pino({ level: 'silent' });
const RUNS = numberArg('--runs', 1);
const SIZES = listArg('--rows', [1_000_000, 10_000_000, 30_000_000]);
const ROW_BYTES = numberArg('--row-bytes', 200);
const JSON_OUT = process.argv.includes('--json');

type Key = 'rewind' | 'rebuild' | 'consistency' | 'scan';
type Samples = Map<Key, number[]>;

async function oneRun(rows: number, samples: Samples): Promise<void> {
  const add = (key: Key, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);
  const lab = await labUp({ parts: [] });
  const progress = () => undefined;
  const urls = [lab.postgres.primary.url, lab.postgres.secondary.url];
  // The same command the lab config uses; rebuild is forced by wrapping it (DR_RESYNC_METHOD is the only input that differs).
  const provider = (command: string): DatabaseProvider =>
    createPostgresProvider({
      primaryUrl: urls[0]!,
      secondaryUrl: urls[1]!,
      promoteTimeoutSeconds: 60,
      catchUpTimeoutSeconds: 600,
      fence: { method: 'read-only' },
      probe: { table: 'dr_probe' },
      resync: { command, timeoutSeconds: 24 * 3600 },
      consistencyTables: ['orders'],
      consistency: { timeBudgetSeconds: 24 * 3600 },
      log,
    });
  const rewind = provider(labResyncCommand(lab.dir));
  const rebuild = provider(`DR_RESYNC_METHOD=rebuild ${labResyncCommand(lab.dir)}`);
  try {
    await createTable(urls[0]!, 'orders', rows, ROW_BYTES, (m) => process.stderr.write(`${m}\n`));
    await replayed(urls[0]!, urls[1]!);
    await rewind.promote({ target: 'secondary', mode: 'planned', progress });
    await query(
      urls[1]!,
      `INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(${rows + 1}, ${rows + 1000}) g`,
    );
    add('rewind', await timed(() => rewind.resync({ standby: 'primary', progress })));
    add('scan', await parallelScan(urls, 'orders'));
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
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const figures = [];
  for (const rows of SIZES) {
    const samples: Samples = new Map();
    for (let i = 1; i <= RUNS; i++) {
      process.stderr.write(`${rows} rows: run ${i}/${RUNS}\n`);
      await oneRun(rows, samples);
    }
    const m = (key: Key) => Math.round(median(samples.get(key) ?? []));
    figures.push({
      rows,
      rewindMs: m('rewind'),
      rebuildMs: m('rebuild'),
      consistencyMs: m('consistency'),
      scanMs: m('scan'),
      ratio: Math.round((m('consistency') / m('scan')) * 100) / 100,
    });
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ rowBytes: ROW_BYTES, runs: RUNS, sizes: figures }, null, 2));
    return;
  }
  console.log(`failback resync on the lab, ${ROW_BYTES}-byte rows, median of ${RUNS} run(s)`);
  const head = ['rows', 'rewind', 'rebuild', 'consistency check', 'count(*) both', 'ratio'];
  const rows = figures.map((f) => [
    f.rows.toLocaleString('en-US'),
    `${f.rewindMs} ms`,
    `${f.rebuildMs} ms`,
    `${f.consistencyMs} ms`,
    `${f.scanMs} ms`,
    `${f.ratio.toFixed(2)}×`,
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(
    'each resync: analysis, CHECKPOINT, the lab resync command (stop, copy, start), streaming at lag 0',
  );
}

await main();
