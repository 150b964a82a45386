/**
 * Two bots and the lease's fencing token, on the real Redis: bot A runs a step while its lease
 * expires (it stopped renewing, as a paused or partitioned process does) and bot B takes the lease
 * with a larger token. A's next write is refused by the token, so A never starts the next step;
 * B resumes the operation and completes it with every effect applied once.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { FencedWriteError } from '../../src/errors.js';
import {
  createInstanceLease,
  createRedisStore,
  type InstanceLease,
} from '../../src/store/index.js';
import { APPROVER, inPhase, REQUESTER, testConfig } from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld, redisBackend } from '../support/fakes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('fencing');
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const config = testConfig();
let redis: Redis;
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

/** One bot: its own lease, a store fenced by that lease, and an engine on the shared world. */
function bot(world: FakeWorld, ttlMs: number): { lease: InstanceLease; engine: () => Engine } {
  const lease = createInstanceLease({
    url: REDIS_URL,
    environment: config.environment,
    command: 'dr start',
    prefix,
    ttlMs,
    log,
  });
  const store = createRedisStore({ url: REDIS_URL, prefix, fence: () => lease.fence() });
  closers.push(
    () => lease.close(),
    () => store.close(),
  );
  const approvers = new Set(config.approvals.approvers);
  return {
    lease,
    engine() {
      const engine = createEngine({
        config,
        store,
        providers: createFakeProviders(world),
        authorizer: { isAuthorized: async (u) => approvers.has(u) },
        log,
      });
      closers.push(() => engine.stop());
      return engine;
    },
  };
}

test('a bot whose lease expired cannot write: its next step is refused, the other bot completes the failover once', async () => {
  const world = await new FakeWorld(redisBackend(redis, `${prefix}world:`)).init();
  const a = bot(world, 600);
  expect(await a.lease.tryAcquire()).toEqual({ acquired: true });
  // A never renews: it is paused or cut off while its promotion runs.
  const engineA = a.engine();
  await engineA.start();
  const req = await engineA.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'fencing test',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(engineA, req.op.id, 'awaitingApproval');
  world.delay('database.promote', 1500);
  const promoting = world.entered('database.promote');
  expect(
    (await engineA.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! })).ok,
  ).toBe(true);
  await promoting;

  // A's lease expires during the promotion; B takes it with a larger token.
  const b = bot(world, 5000);
  await b.lease.waitUntilAcquired({});
  expect(b.lease.fence()!.token).toBeGreaterThan(a.lease.fence()!.token);
  // A's promotion ends: its save of the result is refused by the token, and nothing more runs.
  await new Promise((r) => setTimeout(r, 2000));
  expect(await world.effects('database.promote')).toBe(1);
  expect(world.calls.filter((c) => c.startsWith('dns.switchTo'))).toEqual([]);
  const stale = createRedisStore({ redis, prefix, fence: () => a.lease.fence() });
  await expect(stale.append(req.op.id, [])).resolves.toBeUndefined();
  await expect(
    stale.append(req.op.id, [
      { type: 'StepResumed', stepId: 'promote-database', opId: req.op.id, at: 1 },
    ]),
  ).rejects.toThrow(FencedWriteError);

  // B resumes the operation: the promotion is re-checked (already done), the rest runs once.
  b.lease.hold(() => undefined);
  const engineB = b.engine();
  await engineB.start();
  const done = await inPhase(engineB, req.op.id, 'completed');
  expect(done.steps.every((s) => s.status === 'succeeded')).toBe(true);
  expect(await world.effects('database.promote')).toBe(1);
  expect(await world.effects('dns.switchTo')).toBe(1);
  const timeline = await createRedisStore({ redis, prefix }).timeline(req.op.id);
  expect(
    timeline.filter((e) => e.type === 'StepSucceeded' && e.stepId === 'promote-database'),
  ).toHaveLength(1);
}, 30_000);
