/**
 * What the failback's consistency check costs at production sizes, on the lab: for each table
 * size, the provider's check of the table (idle, then while a writer inserts and updates rows of
 * that same table) beside the reference, count(*) of the table on both sides at once, with the
 * ratio; beside its raw operation (its chunk digest queries alone, on both sides at once) and
 * the floor of any content check (the same row hashes over the whole table in one parallel query
 * per side); the servers' peak private memory and what the check found.
 *
 *   npm run bench:consistency                               # 1 M, 10 M and 30 M rows (~5 min, ~17 GB)
 *   npm run bench:consistency -- --rows 200000              # one small size
 *   npm run bench:consistency -- --rows 1e6,1e7 --json      # the figures as JSON
 *
 * Options: --row-bytes N (200), --concurrency N (3), --chunk-rows N (50000), --no-load.
 * One lab serves every size; the table is rebuilt per size and the lab removed at the end.
 */
import { pino } from 'pino';
import { labDown, labUp, type LabInfo } from '../src/lab/index.js';
import { createPostgresProvider } from '../src/providers/postgres/index.js';
import type { ConsistencyScope } from '../src/domain/consistency.js';
import {
  createTable,
  hashFloor,
  listArg,
  mb,
  memoryPeak,
  numberArg,
  parallelScan,
  rawDigests,
  replayed,
  timed,
  writeLoad,
} from './support/table.js';

const SIZES = listArg('--rows', [1_000_000, 10_000_000, 30_000_000]);
const ROW_BYTES = numberArg('--row-bytes', 200);
const CONCURRENCY = numberArg('--concurrency', 3);
const CHUNK_ROWS = numberArg('--chunk-rows', 50_000);
const JSON_OUT = process.argv.includes('--json');
const LOAD = !process.argv.includes('--no-load');
const TABLE = 'bench_rows';

interface Figure {
  rows: number;
  load: 'idle' | 'write';
  /** The consistency check of the table. */
  ms: number;
  /** The reference: count(*) on both sides at once. */
  scanMs: number;
  ratio: number;
  /** The raw operation: the check's chunk digest queries alone, on both sides at once. */
  digestMs: number;
  /** The check over its raw operation: what comparing at one WAL point adds. */
  overDigests: number;
  /** The floor: the same row hashes over the whole table, one parallel query per side, both at once. */
  floorMs: number;
  /** The floor over the reference: what hashing every row costs beyond counting them. */
  floorRatio: number;
  /** The check over the floor: what chunks, each compared at one WAL point, add. */
  overFloor: number;
  /** Highest private memory of either server during the check. */
  peakServerMemoryBytes: number;
  chunks: Pick<ConsistencyScope, 'total' | 'equal' | 'changing' | 'different'>;
  rowsProven: number;
  writesPerSecond?: number;
}

const say = (m: string) => process.stderr.write(`${m}\n`);

function provider(lab: LabInfo) {
  return createPostgresProvider({
    primaryUrl: lab.postgres.primary.url,
    secondaryUrl: lab.postgres.secondary.url,
    promoteTimeoutSeconds: 60,
    catchUpTimeoutSeconds: 600,
    fence: { method: 'read-only' },
    probe: { table: 'dr_probe' },
    consistencyTables: [TABLE],
    consistency: {
      chunkRows: CHUNK_ROWS,
      concurrency: CONCURRENCY,
      timeBudgetSeconds: 24 * 3600,
      unproven: 'continue',
    },
    log: pino({ level: 'silent' }),
  });
}

