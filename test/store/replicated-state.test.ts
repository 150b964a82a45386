/**
 * The bot's state on a replicated Redis reached through Sentinel (a durable primary, a durable
 * replica, one sentinel; real servers): what `dr start` reads about it, a step that does not act
 * until its record is on the replica, and two bots across a Sentinel failover of the state Redis,
 * where the stale one is refused by the lease's fencing token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { FencedWriteError } from '../../src/errors.js';
import { stopRedis } from '../../src/lab/index.js';
import { confirmWritten, durabilityProblem, readDurability } from '../../src/store/durability.js';
import {
  createInstanceLease,
  createRedisStore,
  openStateRedis,
  type InstanceLease,
} from '../../src/store/index.js';
import { APPROVER, inPhase, REQUESTER, testConfig } from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';
import { failedOverFrom, startReplicatedState, type ReplicatedState } from '../support/sentinel.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const config = testConfig();
let dir: string;
let st: ReplicatedState;
let redis: Redis;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dr-replicated-state-'));
  st = await startReplicatedState(dir);
  redis = openStateRedis(st.url, { maxRetriesPerRequest: 5 });
  redis.on('error', () => undefined);
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  redis.disconnect();
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One bot on the sentinel URL: its lease, a store fenced by it, and an engine on `world`. */
function bot(world: FakeWorld, prefix: string, ttlMs: number) {
  const lease: InstanceLease = createInstanceLease({
    url: st.url,
    environment: config.environment,
    command: 'dr start',
    prefix,
    ttlMs,
    log,
  });
  const store = createRedisStore({ url: st.url, prefix, fence: () => lease.fence() });
  closers.push(
    () => lease.close(),
    () => store.close(),
  );
  const approvers = new Set(config.approvals.approvers);
  const engine = (): Engine => {
    const e = createEngine({
      config,
      store,
      providers: createFakeProviders(world),
      authorizer: { isAuthorized: async (u) => approvers.has(u) },
      log,
    });
    closers.push(() => e.stop());
    return e;
  };
  return { lease, store, engine };
}

async function requestAndApprove(engine: Engine): Promise<string> {
  const req = await engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'replicated state test',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
  const approved = await engine.approve({
    opId: waiting.id,
    userId: APPROVER,
    planHash: waiting.planHash!,
  });
  if (!approved.ok) throw new Error(approved.message);
  return waiting.id;
}

test('through Sentinel, the state store shows its AOF and its replica; a write is confirmed on the replica, and not while the replica is stuck', async () => {
  const d = await readDurability(redis);
  expect(d).toMatchObject({ aof: true, appendfsync: 'always', replicas: 1, role: 'master' });
  expect(durabilityProblem(d)).toBeUndefined();
  await redis.set('probe', '1');
  expect(await confirmWritten(redis, d, 2000)).toBeUndefined();

  process.kill(st.replica.pid, 'SIGSTOP');
  try {
    await redis.set('probe', '2');
    expect(await confirmWritten(redis, d, 300)).toBe('no replica confirmed it within 300 ms');
  } finally {
    process.kill(st.replica.pid, 'SIGCONT');
  }
}, 30_000);

test('a step whose record the replica does not confirm is not run: the operation pauses, nothing changed', async () => {
  const world = await new FakeWorld().init();
  const a = bot(world, 'unconfirmed:', 5000);
  expect(await a.lease.tryAcquire()).toEqual({ acquired: true });
  a.lease.hold(() => undefined);
  const engine = a.engine();
  await engine.start();
  const req = await engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'unconfirmed write',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
  process.kill(st.replica.pid, 'SIGSTOP');
  try {
    await engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
    const paused = await inPhase(engine, req.op.id, 'paused');
    expect(paused.lastError?.message).toContain(
      'the state store did not confirm the write: nothing was changed (no replica confirmed it within',
    );
  } finally {
    process.kill(st.replica.pid, 'SIGCONT');
  }
  // The scale lane's head start at approval read the cluster, and changed nothing either.
  for (const call of [
    'database.promote',
    'cache.promote',
    'dns.switchTo',
    'cluster.scale',
  ] as const)
    expect(await world.effects(call)).toBe(0);
  await engine.stop();
  await a.lease.release();
}, 60_000);

test('two bots across a Sentinel failover of the state Redis: the stale one is refused by the token, every effect runs once', async () => {
  const world = await new FakeWorld().init();
  const a = bot(world, 'failover:', 800);
  expect(await a.lease.tryAcquire()).toEqual({ acquired: true });
  // A never renews: a process paused or cut off while its promotion runs.
  const engineA = a.engine();
  await engineA.start();
  world.delay('database.promote', 1500);
  const promoting = world.entered('database.promote');
  const id = await requestAndApprove(engineA);
  await promoting;

  // The state Redis's primary dies; the sentinel promotes the replica.
  const before = await st.masterPort();
  await stopRedis(st.primary, 'SIGKILL');
  await failedOverFrom(st, before);

  // B reaches the new primary through the sentinel and takes the lease with a larger token.
  const b = bot(world, 'failover:', 5000);
  await b.lease.waitUntilAcquired({});
  expect(b.lease.fence()!.token).toBeGreaterThan(a.lease.fence()!.token);
  // Whatever A writes now is refused: the lease no longer holds its token.
  const stale = createRedisStore({ redis, prefix: 'failover:', fence: () => a.lease.fence() });
  await expect(
    stale.append(id, [{ type: 'StepResumed', stepId: 'promote-database', opId: id, at: 1 }]),
  ).rejects.toThrow(FencedWriteError);
  await new Promise((r) => setTimeout(r, 1000));
  expect(world.calls.filter((c) => c.startsWith('dns.switchTo'))).toEqual([]);

  b.lease.hold(() => undefined);
  const engineB = b.engine();
  await engineB.start();
  const done = await inPhase(engineB, id, 'completed');
  expect(done.steps.every((s) => s.status === 'succeeded')).toBe(true);
  expect(await world.effects('database.promote')).toBe(1);
  expect(await world.effects('dns.switchTo')).toBe(1);
  const timeline = await b.store.timeline(id);
  const succeeded = timeline.filter((e) => e.type === 'StepSucceeded').map((e) => e.stepId);
  expect(succeeded).toEqual([...new Set(succeeded)]);
}, 90_000);
