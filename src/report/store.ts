/**
 * Drill reports in the bot's state Redis, beside the operations (same prefix): the report per
 * operation, the drills of each environment in order, and `drill:last:<env>` (epoch ms of the
 * last completed drill) that readiness reads for "days since the last drill"; and, until the
 * report copies them, the measurements a drill takes beside its steps.
 *
 * Storing a report and publishing it (the adapters posted or printed it) are recorded apart, so
 * a bot that stops in between publishes it at its next start: `drill:unpublished:<env>` holds the
 * drills that ran and whose report has not been published yet (a sorted set by when they were
 * approved), `report:published:<id>` when one was. Published means the channel of record has it:
 * the incident channel (Slack). An adapter that is no record (the console prints what it sees) is
 * recorded apart, `report:delivered:<adapter>:<id>`, so that it does not print a report twice and
 * never takes it off the list for Slack.
 */
import type { Redis } from 'ioredis';
import { drillLastKey, lastDrillAt, recordDrillAt } from '../readiness/drill-record.js';
import type { DrillMeasure, DrillReport, DrillSummary } from './types.js';
import { summaryOf } from './build.js';

export interface ReportStore {
  /** Keeps the report; until `markPublished` it is awaiting publication (never again once published). */
  save(report: DrillReport): Promise<void>;
  get(opId: string): Promise<DrillReport | null>;
  /**
   * The newest drill of `env` other than `exceptOpId`; with `before` (epoch ms), the newest that
   * finished before it, so a report built late (recovered at a start) is compared with the drill
   * before it, not with a later one.
   */
  previous(env: string, exceptOpId?: string, before?: number): Promise<DrillSummary | null>;
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
  /** Give up our claim (publishing is over, or failed), so the next attempt need not wait it out. */
  release(opId: string, owner: string): Promise<void>;
  /**
   * A drill ran (`at`: when it was approved): its report is awaiting publication until
   * `markPublished`, also when the bot stops before the report is even built. No-op once published.
   */
  awaitPublication(env: string, opId: string, at: number): Promise<void>;
  /** The channel of record (Slack) published the report: no start publishes it again. */
  markPublished(env: string, opId: string, at: number): Promise<void>;
  isPublished(opId: string): Promise<boolean>;
  /** An adapter that is no channel of record (the console) has shown the report; it stays awaiting publication. */
  markDelivered(opId: string, adapter: string, at: number): Promise<void>;
  isDelivered(opId: string, adapter: string): Promise<boolean>;
  /** Drills of `env` whose report awaits publication, the oldest first, at most `limit`. */
  awaitingPublication(env: string, limit: number): Promise<string[]>;
}

/** Reports are evidence for audits: kept, not expired. Only the newest ones are listed per env. */
const LISTED_PER_ENV = 50;
/** Measurements only wait for the drill's report, which copies them; no drill runs for a month. */
const MEASURES_TTL_MS = 30 * 86_400_000;

/**
 * KEYS: report, list, unpublished, published. ARGV: report JSON, opId, listed per env, score.
 * One script, so a report is never stored without being either published or awaiting publication.
 */
const SAVE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[2]) end
return 1
`;

/** KEYS: unpublished, published. ARGV: score, opId. */
const AWAIT_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) end
return 1
`;

/** Readiness owns the key (it reads "days since the last drill"); re-exported for callers of this store. */
export { drillLastKey };

interface ReportStoreContext {
  redis: Redis;
  prefix: string;
  keys: ReturnType<typeof reportKeys>;
}

function reportKeys(prefix: string) {
  return {
    report: (id: string) => `${prefix}report:${id}`,
    list: (env: string) => `${prefix}drill:reports:${env}`,
    measures: (id: string) => `${prefix}drill:measures:${id}`,
    claim: (id: string) => `${prefix}report:claim:${id}`,
    published: (id: string) => `${prefix}report:published:${id}`,
    delivered: (id: string, adapter: string) => `${prefix}report:delivered:${adapter}:${id}`,
    unpublished: (env: string) => `${prefix}drill:unpublished:${env}`,
  };
}

