/**
 * Where the last finished drill is recorded: one Redis key per environment holding epoch
 * milliseconds, written by the drill when it finishes and read by the drill-age check. A plain
 * key (not the operation store) so either side can be built and tested without the other.
 */
import type { Redis } from 'ioredis';

/** Key prefix shared with the operation store's default. */
export const DEFAULT_READINESS_PREFIX = 'dr:';

/** `<prefix>drill:last:<env>` = epoch ms of the last finished drill. */
export function drillLastKey(prefix: string, env: string): string {
  return `${prefix}drill:last:${env}`;
}

export interface DrillRecordStore {
  redis: Redis;
  prefix: string;
}

/** When the last drill of `env` finished, or null when none was ever recorded. */
export async function lastDrillAt(store: DrillRecordStore, env: string): Promise<number | null> {
  const raw = await store.redis.get(drillLastKey(store.prefix, env));
  if (raw === null) return null;
  const at = Number(raw);
  return Number.isFinite(at) && at > 0 ? at : null;
}

/** Record a finished drill (the drill calls this); an older time never overwrites a newer one. */
export async function recordDrillAt(
  store: DrillRecordStore,
  env: string,
  at: number,
): Promise<void> {
  const key = drillLastKey(store.prefix, env);
  await store.redis.eval(
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end return 1",
    1,
    key,
    String(Math.round(at)),
  );
}
