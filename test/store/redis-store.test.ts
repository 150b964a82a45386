import { Redis } from 'ioredis';
import type { TimelineEntry } from '../../src/domain/types.js';
import { StaleVersionError } from '../../src/errors.js';
import { createRedisStore } from '../../src/store/index.js';
import type { OperationStore } from '../../src/store/index.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('store');
let redis: Redis;
let store: OperationStore;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  store = createRedisStore({ redis, prefix });
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await store.close();
  await redis.quit();
});

function entry(
  opId: string,
  type: 'OperationExpired' | 'OperationRequested',
  at: number,
): TimelineEntry {
  return type === 'OperationExpired'
    ? { type, opId, at }
    : { type, opId, at, kind: 'failover', requestedMode: 'auto', requester: 'U1', reason: 'drill' };
}

describe('redis store', () => {
  test('ids read as the UTC time of the request and never repeat within a store', async () => {
    const day = new Date('2031-03-04T23:59:00Z');
    const a = await store.nextOperationId(day);
    const b = await store.nextOperationId(day);
    const earlier = await store.nextOperationId(new Date('2031-03-04T08:00:00Z'));
    const other = await store.nextOperationId(new Date('2031-03-05T00:01:00Z'));
    expect(a).toBe('DR-20310304-235900');
    expect(b).toBe('DR-20310304-235901');
    // A clock that stepped back still gets a new id.
    expect(earlier).toBe('DR-20310304-235902');
    expect(other).toBe('DR-20310305-000100');
  });

  test('create takes the env lock; a second operation gets the active id and writes nothing', async () => {
    const first = await store.create({
      id: 'OP-A',
      env: 'prod',
      kind: 'failover',
      snapshot: { s: 1 },
      entries: [entry('OP-A', 'OperationRequested', 1)],
    });
    expect(first).toEqual({ ok: true, version: 1 });
    const second = await store.create({
      id: 'OP-B',
      env: 'prod',
      kind: 'failover',
      snapshot: { s: 1 },
      entries: [entry('OP-B', 'OperationRequested', 2)],
    });
    expect(second).toEqual({ ok: false, activeId: 'OP-A' });
    expect(await store.load('OP-B')).toBeNull();
    expect(await store.timeline('OP-B')).toEqual([]);
    expect(await store.activeFor('prod')).toBe('OP-A');

    // another environment has its own lock
    const staging = await store.create({
      id: 'OP-S',
      env: 'staging',
      kind: 'failback',
      snapshot: {},
      entries: [],
    });
    expect(staging.ok).toBe(true);
    expect(await store.listActive()).toEqual(['OP-A', 'OP-S']);
    expect(await store.listActive('prod')).toEqual(['OP-A']);
    expect(await store.listActive('staging')).toEqual(['OP-S']);

    const loaded = await store.load('OP-A');
    expect(loaded).toMatchObject({
      id: 'OP-A',
      env: 'prod',
      kind: 'failover',
      version: 1,
      status: 'active',
      snapshot: { s: 1 },
    });
  });

  test('compare-and-set: of two writers holding version 1, the second is refused and writes nothing', async () => {
    await store.create({
      id: 'OP-C',
      env: 'cas',
      kind: 'failover',
      snapshot: { n: 0 },
      entries: [],
    });
    const v2 = await store.save('OP-C', 1, { n: 'writer-1' }, [
      entry('OP-C', 'OperationExpired', 10),
    ]);
    expect(v2).toBe(2);

    const stale = store.save('OP-C', 1, { n: 'writer-2' }, [entry('OP-C', 'OperationExpired', 11)]);
    await expect(stale).rejects.toBeInstanceOf(StaleVersionError);
    await expect(stale).rejects.toThrow('expected version 1, store has 2');

    const loaded = await store.load('OP-C');
    expect(loaded?.version).toBe(2);
    expect(loaded?.snapshot).toEqual({ n: 'writer-1' });
    expect((await store.timeline('OP-C')).map((e) => e.at)).toEqual([10]);

    await expect(store.save('NOPE', 1, {}, [])).rejects.toThrow('store has none');
  });

  test('a save repeated after it was applied (its reply lost) succeeds again and writes nothing twice', async () => {
    await store.create({
      id: 'OP-I',
      env: 'idem',
      kind: 'failover',
      snapshot: { n: 0 },
      entries: [],
    });
    const save = () =>
      store.save('OP-I', 1, { n: 'one' }, [entry('OP-I', 'OperationExpired', 20)], {
        saveId: 'save-1',
      });
    expect(await save()).toBe(2);
    expect(await save()).toBe(2);
    const loaded = await store.load('OP-I');
    expect(loaded).toMatchObject({ version: 2, snapshot: { n: 'one' }, saveId: 'save-1' });
    expect((await store.timeline('OP-I')).map((e) => e.at)).toEqual([20]);

    // Another writer that read version 1 is still refused, with its own id or none.
    await expect(
      store.save('OP-I', 1, { n: 'other' }, [entry('OP-I', 'OperationExpired', 21)], {
        saveId: 'save-2',
      }),
    ).rejects.toBeInstanceOf(StaleVersionError);
    await expect(
      store.save('OP-I', 1, { n: 'other' }, [entry('OP-I', 'OperationExpired', 21)]),
    ).rejects.toBeInstanceOf(StaleVersionError);
    // The same id at the wrong version is no excuse either.
    await expect(
      store.save('OP-I', 0, { n: 'one' }, [], { saveId: 'save-1' }),
    ).rejects.toBeInstanceOf(StaleVersionError);
    expect(await store.load('OP-I')).toMatchObject({ version: 2, snapshot: { n: 'one' } });
    expect((await store.timeline('OP-I')).map((e) => e.at)).toEqual([20]);

    // A final save repeated: still success, the lock stays released, no second entry.
    const final = () =>
      store.save('OP-I', 2, { n: 'done' }, [entry('OP-I', 'OperationExpired', 22)], {
        final: true,
        saveId: 'save-3',
      });
    expect(await final()).toBe(3);
    expect(await final()).toBe(3);
    expect(await store.activeFor('idem')).toBeNull();
    expect((await store.timeline('OP-I')).map((e) => e.at)).toEqual([20, 22]);
  });

  test('a create repeated after it was applied (resent after a reconnect) succeeds again and writes nothing twice', async () => {
    const create = () =>
      store.create({
        id: 'OP-K',
        env: 'idem-create',
        kind: 'failover',
        snapshot: { n: 0 },
        entries: [entry('OP-K', 'OperationRequested', 1)],
      });
    expect(await create()).toEqual({ ok: true, version: 1 });
    expect(await create()).toEqual({ ok: true, version: 1 });
    expect(await store.timeline('OP-K')).toHaveLength(1);
    // Another operation still finds the lock held.
    expect(
      await store.create({
        id: 'OP-L',
        env: 'idem-create',
        kind: 'failover',
        snapshot: {},
        entries: [],
      }),
    ).toEqual({ ok: false, activeId: 'OP-K' });
  });

  test('two connections racing on the same version: exactly one save wins', async () => {
    const other = createRedisStore({ url: REDIS_URL, prefix });
    try {
      await store.create({
        id: 'OP-R',
        env: 'race',
        kind: 'failover',
        snapshot: { by: 'creator' },
        entries: [],
      });
      const results = await Promise.allSettled([
        store.save('OP-R', 1, { by: 'first' }, [entry('OP-R', 'OperationExpired', 1)]),
        other.save('OP-R', 1, { by: 'second' }, [entry('OP-R', 'OperationExpired', 2)]),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(StaleVersionError);
      const winner = results[0].status === 'fulfilled' ? 'first' : 'second';
      expect((await store.load('OP-R'))?.snapshot).toEqual({ by: winner });
      expect(await store.timeline('OP-R')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  test('timeline keeps the order of creation, saves and appends', async () => {
    await store.create({
      id: 'OP-T',
      env: 'timeline',
      kind: 'failover',
      snapshot: {},
      entries: [entry('OP-T', 'OperationRequested', 1), entry('OP-T', 'OperationExpired', 2)],
    });
    await store.append('OP-T', [entry('OP-T', 'OperationExpired', 3)]);
    await store.save('OP-T', 1, {}, [
      entry('OP-T', 'OperationExpired', 4),
      entry('OP-T', 'OperationExpired', 5),
    ]);
    await store.append('OP-T', [entry('OP-T', 'OperationExpired', 6)]);
    const tl = await store.timeline('OP-T');
    expect(tl.map((e) => e.at)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tl[0]).toEqual(entry('OP-T', 'OperationRequested', 1));
    await expect(
      store.append('MISSING', [entry('MISSING', 'OperationExpired', 1)]),
    ).rejects.toThrow('does not exist');
  });

  test('a final save releases the lock, records the last finished op, and refuses later writes', async () => {
    await store.create({ id: 'OP-F', env: 'final', kind: 'failover', snapshot: {}, entries: [] });
    expect(await store.listActive('final')).toEqual(['OP-F']);
    const v = await store.save('OP-F', 1, { done: true }, [entry('OP-F', 'OperationExpired', 1)], {
      final: true,
    });
    expect(v).toBe(2);
    expect(await store.activeFor('final')).toBeNull();
    expect(await store.lastFinished('final')).toBe('OP-F');
    expect(await store.listActive('final')).toEqual([]);
    expect((await store.load('OP-F'))?.status).toBe('finished');
    await expect(store.save('OP-F', 2, { done: false }, [])).rejects.toBeInstanceOf(
      StaleVersionError,
    );

    // the env is free again
    const next = await store.create({
      id: 'OP-G',
      env: 'final',
      kind: 'failback',
      snapshot: {},
      entries: [],
    });
    expect(next.ok).toBe(true);
  });

  test('meta values and ping', async () => {
    await store.setMeta('OP-A', 'slack.ts', '123.456');
    expect(await store.getMeta('OP-A', 'slack.ts')).toBe('123.456');
    expect(await store.getMeta('OP-A', 'other')).toBeNull();
    expect(await store.ping()).toBe(true);
  });
});

test('a store whose Redis does not answer reports ping false and closes without hanging', async () => {
  const dead = createRedisStore({ url: 'redis://127.0.0.1:1', prefix: 'unused:' });
  expect(await dead.ping()).toBe(false);
  await dead.close();
});
