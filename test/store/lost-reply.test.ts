/**
 * Store writes whose reply is lost on the way back: a proxy between ioredis and the real Redis
 * forwards the command, lets Redis run it, and drops the connection before the reply arrives.
 * ioredis then resends the command on the new connection (autoResendUnfulfilledCommands), or
 * gives up on it when the connection stays away; either way Redis must end up with one write.
 */
import { Redis } from 'ioredis';
import type { TimelineEntry } from '../../src/domain/types.js';
import { APPEND_IDS_KEPT, createRedisStore, type OperationStore } from '../../src/store/index.js';
import { startLossyProxy, type LossyProxy } from '../support/lossy-proxy.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('store-lost-reply');
let redis: Redis;
let direct: OperationStore;
let proxy: LossyProxy;
let store: OperationStore;

const progress = (opId: string, message: string, at: number): TimelineEntry => ({
  type: 'StepProgress',
  stepId: 'switch-dns',
  message,
  opId,
  at,
});

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  direct = createRedisStore({ redis, prefix });
  const { port } = new URL(REDIS_URL);
  proxy = await startLossyProxy({ port: Number(port || 6379) });
  // As the bot builds it: its own connection, ioredis defaults plus maxRetriesPerRequest 3.
  store = createRedisStore({ url: proxy.url, prefix });
});

afterAll(async () => {
  await store.close();
  await proxy.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

describe('an append whose reply was lost', () => {
  test('resent by ioredis after the reconnect, it is written once', async () => {
    await direct.create({
      id: 'OP-P',
      env: 'append-resend',
      kind: 'failover',
      snapshot: {},
      entries: [],
    });
    const lost = proxy.loseReplyTo('marker-resend-1');
    await store.append('OP-P', [progress('OP-P', 'marker-resend-1', 1)]);
    await lost;
    await store.append('OP-P', [progress('OP-P', 'after', 2)]);
    expect((await direct.timeline('OP-P')).map((e) => e.at)).toEqual([1, 2]);
  });

  test('repeated by the caller with the same appendId after ioredis gave up, it is written once', async () => {
    await direct.create({
      id: 'OP-Q',
      env: 'append-retry',
      kind: 'failover',
      snapshot: {},
      entries: [],
    });
    const entries = [progress('OP-Q', 'marker-retry-1', 1)];
    const lost = proxy.loseReplyTo('marker-retry-1', { outageMs: 1500 });
    // Redis ran it, the reply was lost and the connection stayed away: ioredis rejects the call.
    await expect(store.append('OP-Q', entries, { appendId: 'append-1' })).rejects.toThrow();
    await lost;
    await proxy.listening();
    await store.append('OP-Q', entries, { appendId: 'append-1' });
    expect((await direct.timeline('OP-Q')).map((e) => e.at)).toEqual([1]);
    // Another append (another id) of an equal entry is a new entry.
    await store.append('OP-Q', entries, { appendId: 'append-2' });
    expect((await direct.timeline('OP-Q')).map((e) => e.at)).toEqual([1, 1]);
  });

  test('the append ids an operation has seen are kept bounded (the most recent) and expire', async () => {
    await direct.create({
      id: 'OP-B',
      env: 'append-bounded',
      kind: 'failover',
      snapshot: {},
      entries: [],
    });
    for (let i = 0; i < APPEND_IDS_KEPT + 5; i++)
      await direct.append('OP-B', [progress('OP-B', `m${i}`, i)], { appendId: `a${i}` });
    const key = `${prefix}appends:OP-B`;
    expect(await redis.zcard(key)).toBe(APPEND_IDS_KEPT);
    expect(await redis.zscore(key, 'a4')).toBeNull();
    expect(await redis.zscore(key, `a${APPEND_IDS_KEPT + 4}`)).not.toBeNull();
    // The latest ones still refuse a repeat.
    await direct.append('OP-B', [progress('OP-B', 'again', 0)], {
      appendId: `a${APPEND_IDS_KEPT + 4}`,
    });
    expect(await direct.timeline('OP-B')).toHaveLength(APPEND_IDS_KEPT + 5);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
  });
});

describe('withdraw', () => {
  test('removes an operation still at version 1 with its lock, timeline and metadata; leaves one that moved on', async () => {
    await direct.create({
      id: 'OP-W',
      env: 'withdraw',
      kind: 'failover',
      snapshot: {},
      entries: [progress('OP-W', 'x', 1)],
    });
    await direct.append('OP-W', [progress('OP-W', 'y', 2)]);
    await direct.setMeta('OP-W', 'slack.ts', '1.2');
    expect(await direct.withdraw('OP-W')).toBe('withdrawn');
    expect(await direct.load('OP-W')).toBeNull();
    expect(await direct.timeline('OP-W')).toEqual([]);
    expect(await direct.getMeta('OP-W', 'slack.ts')).toBeNull();
    expect(await direct.activeFor('withdraw')).toBeNull();
    expect(await direct.listActive('withdraw')).toEqual([]);
    expect(await redis.exists(`${prefix}appends:OP-W`)).toBe(0);
    expect(await direct.withdraw('OP-W')).toBe('absent');

    await direct.create({
      id: 'OP-V',
      env: 'withdraw',
      kind: 'failover',
      snapshot: {},
      entries: [],
    });
    await direct.save('OP-V', 1, { moved: true }, []);
    expect(await direct.withdraw('OP-V')).toBe('in-use');
    expect(await direct.load('OP-V')).toMatchObject({ version: 2 });
    expect(await direct.activeFor('withdraw')).toBe('OP-V');
  });
});
