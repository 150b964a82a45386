/**
 * Failover and failback, twice, on a real lab with the cloud simulators: the engine runs every
 * step against real PostgreSQL and Redis pairs, the Route 53 and Kubernetes simulators and the
 * health endpoints, and the test then looks at each server itself.
 */
import { Redis } from 'ioredis';
import { labDown, labUp, pgQuery, type LabInfo } from '../../src/lab/index.js';
import { inPhase } from '../support/engine-harness.js';
import { sql, until } from '../support/lab.js';
import {
  APPROVER,
  ids,
  insertRows,
  labEngine,
  OPERATOR,
  range,
  requestAndApprove,
  standbyState,
  type LabEngine,
} from './support.js';

let lab: LabInfo;
let h: LabEngine;

beforeAll(async () => {
  lab = await labUp();
  h = await labEngine(lab, 'failback-cycle', ['orders']);
  // The lab's config wires the simulators in: DNS, scaling and verification run for real too.
  expect(
    [h.providers.dns?.name, h.providers.cluster, h.providers.verification].every(Boolean),
  ).toBe(true);
  // `dr lab up` creates it where this PostgreSQL ships it; the test needs it.
  await sql(lab.postgres.primary.url, 'CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)',
  );
}, 120_000);

afterAll(async () => {
  await h?.close();
  if (lab) await labDown({ dir: lab.dir });
});

const pgUrl = (side: 'primary' | 'secondary') => lab.postgres[side].url;
const redisOf = (side: 'primary' | 'secondary') => new Redis(lab.redis[side].url);

async function redisDo<T>(side: 'primary' | 'secondary', fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = redisOf(side);
  try {
    return await fn(r);
  } finally {
    await r.quit();
  }
}

async function replicaState(
  side: 'primary' | 'secondary',
): Promise<{ role: string; link: string | undefined; offset: number; masterOffset: number }> {
  const info = await redisDo(side, (r) => r.info('replication'));
  const field = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const masterInfo = await redisDo(side === 'primary' ? 'secondary' : 'primary', (r) =>
    r.info('replication'),
  );
  return {
    role: field('role') ?? '',
    link: field('master_link_status'),
    offset: Number(field('slave_repl_offset') ?? -1),
    masterOffset: Number(/^master_repl_offset:(\d+)/m.exec(masterInfo)?.[1] ?? -2),
  };
}