export function createReportStore(opts: { redis: Redis; prefix?: string }): ReportStore {
  const { redis } = opts;
  const prefix = opts.prefix ?? 'dr:';
  const ctx: ReportStoreContext = { redis, prefix, keys: reportKeys(prefix) };
  const { keys } = ctx;
  return {
    save: (report) => saveReport(ctx, report),
    get: (opId) => getReport(ctx, opId),
    previous: (env, exceptOpId, before) => previousDrill(ctx, env, exceptOpId, before),
    lastDrillAt: (env) => lastDrillAt({ redis, prefix }, env),
    saveMeasure: (opId, measure) => saveMeasure(ctx, opId, measure),
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
    release: (opId, owner) => releaseClaim(ctx, opId, owner),
    awaitPublication: (env, opId, at) => awaitPublication(ctx, env, opId, at),
    markPublished: (env, opId, at) => markPublished(ctx, env, opId, at),
    async isPublished(opId) {
      return (await redis.exists(keys.published(opId))) === 1;
    },
    async markDelivered(opId, adapter, at) {
      await redis.set(keys.delivered(opId, adapter), String(at));
    },
    async isDelivered(opId, adapter) {
      return (await redis.exists(keys.delivered(opId, adapter))) === 1;
    },
    awaitingPublication: (env, limit) => redis.zrange(keys.unpublished(env), 0, limit - 1),
  };
}

async function getReport({ redis, keys }: ReportStoreContext, opId: string) {
  const raw = await redis.get(keys.report(opId));
  return raw ? (JSON.parse(raw) as DrillReport) : null;
}

async function saveReport(ctx: ReportStoreContext, report: DrillReport): Promise<void> {
  const { redis, keys, prefix } = ctx;
  const { opId, env } = report;
  await redis.eval(
    SAVE_SCRIPT,
    4,
    keys.report(opId),
    keys.list(env),
    keys.unpublished(env),
    keys.published(opId),
    JSON.stringify(report),
    opId,
    String(LISTED_PER_ENV),
    String(report.approvedAt ?? report.createdAt),
  );
  // Only a completed drill counts as "a drill happened"; an aborted one still gets its report.
  if (report.phase === 'completed')
    await recordDrillAt({ redis, prefix }, report.env, report.finishedAt);
}

async function previousDrill(
  ctx: ReportStoreContext,
  env: string,
  exceptOpId?: string,
  before?: number,
): Promise<DrillSummary | null> {
  // The list is in the order reports were stored; a report recovered late is stored after later drills.
  const ids = (await ctx.redis.lrange(ctx.keys.list(env), 0, 9)).filter((id) => id !== exceptOpId);
  const candidates = (await Promise.all(ids.map((id) => getReport(ctx, id)))).filter(
    (r): r is DrillReport => r !== null && (before === undefined || r.finishedAt < before),
  );
  const newest = candidates.reduce<DrillReport | null>(
    (a, r) => (a === null || r.finishedAt > a.finishedAt ? r : a),
    null,
  );
  return newest ? summaryOf(newest) : null;
}

async function saveMeasure(
  { redis, keys }: ReportStoreContext,
  opId: string,
  measure: DrillMeasure,
): Promise<void> {
  const res = await redis
    .multi()
    .hset(keys.measures(opId), measure.component, JSON.stringify(measure))
    .pexpire(keys.measures(opId), MEASURES_TTL_MS)
    .exec();
  const failed = res?.find(([err]) => err);
  if (failed) throw failed[0];
}

async function releaseClaim(
  { redis, keys }: ReportStoreContext,
  opId: string,
  owner: string,
): Promise<void> {
  // Only our own: a claim that expired meanwhile may be another process's now.
  await redis.eval(
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
    1,
    keys.claim(opId),
    owner,
  );
}

async function awaitPublication(
  { redis, keys }: ReportStoreContext,
  env: string,
  opId: string,
  at: number,
): Promise<void> {
  await redis.eval(AWAIT_SCRIPT, 2, keys.unpublished(env), keys.published(opId), String(at), opId);
}

async function markPublished(
  { redis, keys }: ReportStoreContext,
  env: string,
  opId: string,
  at: number,
): Promise<void> {
  const res = await redis
    .multi()
    .set(keys.published(opId), String(at))
    .zrem(keys.unpublished(env), opId)
    .exec();
  const failed = res?.find(([err]) => err);
  if (failed) throw failed[0];
}
