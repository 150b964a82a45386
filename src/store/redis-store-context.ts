// What the Redis operation store's functions share: the connection, the key prefix and the key
// names built from it, and how timeline entries are written.
import type { Redis } from 'ioredis';
import type { TimelineEntry } from '../domain/types.js';

export interface RedisStoreContext {
  redis: Redis;
  prefix: string;
  keys: ReturnType<typeof storeKeys>;
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