test('a failback with nothing to fail back is refused at preflight and changes nothing', async () => {
  await insertRows(pgUrl('primary'), range(1, 20), 'primary');
  const req = await h.engine.request({
    kind: 'failback',
    mode: 'auto',
    requester: OPERATOR,
    reason: 'nothing to do',
  });
  if (!req.ok) throw new Error(req.message);
  const refused = await inPhase(h.engine, req.op.id, 'refused');
  expect(refused.lastError?.message).toContain(
    'nothing to fail back: the primary region already serves',
  );
  expect(refused.steps.every((s) => s.status === 'pending')).toBe(true);
  expect((await sql(pgUrl('primary'), 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  expect(await h.providers.dns!.currentTarget()).toBe('primary');
});

test('a failback requested while a failover is still active is refused with the active operation named', async () => {
  const failover = await h.engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: OPERATOR,
    reason: 'drill',
  });
  if (!failover.ok) throw new Error(failover.message);
  await inPhase(h.engine, failover.op.id, 'awaitingApproval');
  const failback = await h.engine.request({
    kind: 'failback',
    mode: 'auto',
    requester: OPERATOR,
    reason: 'too early',
  });
  expect(failback).toMatchObject({ ok: false, code: 'already-active', activeId: failover.op.id });
  expect(failback.ok ? '' : failback.message).toBe(
    `${failover.op.id} is already in progress (a failover): only one operation per environment runs at a time. Let it finish or abort it, then request the failback again.`,
  );
  await h.engine.abort({ opId: failover.op.id, userId: OPERATOR, reason: 'test over' });
});

test('failover, writes on the secondary, failback: every row is on the primary, the secondary streams from it again, DNS and scale are back', async () => {
  await insertRows(pgUrl('primary'), range(21, 100), 'primary');
  await redisDo('primary', (r) => r.mset('cart:1', 'primary', 'cart:2', 'primary'));

  const failover = await requestAndApprove(h.engine, 'failover');
  expect(failover.after.mode).toBe('planned');

  // Failed over: another failover has nothing to do and is refused before approval, saying so.
  const again = await h.engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: OPERATOR,
    reason: 'once more',
  });
  if (!again.ok) throw new Error(again.message);
  const refused = await inPhase(h.engine, again.op.id, 'refused');
  expect(refused.lastError?.message).toContain(
    "dns: already failed over: the secondary region is serving (the secondary database is the writer; the secondary cache is the writer; DNS sends users to the secondary; the secondary's workloads run at production size): nothing to fail over. Request a failback to return to the primary.",
  );
  expect(refused.steps.every((s) => s.status === 'pending')).toBe(true);

  await insertRows(pgUrl('secondary'), range(101, 150), 'secondary');
  await redisDo('secondary', async (r) => {
    await r.set('cart:2', 'secondary');
    await r.hset('session:9', { user: 'ada', region: 'secondary' });
  });

  // The fenced old primary writes background WAL after the split (here a checkpoint), no transaction.
  await sql(pgUrl('primary'), 'CHECKPOINT');

  const failback = await requestAndApprove(h.engine, 'failback');
  // Before approval the card said what the resync would do and that nothing is lost: a note, no warning.
  const db = failback.before.preflight?.components.find((c) => c.component === 'database');
  expect(db?.planFacts).toMatchObject({
    targetRole: 'stale-writer',
    resyncMethod: 'rewind',
    lostTransactions: 0,
  });
  expect(db?.status).toBe('ready');
  expect(db?.summary).toMatch(
    /it wrote \d+ B of WAL after the split, none of it a committed transaction \(counted with pg_walinspect\): no committed transaction is lost; pg_rewind discards it/,
  );
  expect(db?.summary).not.toContain('never reached');
  expect(db?.summary).toContain('will rewind (pg_rewind)');
  expect(db?.warnings).toBeUndefined();
  expect(db?.expectedLoss).toBeUndefined();

  const steps = Object.fromEntries(failback.after.steps.map((s) => [s.id, s]));
  expect(
    failback.after.steps.map((s) => s.status).every((s) => s === 'succeeded' || s === 'skipped'),
  ).toBe(true);
  expect(steps['resync-database'].evidence).toMatchObject({ method: 'rewind', rewindError: null });
  expect(steps['verify-consistency'].checks?.map((c) => c.name)).toEqual(
    expect.arrayContaining(['postgres table orders', 'redis sampled values']),
  );
  // RTO and RPO as for a failover: measured up to the green verification of the primary; zero loss.
  expect(failback.after.rtoMs).toBeGreaterThan(0);
  expect(failback.after.rpo?.map((r) => [r.component, r.bytes])).toEqual([
    ['database', 0],
    ['cache', 0],
  ]);

  // Data: every row written on either side while it was the writer.
  expect(await ids(pgUrl('primary'))).toEqual(range(1, 150));
  expect((await sql(pgUrl('primary'), 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  await until(
    'the secondary to replay everything',
    async () => (await standbyState(pgUrl('secondary'), pgUrl('primary'))).lagBytes === 0,
  );
  expect(await standbyState(pgUrl('secondary'), pgUrl('primary'))).toEqual({
    inRecovery: true,
    receiver: 'streaming',
    lagBytes: 0,
  });
  expect(await ids(pgUrl('secondary'))).toEqual(range(1, 150));

  // Redis likewise.
  expect(await redisDo('primary', (r) => r.mget('cart:1', 'cart:2'))).toEqual([
    'primary',
    'secondary',
  ]);
  expect(await redisDo('primary', (r) => r.hgetall('session:9'))).toEqual({
    user: 'ada',
    region: 'secondary',
  });
  await until('the Redis replica to reach the master offset', async () => {
    const s = await replicaState('secondary');
    return s.offset === s.masterOffset;
  });
  expect(await replicaState('secondary')).toMatchObject({ role: 'slave', link: 'up' });

  // DNS and the standby cluster (the lab's Route 53 and Kubernetes simulators).
  expect(await h.providers.dns!.currentTarget()).toBe('primary');
  expect(await h.providers.cluster!.isScaled('secondary', 'standby')).toBe(true);
});

test('the cycle repeats: a second failover and failback after the first', async () => {
  const failover = await requestAndApprove(h.engine, 'failover');
  expect(failover.after.steps.every((s) => s.status !== 'failed')).toBe(true);
  expect((await sql(pgUrl('secondary'), 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  await insertRows(pgUrl('secondary'), range(151, 170), 'secondary');
  expect(await ids(pgUrl('secondary'))).toEqual(range(1, 170));

  const failback = await requestAndApprove(h.engine, 'failback');
  expect(failback.after.phase).toBe('completed');
  expect(await ids(pgUrl('primary'))).toEqual(range(1, 170));
  await until(
    'the secondary to replay everything',
    async () => (await standbyState(pgUrl('secondary'), pgUrl('primary'))).lagBytes === 0,
  );
  expect(await standbyState(pgUrl('secondary'), pgUrl('primary'))).toEqual({
    inRecovery: true,
    receiver: 'streaming',
    lagBytes: 0,
  });
  expect(await h.providers.dns!.currentTarget()).toBe('primary');
});

test('a planted mismatch (replay paused on the resynced primary, a row written after) stops the failback before DNS moves; Retry after the fix completes it', async () => {
  await requestAndApprove(h.engine, 'failover');
  await insertRows(pgUrl('secondary'), range(171, 180), 'secondary');
  // Someone resynced the old primary already; then its replay stops while the secondary takes a write.
  await h.providers.database!.resync({ standby: 'primary', progress: () => undefined });
  await pgQuery(pgUrl('primary'), 'SELECT pg_wal_replay_pause()');
  await insertRows(pgUrl('secondary'), [181], 'secondary');

  const stopped = await requestAndApprove(h.engine, 'failback', { until: 'paused' });
  const view = stopped.after;
  expect(view.currentSteps).toEqual(['verify-consistency']);
  expect(view.lastError).toMatchObject({ code: 'verification-failed' });
  expect(view.lastError?.message).toContain('WAL replay is paused on primary');
  expect(view.lastError?.message).toContain(
    "postgres table orders (not compared: primary has not replayed secondary's WAL (see above))",
  );
  // Nothing after the check happened: the secondary still takes writes and users still go there.
  expect((await sql(pgUrl('primary'), 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(true);
  expect((await sql(pgUrl('secondary'), 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  expect(await h.providers.dns!.currentTarget()).toBe('secondary');

  await pgQuery(pgUrl('primary'), 'SELECT pg_wal_replay_resume()');
  const retried = await h.engine.retry({ opId: view.id, userId: APPROVER });
  expect(retried.ok).toBe(true);
  const done = await inPhase(h.engine, view.id, 'completed');
  expect(done.phase).toBe('completed');
  expect(await ids(pgUrl('primary'))).toEqual(range(1, 181));
  expect(await h.providers.dns!.currentTarget()).toBe('primary');
});
