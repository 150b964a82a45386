/**
 * The engine on the real store and the real Redis, with the store's connection going through a
 * proxy that loses replies: a command reaches Redis and runs, and the connection drops before the
 * reply gets back (then, optionally, stays away for a while). What the requester is told and what
 * the timeline shows must match what Redis holds.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { TimelineEntry } from '../../src/domain/types.js';
import { createEngine, type Engine, type EngineNotification } from '../../src/engine/index.js';
import { createRedisStore, type OperationStore } from '../../src/store/index.js';
import { APPROVER, inPhase, REQUESTER, testConfig } from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';
import { startLossyProxy, type LoseOptions, type LossyProxy } from '../support/lossy-proxy.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const REQUESTED = '"type":"OperationRequested"';
/** The fake DNS provider's progress message during a failover's switch-dns step. */
const DNS_PROGRESS = 'change submitted for secondary';

let redis: Redis;
let proxy: LossyProxy;
let prefix: string;
/** The same keys read straight from Redis, past the proxy. */
let direct: OperationStore;
let engine: Engine | undefined;
let store: OperationStore | undefined;
let notifications: EngineNotification[];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  const { port } = new URL(REDIS_URL);
  proxy = await startLossyProxy({ port: Number(port || 6379) });
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  await store?.close();
  store = undefined;
  await proxy.listening();
  await deleteKeys(redis, prefix);
});
afterAll(async () => {
  await proxy.close();
  await redis.quit();
});

/**
 * `fastGiveUp`: a connection whose commands fail at the first failed reconnect instead of after
 * ioredis's three (maxRetriesPerRequest 0), and the engine's retries of a lost write 20–100 ms
 * apart instead of 200 ms–3 s, so that "Redis stays away longer than every retry" takes a second,
 * not a minute. Otherwise the store owns its connection as the bot builds it.
 */
async function setup(opts: { fastGiveUp?: boolean; tickMs?: number } = {}) {
  prefix = uniquePrefix('dropped-connection');
  direct = createRedisStore({ redis, prefix });
  if (opts.fastGiveUp) {
    const conn = new Redis(proxy.url, { maxRetriesPerRequest: 0 });
    conn.on('error', () => {});
    const shared = createRedisStore({ redis: conn, prefix });
    store = { ...shared, close: async () => conn.disconnect() };
  } else {
    store = createRedisStore({ url: proxy.url, prefix });
  }
  const world = await new FakeWorld().init();
  engine = createEngine({
    config: testConfig(),
    store,
    providers: createFakeProviders(world),
    authorizer: { isAuthorized: async () => true },
    log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
    ...(opts.fastGiveUp ? { saveRetryDelaysMs: [20, 50, 100] } : {}),
  });
  notifications = [];
  engine.subscribe((n) => notifications.push(n));
  await engine.start();
  return { engine, world };
}

const count = (tl: TimelineEntry[], pred: (e: TimelineEntry) => boolean) => tl.filter(pred).length;
const isDnsProgress = (e: TimelineEntry) => e.type === 'StepProgress' && e.message === DNS_PROGRESS;

async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function failover(engine: Engine, opId: string) {
  const waiting = await inPhase(engine, opId, 'awaitingApproval');
  expect((await engine.approve({ opId, userId: APPROVER, planHash: waiting.planHash! })).ok).toBe(
    true,
  );
  return inPhase(engine, opId, 'completed');
}

describe('a create whose reply was lost', () => {
  test('while Redis is away for a moment: the request answers with the created operation and its card, recorded once', async () => {
    const { engine } = await setup();
    const lost = proxy.loseReplyTo(REQUESTED, { outageMs: 1500 });
    const req = await engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'create reply lost',
    });
    await lost;
    if (!req.ok) throw new Error(req.message);
    const id = req.op.id;
    expect(await direct.activeFor('prod')).toBe(id);
    // The card: the adapters were told of the new operation with its request.
    expect(
      notifications.some(
        (n) => n.op.id === id && n.entries.some((e) => e.type === 'OperationRequested'),
      ),
    ).toBe(true);
    await failover(engine, id);
    const tl = await direct.timeline(id);
    expect(count(tl, (e) => e.type === 'OperationRequested')).toBe(1);
    expect(tl.at(-1)?.type).toBe('OperationCompleted');
    expect(await direct.activeFor('prod')).toBeNull();
  });

  test('while Redis stays away past every retry: a clear failure, and the operation Redis recorded does not hold the environment', async () => {
    const { engine } = await setup({ fastGiveUp: true });
    const lost = proxy.loseReplyTo(REQUESTED, { outageMs: 2000 });
    const failed = engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'create reply lost for good',
    });
    await expect(failed).rejects.toThrow(
      /could not record DR-\S+ in the state Redis, so nothing was started: .*removes it as soon as Redis answers again/,
    );
    await lost;
    const id = /could not record (DR-\S+)/.exec(
      ((await failed.catch((e: unknown) => e)) as Error).message,
    )![1]!;
    // Redis did run the create: it holds the operation and the lock that nobody was shown.
    expect(await direct.activeFor('prod')).toBe(id);

    await proxy.listening();
    const next = await engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'second try',
    });
    if (!next.ok) throw new Error(`the retry was refused: ${next.message}`);
    expect(next.op.id).not.toBe(id);
    expect(await direct.load(id)).toBeNull();
    expect(await direct.timeline(id)).toEqual([]);
    expect(await direct.activeFor('prod')).toBe(next.op.id);
    expect(await direct.listActive('prod')).toEqual([next.op.id]);
    expect(notifications.filter((n) => n.op.id === id)).toEqual([]);
  });

  test('the unconfirmed operation is removed once Redis answers, without waiting for another request', async () => {
    const { engine } = await setup({ fastGiveUp: true, tickMs: 100 });
    const lost = proxy.loseReplyTo(REQUESTED, { outageMs: 2000 });
    await expect(
      engine.request({
        kind: 'failover',
        mode: 'auto',
        requester: REQUESTER,
        reason: 'lost for good',
      }),
    ).rejects.toThrow(/could not record/);
    await lost;
    const id = (await direct.activeFor('prod'))!;
    expect(id).toMatch(/^DR-/);
    await proxy.listening();
    await until(
      'the unconfirmed operation to be removed',
      async () => (await direct.load(id)) === null,
    );
    expect(await direct.activeFor('prod')).toBeNull();
    expect((await engine.status()).active).toBeNull();
  });
});

describe('a step progress entry whose reply was lost', () => {
  test.each<[string, string, LoseOptions]>([
    [
      'resent by ioredis after the reconnect: the timeline shows it once',
      'progress reply lost',
      {},
    ],
    [
      'that never reached Redis while the connection was away: retried, and on the timeline once',
      'progress not delivered',
      { beforeForward: true, outageMs: 1500 },
    ],
  ])('%s', async (_name, reason, loss) => {
    const { engine } = await setup();
    const lost = proxy.loseReplyTo(DNS_PROGRESS, loss);
    const req = await engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason,
    });
    if (!req.ok) throw new Error(req.message);
    await failover(engine, req.op.id);
    await lost;
    const tl = await direct.timeline(req.op.id);
    expect(count(tl, isDnsProgress)).toBe(1);
    expect(tl.at(-1)?.type).toBe('OperationCompleted');
  });
});
