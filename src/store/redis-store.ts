// The operation store on the state Redis: createRedisStore wires a connection and hands the
// scripted writes and the reads to their modules; the small commands stay here.
import type { Redis } from 'ioredis';
import { openStateRedis } from './state-redis.js';
import type { TimelineEntry } from '../domain/types.js';
import { storeKeys, type Fence, type RedisStoreContext } from './redis-store-context.js';
import { listActive, loadOperation } from './redis-store-reads.js';
import {
  appendEntries,
  createOperation,
  nextOperationId,
  saveOperation,
  withdrawOperation,
} from './redis-store-writes.js';
import { confirmWritten, durabilityReader } from './durability.js';
import type { OperationStore } from './types.js';

export interface RedisStoreOptions {
  /** An existing connection; the caller keeps owning it (close() leaves it open). */
  redis?: Redis;
  /** Used when `redis` is not given; default redis://127.0.0.1:6379. */
  url?: string;
  /** Key prefix, default `dr:`; tests use their own. */
  prefix?: string;
  /**
   * The instance lease every create, save and append checks first (InstanceLease.fence): a
   * process whose token the lease no longer holds writes nothing. Without it, writes are unfenced.
   */
  fence?: () => Fence | undefined;
}

export function createRedisStore(opts: RedisStoreOptions = {}): OperationStore {
  const prefix = opts.prefix ?? 'dr:';
  const owned = opts.redis === undefined;
  const redis =
    opts.redis ?? openStateRedis(opts.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  // Connection errors reach the caller through the command that failed (ping() false, a rejected
  // save); without a listener ioredis would also print each reconnect attempt to stderr.
  if (owned) redis.on('error', () => {});
  const ctx: RedisStoreContext = {
    redis,
    prefix,
    keys: storeKeys(prefix),
    fence: opts.fence ?? (() => undefined),
  };
  const { keys } = ctx;
  const durability = durabilityReader(redis);

  return {
    nextOperationId: (now) => nextOperationId(ctx, now),
    create: (op) => createOperation(ctx, op),
    save: (id, expectedVersion, snapshot, entries, saveOpts) =>
      saveOperation(ctx, id, expectedVersion, snapshot, entries, saveOpts),
    load: (id) => loadOperation(ctx, id),
    listActive: (env) => listActive(ctx, env),

    async activeFor(env) {
      return redis.get(keys.lock(env));
    },

    async lastFinished(env) {
      return redis.get(keys.last(env));
    },

    append: (id, entries, appendOpts) => appendEntries(ctx, id, entries, appendOpts),
    withdraw: (id) => withdrawOperation(ctx, id),

    async timeline(id) {
      const rows = await redis.xrange(keys.timeline(id), '-', '+');
      return rows.map(([, fields]) => JSON.parse(fields[1]) as TimelineEntry);
    },

    async setMeta(id, key, value) {
      await redis.hset(keys.meta(id), key, value);
    },

    async getMeta(id, key) {
      return redis.hget(keys.meta(id), key);
    },

    confirmWritten: async () => confirmWritten(redis, await durability()),

    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (!owned) return;
      // QUIT needs a live connection; a store whose Redis is gone just drops the socket.
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}