/** One measurement: the reference scan, then the check with memory sampled throughout. */
async function measure(lab: LabInfo, rows: number, load: Figure['load']): Promise<Figure> {
  const urls = [lab.postgres.primary.url, lab.postgres.secondary.url];
  const writer = load === 'write' ? writeLoad(urls[0]!, TABLE, rows) : null;
  const db = provider(lab);
  try {
    const scanMs = await parallelScan(urls, TABLE);
    const digestMs = await rawDigests(urls, TABLE, {
      chunkRows: CHUNK_ROWS,
      concurrency: CONCURRENCY,
    });
    const floorMs = await hashFloor(urls, TABLE);
    const memory = memoryPeak([lab.postgres.primary.dataDir, lab.postgres.secondary.dataDir]);
    let scope: ConsistencyScope | undefined;
    const ms = await timed(async () => {
      const r = await db.consistency({ writer: 'primary', progress: () => undefined });
      scope = r.scopes[0];
    });
    const peak = Math.max(...memory.stop());
    const writesPerSecond = writer ? await writer.stop() : undefined;
    if (!scope || scope.error)
      throw new Error(`the check did not compare ${TABLE}: ${scope?.error}`);
    return {
      rows,
      load,
      ms: Math.round(ms),
      scanMs: Math.round(scanMs),
      ratio: Math.round((ms / scanMs) * 100) / 100,
      digestMs: Math.round(digestMs),
      overDigests: Math.round((ms / digestMs) * 100) / 100,
      floorMs: Math.round(floorMs),
      floorRatio: Math.round((floorMs / scanMs) * 100) / 100,
      overFloor: Math.round((ms / floorMs) * 100) / 100,
      peakServerMemoryBytes: peak,
      chunks: {
        total: scope.total,
        equal: scope.equal,
        changing: scope.changing,
        different: scope.different,
      },
      rowsProven: scope.rowsEqual,
      ...(writesPerSecond !== undefined ? { writesPerSecond } : {}),
    };
  } finally {
    await writer?.stop();
    await db.close();
  }
}

async function warmUp(lab: LabInfo): Promise<void> {
  const db = provider(lab);
  try {
    await db.consistency({ writer: 'primary', progress: () => undefined });
  } finally {
    await db.close();
  }
}

function print(figures: Figure[]): void {
  const head = [
    'rows',
    'load',
    'check',
    'count(*) both',
    'ratio',
    'digests alone',
    'check/digests',
    'hash floor',
    'floor/count(*)',
    'check/floor',
    'peak server memory',
    'chunks (equal/changing/different)',
  ];
  const rows = figures.map((f) => [
    f.rows.toLocaleString('en-US'),
    f.load === 'write' ? `writes ${f.writesPerSecond}/s` : 'idle',
    `${f.ms} ms`,
    `${f.scanMs} ms`,
    `${f.ratio.toFixed(2)}×`,
    `${f.digestMs} ms`,
    `${f.overDigests.toFixed(2)}×`,
    `${f.floorMs} ms`,
    `${f.floorRatio.toFixed(2)}×`,
    `${f.overFloor.toFixed(2)}×`,
    mb(f.peakServerMemoryBytes),
    `${f.chunks.total} (${f.chunks.equal}/${f.chunks.changing}/${f.chunks.different})`,
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  console.log(
    `consistency check on the lab: ${ROW_BYTES}-byte rows, ${CONCURRENCY} queries at a time per side, chunks of ${CHUNK_ROWS} rows`,
  );
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(
    'ratio: the check (both sides, each chunk at one WAL point) / count(*) of both sides at once; target ≤ 2×',
  );
  console.log(
    "digests alone: the check's chunk digest queries on both sides at once, nothing compared (its raw operation)",
  );
  console.log(
    "hash floor: the check's row hashes summed over the whole table, one parallel query per side, both at once (the least any content check costs)",
  );
}

async function main(): Promise<void> {
  const lab = await labUp({ parts: [] });
  const figures: Figure[] = [];
  try {
    for (const rows of SIZES) {
      say(`${rows} rows: building the table`);
      await createTable(lab.postgres.primary.url, TABLE, rows, ROW_BYTES, say);
      await replayed(lab.postgres.primary.url, lab.postgres.secondary.url);
      // Warm both sides once (caches, hint bits and the WAL they write), so the reference and
      // the check read alike and neither pays for the table having just been built.
      await parallelScan([lab.postgres.primary.url, lab.postgres.secondary.url], TABLE);
      await warmUp(lab);
      say(`${rows} rows: idle`);
      figures.push(await measure(lab, rows, 'idle'));
      if (LOAD) {
        say(`${rows} rows: under the write load`);
        figures.push(await measure(lab, rows, 'write'));
      }
    }
  } finally {
    await labDown({ dir: lab.dir });
  }
  if (JSON_OUT)
    console.log(
      JSON.stringify(
        { rowBytes: ROW_BYTES, concurrency: CONCURRENCY, chunkRows: CHUNK_ROWS, sizes: figures },
        null,
        2,
      ),
    );
  else print(figures);
}

await main();
