/**
 * The failback provider calls on their own, on a real lab: a resync that finds the old primary
 * stopped (a resync interrupted after the command stopped it) still ends streaming, and the Redis
 * consistency check catches a replica whose data differs.
 */
import { Redis } from 'ioredis';
import { labUser, pgStop, type LabInfo } from '../../src/lab/index.js';
import { getStep } from '../../src/steps/index.js';
import type { StepContext } from '../../src/steps/types.js';
import { labPostgresProvider, silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';
import { ids, insertRows, labEngine, range, standbyState, type LabEngine } from './support.js';

let lab: LabInfo;
let h: LabEngine;

beforeAll(async () => {
  lab = await startLab();
  h = await labEngine(lab, 'failback-providers', ['orders']);
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)',
  );
}, 120_000);

afterAll(async () => {
  await h?.close();
  await stopLabs();
});

const ctx = (kind: 'failover' | 'failback'): StepContext => ({
  opId: 'failback-providers',
  kind,
  mode: 'planned',
  providers: h.providers,
  log: silentLog,
  targets: { rtoMinutes: 30, rpoMinutes: 5 },
});

test('resync-database finds the old primary stopped (an interrupted resync) and still makes it a streaming standby at lag 0', async () => {
  await insertRows(lab.postgres.primary.url, range(1, 10), 'primary');
  for (const id of ['promote-database', 'promote-cache'] as const)
    await getStep(id).run(ctx('failover'), () => undefined);
  await insertRows(lab.postgres.secondary.url, range(11, 20), 'secondary');
  await pgStop(
    { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' },
    lab.postgres.primary.dataDir,
    'fast',
    lab.postgres.primary.pid,
  );

  const step = getStep('resync-database');
  expect(await step.check(ctx('failback'))).toMatchObject({ done: false });
  const progress: string[] = [];
  const outcome = await step.run(ctx('failback'), (m) => progress.push(m));
  expect(outcome.result).toBe('done');
  expect(outcome.evidence).toMatchObject({ method: 'rewind', divergenceLsn: null });
  expect(progress).toContainEqual(expect.stringContaining('primary does not answer'));
  expect(await step.check(ctx('failback'))).toMatchObject({ done: true });
  expect(await standbyState(lab.postgres.primary.url, lab.postgres.secondary.url)).toEqual({
    inRecovery: true,
    receiver: 'streaming',
    lagBytes: 0,
  });
  expect(await ids(lab.postgres.primary.url)).toEqual(range(1, 20));
});

test('Redis consistency: equal while the old master follows the new one; a replica value changed behind replication is caught by key', async () => {
  const writer = new Redis(lab.redis.secondary.url);
  const replica = new Redis(lab.redis.primary.url);
  try {
    await writer.mset('cart:1', 'a', 'cart:2', 'b');
    await writer.zadd('scores', 1, 'x', 2, 'y');
    await until('the old master to follow the new one', () =>
      h.providers.cache!.isStreamingStandby('primary'),
    );
    const before = await h.providers.cache!.consistency({
      writer: 'secondary',
      progress: () => undefined,
    });
    expect(before.checks.map((c) => [c.name, c.ok])).toEqual([
      ['redis primary follows secondary', true],
      ['redis primary offset caught up', true],
      ['redis key count', true],
      ['redis sampled values', true],
    ]);

    // A write that bypassed replication: only possible on a replica someone made writable.
    await replica.config('SET', 'replica-read-only', 'no');
    await replica.set('cart:2', 'changed on the replica');
    const after = await h.providers.cache!.consistency({
      writer: 'secondary',
      progress: () => undefined,
    });
    expect(after.checks.find((c) => c.name === 'redis sampled values')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        /^DIFFERENT: \d+\/\d+ keys equal, 1 different — different: cart:2$/,
      ),
    });
    expect(after.checks.find((c) => c.name === 'redis key count')?.ok).toBe(true);
    // A keyspace this small is compared whole: the table names the key, no sampling.
    expect(after.scopes).toEqual([
      expect.objectContaining({
        component: 'cache',
        different: 1,
        differences: ['cart:2'],
        changing: 0,
        sampled: false,
      }),
    ]);
  } finally {
    await replica.config('SET', 'replica-read-only', 'yes').catch(() => undefined);
    await writer.quit();
    await replica.quit();
  }
});

test('Redis: a side left a master after the other was promoted from it is the stale master: readiness shows what the resync drops, the resync drops it', async () => {
  const promoted = new Redis(lab.redis.primary.url);
  const stale = new Redis(lab.redis.secondary.url);
  try {
    // An unplanned promotion that could not demote the old master: both are masters now.
    await promoted.call('REPLICAOF', 'NO', 'ONE');
    await promoted.set('kept', 'yes');
    await stale.set('late:1', 'written to the old master after the promotion');

    const readiness = await h.providers.cache!.readiness('secondary');
    expect(readiness).toMatchObject({
      status: 'warning',
      primaryReachable: true,
      planFacts: { targetRole: 'stale-master' },
    });
    expect(readiness.expectedLoss?.bytes).toBeGreaterThan(0);
    expect(readiness.summary).toContain('secondary is the old master');

    const result = await h.providers.cache!.resync({
      standby: 'secondary',
      progress: () => undefined,
    });
    expect(result.evidence.droppedBytes).toBeGreaterThanOrEqual(readiness.expectedLoss!.bytes!);
    expect(await stale.exists('late:1')).toBe(0);
    expect(await stale.get('kept')).toBe('yes');
    const { checks } = await h.providers.cache!.consistency({
      writer: 'primary',
      progress: () => undefined,
    });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  } finally {
    await promoted.quit();
    await stale.quit();
  }
});

