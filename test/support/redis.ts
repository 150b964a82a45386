import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test file (or run) shares, so tests can run against one Redis. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Delete every key under `prefix` (tests clean up after themselves on the shared server). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/**
 * Clients of lab Redis servers that a test may stop under them: no retries, errors swallowed
 * (the test asserts on what it reads, not on a reconnect), all closed by `closeAll`.
 */
export function labRedisClients(): { connect(url: string): Redis; closeAll(): Promise<void> } {
  const clients: Redis[] = [];
  return {
    connect(url) {
      const r = new Redis(url, {
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        disconnectTimeout: 100,
      });
      r.on('error', () => undefined);
      clients.push(r);
      return r;
    },
    async closeAll() {
      await Promise.all(
        clients
          .splice(0)
          .map((c) =>
            c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : c.disconnect(),
          ),
      );
    },
  };
}
