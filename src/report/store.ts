/**
 * Drill reports in the bot's state Redis, beside the operations (same prefix): the report per
 * operation, the drills of each environment in order, and `drill:last:<env>` (epoch ms of the
 * last completed drill) that readiness reads for "days since the last drill"; and, until the
 * report copies them, the measurements a drill takes beside its steps.
 */
import type { Redis } from 'ioredis';
import { drillLastKey, lastDrillAt, recordDrillAt } from '../readiness/drill-record.js';
import type { DrillMeasure, DrillReport, DrillSummary } from './types.js';
import { summaryOf } from './build.js';

export interface ReportStore {
  save(report: DrillReport): Promise<void>;
  get(opId: string): Promise<DrillReport | null>;
  /** The newest drill of `env` other than `exceptOpId`. */
  previous(env: string, exceptOpId?: string): Promise<DrillSummary | null>;
  lastDrillAt(env: string): Promise<number | null>;
  /** A measurement taken during the drill (one per component; a later one replaces it). */
  saveMeasure(opId: string, measure: DrillMeasure): Promise<void>;
  measures(opId: string): Promise<DrillMeasure[]>;
  /**
   * Take the right to publish `opId`'s report for `ms` (SET NX PX), so two bot processes (a
   * restart overlapping the old one, two replicas starting) never post it twice. False: held.
   */
  claim(opId: string, owner: string, ms: number): Promise<boolean>;
  /** Milliseconds left on a held claim; 0 when none. */
  claimLeftMs(opId: string): Promise<number>;
  /** Give up our claim (publishing failed), so the next attempt need not wait it out. */
  release(opId: string, owner: string): Promise<void>;
}

/** Reports are evidence for audits: kept, not expired. Only the newest ones are listed per env. */
const LISTED_PER_ENV = 50;
/** Measurements only wait for the drill's report, which copies them; no drill runs for a month. */
const MEASURES_TTL_MS = 30 * 86_400_000;

/** Readiness owns the key (it reads "days since the last drill"); re-exported for callers of this store. */
export { drillLastKey };

export function createReportStore(opts: { redis: Redis; prefix?: string }): ReportStore {
  const { redis } = opts;
  const prefix = opts.prefix ?? 'dr:';
  const keys = {
    report: (id: string) => `${prefix}report:${id}`,
    list: (env: string) => `${prefix}drill:reports:${env}`,
    measures: (id: string) => `${prefix}drill:measures:${id}`,
    claim: (id: string) => `${prefix}report:claim:${id}`,
  };

  async function get(opId: string): Promise<DrillReport | null> {
    const raw = await redis.get(keys.report(opId));
    return raw ? (JSON.parse(raw) as DrillReport) : null;
  }

  return {
    async save(report) {
      const multi = redis
        .multi()
        .set(keys.report(report.opId), JSON.stringify(report))
        .lrem(keys.list(report.env), 0, report.opId)
        .lpush(keys.list(report.env), report.opId)
        .ltrim(keys.list(report.env), 0, LISTED_PER_ENV - 1);
      const res = await multi.exec();
      const failed = res?.find(([err]) => err);
      if (failed) throw failed[0];
      // Only a completed drill counts as "a drill happened"; an aborted one still gets its report.
      if (report.phase === 'completed') await recordDrillAt({ redis, prefix }, report.env, report.finishedAt);
    },
    get,
    async previous(env, exceptOpId) {
      const ids = await redis.lrange(keys.list(env), 0, 5);
      for (const id of ids) {
        if (id === exceptOpId) continue;
        const r = await get(id);
        if (r) return summaryOf(r);
      }
      return null;
    },
    lastDrillAt: (env) => lastDrillAt({ redis, prefix }, env),
    async saveMeasure(opId, measure) {
      const res = await redis.multi().hset(keys.measures(opId), measure.component, JSON.stringify(measure)).pexpire(keys.measures(opId), MEASURES_TTL_MS).exec();
      const failed = res?.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async measures(opId) {
      const all = await redis.hgetall(keys.measures(opId));
      return Object.values(all).map((raw) => JSON.parse(raw) as DrillMeasure);
    },
    async claim(opId, owner, ms) {
      return (await redis.set(keys.claim(opId), owner, 'PX', ms, 'NX')) === 'OK';
    },
    async claimLeftMs(opId) {
      return Math.max(0, await redis.pttl(keys.claim(opId)));
    },
    async release(opId, owner) {
      // Only our own: a claim that expired meanwhile may be another process's now.
      await redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, keys.claim(opId), owner);
    },
  };
}
