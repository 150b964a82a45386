/**
 * The hard failback: an unplanned failover while the primary had commits the standby never
 * received, the old primary coming back as a writer with them (crash recovery put its latest
 * checkpoint after the split), and its WAL from the last checkpoint before the split gone so
 * pg_rewind cannot work. The loss and the rebuild are shown before approval, the rebuild runs
 * without a doomed rewind first, and both sides end consistent.
 */
import { labUser, pgStart, type LabInfo } from '../../src/lab/index.js';
import { applyPostgresRole } from '../../src/lab/permissions.js';
import { lsnDiff } from '../../src/providers/postgres/index.js';
import {
  crashPostgresPrimary,
  holdPostgresReplication,
  labPostgresProvider,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';
import {
  ids,
  insertRows,
  labEngine,
  range,
  removeWalBefore,
  requestAndApprove,
  standbyState,
  type LabEngine,
} from './support.js';

let lab: LabInfo;
let h: LabEngine;

beforeAll(async () => {
  lab = await startLab();
  h = await labEngine(lab, 'failback-rebuild', ['orders']);
}, 120_000);

afterAll(async () => {
  await h?.close();
  await stopLabs();
});

test('unplanned failover, the old primary returns from a crash with unreplicated commits and without its WAL before the split: loss and rebuild shown before approval, rebuild ends consistent', async () => {
  const primary = lab.postgres.primary.url;
  const secondary = lab.postgres.secondary.url;
  await sql(primary, 'CREATE EXTENSION pg_walinspect');
  // As an operator would: postgres.sql again, so the bot's role may call pg_walinspect too.
  await applyPostgresRole(primary);
  await sql(primary, 'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)');
  await insertRows(primary, range(1, 100), 'primary');
  // The last checkpoint before the split ends up in an older WAL segment than the split itself.
  await sql(primary, 'CHECKPOINT');
  await sql(primary, 'SELECT pg_switch_wal()');
  await insertRows(primary, range(101, 120), 'primary');
  await until(
    'the standby to have row 120',
    async () => (await sql(secondary, 'SELECT 1 FROM orders WHERE id = 120')).length === 1,
  );
  await holdPostgresReplication(lab);
  await insertRows(primary, range(121, 130), 'primary (never replicated)');
  await crashPostgresPrimary(lab);

  const failover = await requestAndApprove(h.engine, 'failover');
  expect(failover.after.mode).toBe('unplanned');
  await insertRows(secondary, range(1001, 1020), 'secondary');

  // The old primary comes back as a writer on its old timeline, still holding rows 121-130.
  await pgStart(
    { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' },
    lab.postgres.primary,
  );
  expect(await ids(primary)).toEqual(range(1, 130));
  const [history] = await sql<{ text: string }>(
    secondary,
    `SELECT pg_read_file('pg_wal/00000002.history') AS text`,
  );
  const split = history.text.trim().split(/\s+/)[1]!;
  // With its WAL still there, pg_rewind would read it from the checkpoint before the split (not the one after the restart).
  const whole = await h.providers.database!.readiness('primary');
  expect(whole.planFacts).toMatchObject({
    targetRole: 'stale-writer',
    resyncMethod: 'rewind',
    divergenceLsn: split,
  });
  expect(lsnDiff(split, String(whole.planFacts.rewindCheckpointLsn))).toBeGreaterThan(0);
  const [{ checkpoint }] = await sql<{ checkpoint: string }>(
    primary,
    'SELECT checkpoint_lsn::text AS checkpoint FROM pg_control_checkpoint()',
  );
  expect(lsnDiff(checkpoint, split)).toBeGreaterThan(0);
  expect(await removeWalBefore(primary, lab.postgres.primary.dataDir, split)).not.toHaveLength(0);

  const failback = await requestAndApprove(h.engine, 'failback');
  const db = failback.before.preflight?.components.find((c) => c.component === 'database');
  expect(db?.status).toBe('warning');
  expect(db?.planFacts).toMatchObject({
    targetRole: 'stale-writer',
    resyncMethod: 'rebuild',
    divergenceLsn: split,
    rewindCheckpointLsn: null,
  });
  // Ten single-row transactions, plus whatever the restarted server committed itself (autovacuum).
  expect(db?.planFacts.lostTransactions).toBeGreaterThanOrEqual(10);
  expect(db?.expectedLoss?.bytes).toBeGreaterThan(0);
  expect(db?.expectedLoss?.description).toMatch(
    /\d+ committed transactions\) that never reached the current primary: the rebuild discards it/,
  );
  expect(db?.warnings?.[0]).toContain('primary has data secondary never received');
  expect(db?.warnings?.[1]).toMatch(
    /cannot be rewound and will be rebuilt .*pg_rewind needs its WAL back to the last checkpoint before the split/,
  );

  const resync = failback.after.steps.find((s) => s.id === 'resync-database');
  expect(resync?.evidence).toMatchObject({
    plannedMethod: 'rebuild',
    method: 'rebuild',
    rewindError: null,
  });
  expect(failback.after.steps.find((s) => s.id === 'verify-consistency')?.status).toBe('succeeded');

  // Exactly what the card said: 121-130 are gone, everything the secondary took is on the primary.
  expect(await ids(primary)).toEqual([...range(1, 120), ...range(1001, 1020)]);
  expect((await sql(primary, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  await until(
    'the secondary to replay everything',
    async () => (await standbyState(secondary, primary)).lagBytes === 0,
  );
  expect(await standbyState(secondary, primary)).toEqual({
    inRecovery: true,
    receiver: 'streaming',
    lagBytes: 0,
  });
  expect(await ids(secondary)).toEqual([...range(1, 120), ...range(1001, 1020)]);
});

test('without pg_walinspect, after a crash and restart of the old primary: rewind, and the card says a rebuild may follow and why', async () => {
  const other = await startLab();
  const db = labPostgresProvider(other.postgres.primary.url, other.postgres.secondary.url);
  try {
    await sql(
      other.postgres.primary.url,
      'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)',
    );
    await insertRows(other.postgres.primary.url, range(1, 5), 'primary');
    await until(
      'the standby to have row 5',
      async () =>
        (await sql(other.postgres.secondary.url, 'SELECT 1 FROM orders WHERE id = 5')).length === 1,
    );
    await crashPostgresPrimary(other);
    await db.promote({ target: 'secondary', mode: 'unplanned', progress: () => undefined });
    await pgStart(
      { bindir: other.postgres.bindir, user: labUser(), socketDir: '' },
      other.postgres.primary,
    );
    const r = await db.readiness('primary');
    expect(r.planFacts).toMatchObject({
      targetRole: 'stale-writer',
      resyncMethod: 'rewind',
      rewindCheckpointLsn: null,
    });
    expect(r.summary).toContain(
      'will rewind (pg_rewind); may fall back to a rebuild: its latest checkpoint is after the split',
    );
    expect(r.warnings?.join(' ')).toMatch(
      /will be rewound, but may fall back to a rebuild: .*without pg_walinspect/,
    );
  } finally {
    await db.close();
  }
});
