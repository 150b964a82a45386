// What the Redis operation store's functions share: the connection, the key prefix and the key
// names built from it, and how timeline entries are written.
import type { Redis } from 'ioredis';
import type { TimelineEntry } from '../domain/types.js';

/** The instance lease a store's writes are fenced by: its key and the token this process holds. */
export interface Fence {
  key: string;
  token: number;
}

export interface RedisStoreContext {
  redis: Redis;
  prefix: string;
  keys: ReturnType<typeof storeKeys>;
  /** The lease to check before each write; undefined: writes are not fenced (no lease yet). */
  fence: () => Fence | undefined;
}

/** The lease key and token arguments of a fenced script ('' token: not fenced). */
export function fenceArgs(ctx: RedisStoreContext): { key: string; token: string; fence?: Fence } {
  const f = ctx.fence();
  return f
    ? { key: f.key, token: String(f.token), fence: f }
    : { key: `${ctx.prefix}lease:unfenced`, token: '' };
}

export function storeKeys(prefix: string) {
  return {
    op: (id: string) => `${prefix}op:${id}`,
    timeline: (id: string) => `${prefix}timeline:${id}`,
    meta: (id: string) => `${prefix}meta:${id}`,
    appends: (id: string) => `${prefix}appends:${id}`,
    lock: (env: string) => `${prefix}lock:${env}`,
    last: (env: string) => `${prefix}last:${env}`,
    day: (day: string) => `${prefix}seq:${day}`,
    active: `${prefix}active`,
  };
}

export const encode = (entries: TimelineEntry[]) => entries.map((e) => JSON.stringify(e));
