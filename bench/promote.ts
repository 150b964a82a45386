/**
 * How long the providers take to promote on the lab, beside the raw server command timed in the
 * same run (pg_promote on a standby, REPLICAOF NO ONE on a replica), so the provider's own cost
 * (reading state, fencing, catching up, demoting) shows as a ratio.
 *
 *   npm run bench:promote              # 5 runs
 *   npm run bench:promote -- --runs 9
 *
 * Each run starts fresh labs (a promotion cannot be undone cheaply) and removes them afterwards.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { labDown, labUp, labUser, pgStop, type LabInfo } from '../src/lab/index.js';
import { createPostgresProvider } from '../src/providers/postgres/index.js';
import { createRedisProvider } from '../src/providers/redis/index.js';
import type { CacheProvider, DatabaseProvider } from '../src/providers/types.js';

const log = pino({ level: 'silent' });
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

function providers(
  lab: LabInfo,
  useFailoverCommand = true,
): { db: DatabaseProvider; cache: CacheProvider } {
  return {
    db: createPostgresProvider({
      primaryUrl: lab.postgres.primary.url,
      secondaryUrl: lab.postgres.secondary.url,
      promoteTimeoutSeconds: 60,
      catchUpTimeoutSeconds: 60,
      fence: { method: 'read-only' },
      probe: { table: 'dr_probe' },
      consistencyTables: [],
      log,
      connectTimeoutMs: 1000,
    }),
    cache: createRedisProvider({
      primaryUrl: lab.redis.primary.url,
      secondaryUrl: lab.redis.secondary.url,
      promoteTimeoutSeconds: 30,
      useFailoverCommand,
      log,
      connectTimeoutMs: 1000,
    }),
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function rawPgPromote(lab: LabInfo): Promise<number> {
  const client = new pg.Client({ connectionString: lab.postgres.secondary.url });
  await client.connect();
  try {
    return await timed(() => client.query('SELECT pg_promote(true, 60)'));
  } finally {
    await client.end();
  }
}

async function rawReplicaofNoOne(lab: LabInfo): Promise<number> {
  const r = new Redis(lab.redis.secondary.url, { disconnectTimeout: 100 });
  try {
    await r.ping();
    return await timed(() => r.call('REPLICAOF', 'NO', 'ONE'));
  } finally {
    await r.quit();
  }
}

async function crashPrimaries(lab: LabInfo): Promise<void> {
  await pgStop(
    { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' },
    lab.postgres.primary.dataDir,
    'immediate',
    lab.postgres.primary.pid,
  );
  process.kill(lab.redis.primary.pid, 'SIGKILL');
}

type Key =
  | 'pg planned'
  | 'pg unplanned'
  | 'pg raw'
  | 'redis planned FAILOVER'
  | 'redis planned pause'
  | 'redis unplanned'
  | 'redis raw';
const samples = new Map<Key, number[]>();
const add = (key: Key, ms: number) => samples.set(key, [...(samples.get(key) ?? []), ms]);

async function oneRun(): Promise<void> {
  const started = await Promise.allSettled([0, 1, 2, 3].map(() => labUp({ parts: [] })));
  const labs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    // Never leave the labs that did start running behind a failed one.
    await Promise.all(labs.map((l) => labDown({ dir: l.dir })));
    throw failed.reason;
  }
  const [planned, pausePath, raw, unplanned] = labs;
  const progress = () => undefined;
  try {
    // Some WAL and keys so catch-up has something to confirm.
    const seed = new pg.Client({ connectionString: planned.postgres.primary.url });
    await seed.connect();
    await seed.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g');
    await seed.end();

    const p = providers(planned);
    add(
      'pg planned',
      await timed(() => p.db.promote({ target: 'secondary', mode: 'planned', progress })),
    );
    add(
      'redis planned FAILOVER',
      await timed(() => p.cache.promote({ target: 'secondary', mode: 'planned', progress })),
    );
    const q = providers(pausePath, false);
    add(
      'redis planned pause',
      await timed(() => q.cache.promote({ target: 'secondary', mode: 'planned', progress })),
    );

    add('pg raw', await rawPgPromote(raw));
    add('redis raw', await rawReplicaofNoOne(raw));

    await crashPrimaries(unplanned);
    const u = providers(unplanned);
    add(
      'pg unplanned',
      await timed(() => u.db.promote({ target: 'secondary', mode: 'unplanned', progress })),
    );
    add(
      'redis unplanned',
      await timed(() => u.cache.promote({ target: 'secondary', mode: 'unplanned', progress })),
    );
    await Promise.all([p, q, u].flatMap((x) => [x.db.close(), x.cache.close()]));
  } finally {
    await Promise.all(labs.map((l) => labDown({ dir: l.dir })));
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
  const row = (name: string, key: Key, rawKey: Key) => {
    const mine = median(samples.get(key) ?? []);
    const raw = median(samples.get(rawKey) ?? []);
    return `${name.padEnd(34)} ${mine.toFixed(1).padStart(9)} ms ${raw.toFixed(1).padStart(9)} ms ${(mine / raw).toFixed(1).padStart(7)}x`;
  };
  console.log(`promotion on the lab, median of ${RUNS} runs`);
  console.log(
    `${'provider call'.padEnd(34)} ${'provider'.padStart(12)} ${'raw'.padStart(12)} ${'ratio'.padStart(8)}`,
  );
  console.log(row('postgres planned (fence+catch-up)', 'pg planned', 'pg raw'));
  console.log(row('postgres unplanned (primary down)', 'pg unplanned', 'pg raw'));
  console.log(row('redis planned (FAILOVER TO)', 'redis planned FAILOVER', 'redis raw'));
  console.log(row('redis planned (pause+REPLICAOF)', 'redis planned pause', 'redis raw'));
  console.log(row('redis unplanned (master down)', 'redis unplanned', 'redis raw'));
  console.log(
    'raw: pg_promote(true, 60) on a standby / REPLICAOF NO ONE on a replica, timed in the same runs',
  );
}

await main();
