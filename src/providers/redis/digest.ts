/**
 * Digests of Redis values for the failback consistency check. Logical (type + content, members in
 * a fixed order), not DUMP bytes: a replica loaded from an RDB may encode the same value
 * differently (listpack vs hashtable), and DEBUG DIGEST-VALUE is disabled by default since 7.0.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

async function valueOf(r: Redis, key: string): Promise<unknown> {
  const type = await r.type(key);
  switch (type) {
    case 'none':
      return null;
    case 'string':
      return [type, await r.getBuffer(key).then((b) => b?.toString('base64') ?? null)];
    case 'hash':
      return [
        type,
        Object.entries(await r.hgetall(key)).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      ];
    case 'set':
      return [type, (await r.smembers(key)).sort()];
    case 'zset':
      return [type, await r.zrange(key, 0, -1, 'WITHSCORES')];
    case 'list':
      return [type, await r.lrange(key, 0, -1)];
    case 'stream':
      return [type, await r.xrange(key, '-', '+')];
    default:
      // Module types: compare the serialized form, the only portable view of them.
      return [type, (await r.dumpBuffer(key))?.toString('base64') ?? null];
  }
}

/** Keys read at once: ioredis pipelines them on the one connection, so a far-away server costs a few round trips, not one per key. */
const BATCH = 100;

export async function digestsOf(r: Redis, keys: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < keys.length; i += BATCH) {
    const batch = keys.slice(i, i + BATCH);
    const values = await Promise.all(batch.map((key) => valueOf(r, key)));
    batch.forEach((key, j) =>
      out.set(key, createHash('sha1').update(JSON.stringify(values[j])).digest('hex')),
    );
  }
  return out;
}

/** Up to `limit` keys found by SCAN, with their digests. */
export async function sampleDigests(r: Redis, limit: number): Promise<Map<string, string>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'COUNT', 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0' && keys.length < limit);
  return digestsOf(r, keys.slice(0, limit));
}