test('without pg_walinspect: WAL after the split is an uncounted possible loss, fenced or not (a fence does not say when it came), unless this provider recorded the fence of this split', async () => {
  const db = h.providers.database!;
  const promoted = await db.promote({
    target: 'primary',
    mode: 'planned',
    progress: () => undefined,
  });
  // Background WAL on the fenced old primary after the split (a checkpoint; it also leaves the
  // checkpoint before the split to be found by pg_rewind itself, which the card warns about).
  await sql(lab.postgres.secondary.url, 'CHECKPOINT');
  // The provider that fenced it kept the fence (in memory here; in the bot's Redis for dr start): a note.
  const recorded = await db.readiness('secondary');
  expect(recorded.summary).toContain(
    `it was fenced at LSN ${String(promoted.evidence.finalLsn)} before the split (planned failover at `,
  );
  expect(recorded.warnings).toEqual([
    expect.stringMatching(/^secondary will be rewound, but may fall back to a rebuild/),
  ]);
  expect(recorded.expectedLoss).toBeUndefined();

  // Another process without that record: the fence does not say when it came.
  const unrecorded = labPostgresProvider(lab.postgres.primary.url, lab.postgres.secondary.url);
  const fenced = await unrecorded.readiness('secondary');
  await unrecorded.close();
  expect(fenced.planFacts).toMatchObject({
    targetRole: 'stale-writer',
    resyncMethod: 'rewind',
    lostTransactions: null,
  });
  expect(fenced.summary).toContain('secondary is the old primary (fenced read-only)');
  expect(fenced.summary).toMatch(
    /it wrote \d+ B of WAL after the split \(committed transactions not counted: install pg_walinspect to count them\); it is fenced read-only: after a planned failover .* background records such as checkpoints, but after an unplanned one it holds the commits that never replicated/,
  );
  // Uncounted WAL is a possible loss even on a fenced side: the card warns, beside the rewind caveat.
  expect(fenced.warnings).toEqual([
    expect.stringMatching(
      /^secondary has data primary never received: .*Approving accepts that loss; to keep it, copy it out of secondary first\.$/,
    ),
    expect.stringMatching(/^secondary will be rewound, but may fall back to a rebuild/),
  ]);
  expect(fenced.expectedLoss).toBeDefined();

  // Someone lifts the fence and writes there: that write can only be lost, and the card says so.
  await sql(lab.postgres.secondary.url, 'ALTER SYSTEM RESET default_transaction_read_only');
  await sql(lab.postgres.secondary.url, 'SELECT pg_reload_conf()');
  await until(
    'the fence to be lifted',
    async () =>
      (await sql(lab.postgres.secondary.url, 'SHOW default_transaction_read_only'))[0]
        .default_transaction_read_only === 'off',
  );
  await insertRows(lab.postgres.secondary.url, [999], 'secondary after the switch');
  const writing = await db.readiness('secondary');
  expect(writing.status).toBe('warning');
  expect(writing.expectedLoss?.description).toContain(
    'committed transactions not counted: install pg_walinspect to count them',
  );
  expect(writing.warnings?.[0]).toMatch(
    /^secondary has data primary never received: .*that never reached the current primary/,
  );
});

test('the consistency checks raise no false alarm while the writer keeps taking writes elsewhere and to Redis', async () => {
  const db = h.providers.database!;
  await db.resync({ standby: 'secondary', progress: () => undefined });
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE events (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())',
  );
  const redis = new Redis(lab.redis.primary.url);
  let writing = true;
  let written = 0;
  // The application keeps writing to the serving side while failback verifies (orders itself is quiet).
  const load = (async () => {
    while (writing) {
      await Promise.all([
        sql(lab.postgres.primary.url, 'INSERT INTO events DEFAULT VALUES'),
        redis.incr('load:counter'),
        redis.set(`load:${written}`, 'x'),
      ]);
      written++;
    }
  })();
  try {
    await until('the load to be running', async () => written > 5);
    const checks = [
      ...(await db.consistency({ writer: 'primary', progress: () => undefined })).checks,
      ...(await h.providers.cache!.consistency({ writer: 'primary', progress: () => undefined }))
        .checks,
    ];
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['postgres table orders', 'redis key count', 'redis sampled values']),
    );
  } finally {
    writing = false;
    await load;
    await redis.quit();
  }
});
