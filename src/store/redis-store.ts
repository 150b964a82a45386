import { randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { OperationKind, TimelineEntry } from '../domain/types.js';
import { DrError, StaleVersionError } from '../errors.js';
import { APPEND_SCRIPT, CREATE_SCRIPT, SAVE_SCRIPT, WITHDRAW_SCRIPT } from './scripts.js';
import type { CreateResult, OperationStore, PersistedOperation, WithdrawResult } from './types.js';

export interface RedisStoreOptions {
  /** An existing connection; the caller keeps owning it (close() leaves it open). */
  redis?: Redis;
  /** Used when `redis` is not given; default redis://127.0.0.1:6379. */
  url?: string;
  /** Key prefix, default `dr:`; tests use their own. */
  prefix?: string;
}

/** Day counters outlive their day a little so an id issued just before midnight UTC stays unique. */
const COUNTER_TTL_SECONDS = 3 * 24 * 3600;
/**
 * How many of an operation's latest append ids are remembered, and for how long after its last
 * append: enough to recognise a resend or a retry, which come right after the lost reply.
 */
export const APPEND_IDS_KEPT = 200;
const APPEND_IDS_TTL_SECONDS = 24 * 3600;

export function createRedisStore(opts: RedisStoreOptions = {}): OperationStore {
  const prefix = opts.prefix ?? 'dr:';
  const owned = opts.redis === undefined;
  const redis =
    opts.redis ?? new Redis(opts.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  // Connection errors reach the caller through the command that failed (ping() false, a rejected
  // save); without a listener ioredis would also print each reconnect attempt to stderr.
  if (owned) redis.on('error', () => {});

  const keys = {
    op: (id: string) => `${prefix}op:${id}`,
    timeline: (id: string) => `${prefix}timeline:${id}`,
    meta: (id: string) => `${prefix}meta:${id}`,
    appends: (id: string) => `${prefix}appends:${id}`,
    lock: (env: string) => `${prefix}lock:${env}`,
    last: (env: string) => `${prefix}last:${env}`,
    day: (day: string) => `${prefix}seq:${day}`,
    active: `${prefix}active`,
  };

  const encode = (entries: TimelineEntry[]) => entries.map((e) => JSON.stringify(e));

  return {
    async nextOperationId(now = new Date()) {
      const day = now.toISOString().slice(0, 10).replaceAll('-', '');
      const [[incErr, n], [expErr]] = (await redis
        .multi()
        .incr(keys.day(day))
        .expire(keys.day(day), COUNTER_TTL_SECONDS)
        .exec()) as [[Error | null, number], [Error | null, unknown]];
      if (incErr ?? expErr) throw incErr ?? expErr;
      return `DR-${day}-${String(n).padStart(4, '0')}`;
    },

    async create(op): Promise<CreateResult> {
      let res: [number, string | number];
      try {
        res = (await redis.eval(
          CREATE_SCRIPT,
          4,
          keys.lock(op.env),
          keys.op(op.id),
          keys.timeline(op.id),
          keys.active,
          op.id,
          op.env,
          op.kind,
          JSON.stringify(op.snapshot),
          String(Date.now()),
          ...encode(op.entries),
        )) as [number, string | number];
      } catch (err) {
        // Redis answered with an error: the script refused before writing, and repeating it
        // would be refused again. Anything else (a lost connection) leaves the outcome open.
        if (err instanceof ReplyError)
          throw new DrError(
            'conflict',
            `the state Redis refused to create ${op.id}: ${(err as Error).message}`,
            { cause: err },
          );
        throw err;
      }
      if (res[0] === 1) return { ok: true, version: Number(res[1]) };
      return { ok: false, activeId: String(res[1]) };
    },

    async save(id, expectedVersion, snapshot, entries, saveOpts = {}) {
      const res = (await redis.eval(
        SAVE_SCRIPT,
        3,
        keys.op(id),
        keys.timeline(id),
        keys.active,
        id,
        String(expectedVersion),
        JSON.stringify(snapshot),
        String(Date.now()),
        saveOpts.final ? '1' : '0',
        prefix,
        saveOpts.saveId ?? randomUUID(),
        ...encode(entries),
      )) as [number, number | null];
      if (res[0] === 1) return Number(res[1]);
      throw new StaleVersionError(id, expectedVersion, res[1] ?? null);
    },

    async load(id): Promise<PersistedOperation | null> {
      const h = await redis.hgetall(keys.op(id));
      if (!h.version) return null;
      // A snapshot that is not JSON must not make the operation unloadable: the engine reports it
      // and an approver can still close it.
      let snapshot: unknown;
      let snapshotError: string | undefined;
      try {
        snapshot = JSON.parse(h.snapshot ?? '') as unknown;
      } catch (err) {
        snapshotError = `its stored snapshot is not valid JSON (${err instanceof Error ? err.message : String(err)})`;
      }
      return {
        id,
        env: h.env,
        kind: h.kind as OperationKind,
        version: Number(h.version),
        status: h.status === 'finished' ? 'finished' : 'active',
        snapshot,
        updatedAt: Number(h.updatedAt),
        ...(h.saveId ? { saveId: h.saveId } : {}),
        ...(snapshotError ? { snapshotError } : {}),
      };
    },

    async listActive(env) {
      const ids = (await redis.smembers(keys.active)).sort();
      if (env === undefined) return ids;
      const envs = await Promise.all(ids.map((id) => redis.hget(keys.op(id), 'env')));
      return ids.filter((_, i) => envs[i] === env);
    },

    async activeFor(env) {
      return redis.get(keys.lock(env));
    },

    async lastFinished(env) {
      return redis.get(keys.last(env));
    },

    async append(id, entries, appendOpts = {}) {
      if (entries.length === 0) return;
      const ok = await redis.eval(
        APPEND_SCRIPT,
        3,
        keys.op(id),
        keys.timeline(id),
        keys.appends(id),
        appendOpts.appendId ?? randomUUID(),
        String(APPEND_IDS_KEPT),
        String(APPEND_IDS_TTL_SECONDS),
        ...encode(entries),
      );
      if (ok !== 1)
        throw new DrError(
          'not-found',
          `operation ${id} does not exist in the store: timeline entry not written`,
        );
    },

    async withdraw(id): Promise<WithdrawResult> {
      const res = await redis.eval(
        WITHDRAW_SCRIPT,
        5,
        keys.op(id),
        keys.timeline(id),
        keys.meta(id),
        keys.appends(id),
        keys.active,
        id,
        prefix,
      );
      return res === 1 ? 'withdrawn' : res === 0 ? 'absent' : 'in-use';
    },

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
