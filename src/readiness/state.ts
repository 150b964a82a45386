/**
 * What the readiness monitor remembers in Redis, so a restarted bot (or a second replica) neither
 * repeats an alert nor forgets to send the recovery: per check whether a "degraded" message went
 * out and since when, and the last report for `/dr status`. The alert flag changes by
 * compare-and-set, so of two monitors seeing the same change only one posts.
 */
import type { Redis } from 'ioredis';
import { openStateRedis } from '../store/state-redis.js';
import { DEFAULT_READINESS_PREFIX } from './drill-record.js';
import type { ReadinessCheckId, ReadinessReport } from './types.js';

/** HSET/HDEL field `ARGV[1]` only if it still holds `ARGV[2]` ('' = absent); '' as new value deletes. */
const CAS_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == false then cur = '' end
if cur ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;

export interface AlertState {
  /** When the check became degraded (the alert's start). */
  since: number;
}

export interface ReadinessState {
  readonly redis: Redis;
  readonly prefix: string;
  alert(env: string, id: ReadinessCheckId): Promise<{ raw: string; state: AlertState } | null>;
  /** Swap the stored alert from `expected` (raw, or null for none) to `next` (null clears); false when another writer got there first. */
  swapAlert(
    env: string,
    id: ReadinessCheckId,
    expected: string | null,
    next: AlertState | null,
  ): Promise<{ ok: boolean; raw: string | null }>;
  saveReport(report: ReadinessReport): Promise<void>;
  lastReport(env: string): Promise<ReadinessReport | null>;
  close(): Promise<void>;
}

export interface ReadinessStateOptions {
  /** An existing connection (the caller keeps owning it), or a URL to open one. */
  redis?: Redis;
  url?: string;
  prefix?: string;
}

export function createReadinessState(opts: ReadinessStateOptions = {}): ReadinessState {
  const prefix = opts.prefix ?? DEFAULT_READINESS_PREFIX;
  const owned = opts.redis === undefined;
  const redis =
    opts.redis ?? openStateRedis(opts.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  // Failures surface through the command that failed (a check run logs it); no reconnect noise.
  if (owned) redis.on('error', () => {});
  const alertsKey = (env: string): string => `${prefix}readiness:alerts:${env}`;
  const reportKey = (env: string): string => `${prefix}readiness:last:${env}`;

  return {
    redis,
    prefix,
    async alert(env, id) {
      const raw = await redis.hget(alertsKey(env), id);
      if (raw === null) return null;
      return { raw, state: JSON.parse(raw) as AlertState };
    },
    async swapAlert(env, id, expected, next) {
      const raw = next === null ? null : JSON.stringify(next);
      const ok = await redis.eval(CAS_SCRIPT, 1, alertsKey(env), id, expected ?? '', raw ?? '');
      return { ok: ok === 1, raw };
    },
    async saveReport(report) {
      await redis.set(reportKey(report.env), JSON.stringify(report));
    },
    async lastReport(env) {
      const raw = await redis.get(reportKey(env));
      return raw === null ? null : (JSON.parse(raw) as ReadinessReport);
    },
    async close() {
      if (!owned) return;
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}
