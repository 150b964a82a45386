/**
 * What the console (and the demo) run on: the state Redis, the providers, the engine and the
 * drill reporter, wired as `dr start` wires them, minus Slack. Approvers are checked against
 * `approvals.approvers` only: a Slack user group cannot be read without Slack.
 */
import type { Redis } from 'ioredis';
import pino from 'pino';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import { openDrillReporter, type DrillReporter } from '../drill/index.js';
import { createEngine, type Engine } from '../engine/index.js';
import { createLogger, describeUrl } from '../log.js';
import { closeProviders, createProviders, keptPostgresFacts } from '../providers/factory.js';
import { createReportStore, type ReportStore } from '../report/index.js';
import { DrError } from '../errors.js';
import { sentinelUrlFromEnv } from '../config/state-redis-env.js';
import {
  createInstanceLease,
  describeHolder,
  leaseTtlFromEnv,
  createRedisStore,
  type InstanceLease,
} from '../store/index.js';
import { describeDurability, durabilityProblem, readDurability } from '../store/durability.js';
import { closeStateRedis, reachStateRedis, stateRedisClient } from './state-redis.js';

const DEFAULT_STATE_REDIS = 'redis://127.0.0.1:6379';

export interface ConsoleRuntime {
  engine: Engine;
  reporter: DrillReporter;
  /** The stored drill reports (which drills have one: `report` without an id, `dr report --list`). */
  reports: ReportStore;
  /** Where the state Redis is, without credentials. */
  stateRedis: string;
  log: Logger;
  close(): Promise<void>;
}

/** Logs go to stderr at `warn` unless LOG_LEVEL says otherwise: the terminal shows the timeline. */
function consoleLogger(env: NodeJS.ProcessEnv): Logger {
  return createLogger({ level: env.LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
}

interface ConsoleRuntimeOptions {
  config: DrConfig;
  env: NodeJS.ProcessEnv;
  log?: Logger;
  prefix?: string;
  drive?: boolean;
  onLeaseLost?: (message: string) => void;
}

/** What the steps of opening share; `cleanups` run in reverse on close or when opening fails. */
interface OpeningContext {
  opts: ConsoleRuntimeOptions;
  log: Logger;
  redisUrl: string;
  prefix: { prefix?: string };
  cleanups: (() => Promise<void>)[];
  /** Taken when driving: the store's writes are fenced by its token. */
  lease?: InstanceLease;
}

async function unwind(ctx: OpeningContext): Promise<void> {
  for (const c of ctx.cleanups.reverse())
    await c().catch((err: unknown) => ctx.log.warn({ err }, 'shutdown step failed'));
}

/**
 * How durable the state Redis is: the console acts as \`dr start\` does, so a store that would
 * forget what it acknowledged is said on stderr (the console is a lab's and a break-glass tool:
 * it warns rather than refuses).
 */
async function sayDurability(redis: Redis, log: Logger, redisUrl: string): Promise<void> {
  const d = await readDurability(redis);
  const problem = durabilityProblem(d);
  if (problem) log.warn(`the state Redis at ${describeUrl(redisUrl)}: ${problem}`);
  else log.info({ stateStore: describeDurability(d) }, 'state store durability');
}

/** Refused with a conflict when a bot (or another console) holds the environment. */
async function takeInstanceLease(ctx: OpeningContext): Promise<void> {
  const { opts, log } = ctx;
  const { config, env } = opts;
  const lease = createInstanceLease({
    url: ctx.redisUrl,
    environment: config.environment,
    command: 'dr console',
    ttlMs: leaseTtlFromEnv(env),
    log,
    ...ctx.prefix,
  });
  ctx.cleanups.push(() => lease.close());
  ctx.lease = lease;
  const taken = await lease.tryAcquire();
  if (!taken.acquired) {
    const holder = taken.holder
      ? describeHolder(taken.holder, config.environment)
      : `another instance is running environment ${config.environment}`;
    const advice =
      taken.holder?.owner?.command === 'dr start'
        ? 'use Slack, or stop it first'
        : 'use it, or stop it first';
    throw new DrError('conflict', `${holder}: ${advice}`);
  }
  lease.hold((reason) => {
    const message = `lost the instance lease for environment ${config.environment}: ${reason}. Stopping at once: another instance may be acting on it`;
    log.fatal({ key: lease.key }, message);
    if (opts.onLeaseLost) opts.onLeaseLost(message);
    else {
      process.stderr.write(`dr: ${message}\n`);
      process.exit(1);
    }
  });
}

/** The providers, the engine (started when driving) and the drill reporter over the state Redis. */
async function openEngine(
  ctx: OpeningContext,
  redis: Redis,
): Promise<Omit<ConsoleRuntime, 'close'>> {
  const { opts, log, redisUrl, prefix, cleanups } = ctx;
  const { config, env } = opts;
  const store = createRedisStore({ redis, ...prefix, fence: () => ctx.lease?.fence() });
  // What the PostgreSQL provider keeps, in the state Redis as `dr start` keeps it: a console after a bot (or the reverse) still has it.
  const providers = createProviders(
    config,
    env,
    log,
    keptPostgresFacts(redis, {
      environment: config.environment,
      ...(opts.prefix ? { prefix: opts.prefix } : {}),
    }),
  );
  cleanups.push(() => closeProviders(providers, log));
  const approvers = new Set(config.approvals.approvers);
  const engine = createEngine({
    config,
    store,
    providers,
    authorizer: { isAuthorized: async (u) => approvers.has(u) },
    log,
  });
  const drills = openDrillReporter({
    engine,
    environment: config.environment,
    redisUrl,
    targets: config.targets,
    log,
    config,
    env,
    ...prefix,
    ...(providers.cluster ? { cluster: providers.cluster } : {}),
  });
  cleanups.push(() => drills.close());
  if (opts.drive !== false) await engine.start();
  cleanups.push(() => engine.stop());
  return {
    engine,
    reporter: drills.reporter,
    reports: createReportStore({ redis, ...prefix }),
    stateRedis: describeUrl(redisUrl),
    log,
  };
}

/**
 * `drive: false` reads only (dr report): active operations are not resumed, so a running bot
 * keeps driving them. Driving takes the environment's instance lease first, as `dr start` does:
 * held by a bot (or another console), the console is refused before anything resumes. A lease
 * lost later calls `onLeaseLost` (default: say so on stderr and exit 1).
 */
export async function openConsoleRuntime(opts: ConsoleRuntimeOptions): Promise<ConsoleRuntime> {
  const { config, env } = opts;
  const log = (opts.log ?? consoleLogger(env)).child({
    env: config.environment,
    adapter: 'console',
  });
  const sentinel = sentinelUrlFromEnv(env);
  if (sentinel && 'problem' in sentinel) throw new DrError('config', sentinel.problem);
  const redisUrl = sentinel?.url ?? env.REDIS_URL ?? DEFAULT_STATE_REDIS;
  const redis = stateRedisClient(redisUrl);
  const ctx: OpeningContext = {
    opts,
    log,
    redisUrl,
    prefix: opts.prefix ? { prefix: opts.prefix } : {},
    cleanups: [() => closeStateRedis(redis)],
  };
  try {
    await reachStateRedis(redis, redisUrl);
    await sayDurability(redis, log, redisUrl);
    if (opts.drive !== false) await takeInstanceLease(ctx);
    const runtime = await openEngine(ctx, redis);
    return { ...runtime, close: () => unwind(ctx) };
  } catch (err) {
    await unwind(ctx);
    throw err;
  }
}
