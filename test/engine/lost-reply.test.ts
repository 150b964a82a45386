/**
 * A save that Redis applied but whose reply never arrived (the connection dropped after the
 * script ran). The real store on the real Redis does the writing; the reply is lost on the way
 * back, as a reconnect loses it. The runner must not mistake its own write for another
 * process's and stop the operation halfway.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { TimelineEntry } from '../../src/domain/types.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { createRedisStore, type OperationStore } from '../../src/store/index.js';
import { APPROVER, inPhase, REQUESTER, testConfig } from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const types = (tl: TimelineEntry[]) =>
  tl.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));

let redis: Redis;
let prefix: string;
let engine: Engine | undefined;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  await deleteKeys(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

/** The real store, except that the replies of the next `drop` saves are lost after Redis applied them. */
function lossyStore(real: OperationStore) {
  const control = { drop: 0, saves: 0 };
  const store: OperationStore = {
    ...real,
    async save(...args) {
      control.saves += 1;
      const version = await real.save(...args);
      if (control.drop > 0) {
        control.drop -= 1;
        throw new Error('Connection is closed.');
      }
      return version;
    },
  };
  return { store, control };
}

async function setup() {
  prefix = uniquePrefix('lost-reply');
  const real = createRedisStore({ redis, prefix });
  const lossy = lossyStore(real);
  const world = await new FakeWorld().init();
  engine = createEngine({
    config: testConfig(),
    store: lossy.store,
    providers: createFakeProviders(world),
    authorizer: { isAuthorized: async () => true },
    log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
  });
  await engine.start();
  return { engine, real, world, control: lossy.control };
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('a save applied by Redis whose reply was lost', () => {
  test('the retry of the same save counts as done: the failover runs to the end, nothing written twice', async () => {
    const { engine, real, world, control } = await setup();
    control.drop = 1;
    const req = await engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'lost reply',
    });
    if (!req.ok) throw new Error(req.message);
    const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
    expect(control.saves).toBeGreaterThanOrEqual(2);
    expect(
      (await engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! }))
        .ok,
    ).toBe(true);
    await inPhase(engine, waiting.id, 'completed');

    const t = types(await real.timeline(waiting.id));
    expect(t.filter((x) => x === 'ApprovalRequested')).toHaveLength(1);
    expect(t.filter((x) => x === 'PreflightCompleted')).toHaveLength(2);
    expect(t.at(-1)).toBe('OperationCompleted');
    expect(await world.effects('dns.switchTo')).toBe(1);
    expect(await real.activeFor('prod')).toBeNull();
  });

  test('when every retry lost its reply, the next transition finds its own earlier save and goes on', async () => {
    const { engine, real, world, control } = await setup();
    // The first save and all three retries: the runner gives up on it, though Redis has it.
    control.drop = 4;
    const req = await engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'lost replies',
    });
    if (!req.ok) throw new Error(req.message);
    const id = req.op.id;
    await until(
      'the retries of the first save',
      async () => control.saves >= 4 && control.drop === 0,
    );
    const stored = await real.load(id);
    expect(stored?.version).toBe(2);
    const planHash = (stored!.snapshot as { context: { planHash: string } }).context.planHash;

    expect((await engine.approve({ opId: id, userId: APPROVER, planHash })).ok).toBe(true);
    await inPhase(engine, id, 'completed');

    const t = types(await real.timeline(id));
    expect(t.filter((x) => x === 'ApprovalRequested')).toHaveLength(1);
    expect(t.filter((x) => x === 'ApprovalRecorded')).toHaveLength(1);
    expect(t.at(-1)).toBe('OperationCompleted');
    expect(await world.effects('database.promote')).toBe(1);
  });

  test('a save refused because another writer moved the version on still stops this process', async () => {
    const { engine, real } = await setup();
    const req = await engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'two writers',
    });
    if (!req.ok) throw new Error(req.message);
    const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
    const stored = (await real.load(waiting.id))!;
    // Another process writes the next version first.
    await real.save(waiting.id, stored.version, stored.snapshot, []);
    await expect(
      engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! }),
    ).rejects.toThrow(/not driven by this dr-bot process/);
    expect((await real.load(waiting.id))?.version).toBe(stored.version + 1);
  });
});
