/**
 * Runs the readiness checks every interval and tells the channel only about changes: one message
 * when a check becomes degraded, one when it is ok again. "unknown" (could not measure) changes
 * nothing either way, so a flapping network to one API does not page anyone twice. The alert
 * state lives in Redis (state.ts), which is what keeps it to one message across restarts.
 *
 * While an operation (failover, failback, drill) is active in the environment, rounds still run and
 * their report is saved (`/dr status` shows it, saying alerts are held), but nothing is posted and
 * the alert state is left as it was: mid-operation the standby is being promoted and DNS moved on
 * purpose. The first round after the operation compares against that untouched state, so it posts
 * only what really changed (degraded before and after: nothing new; degraded by the operation's
 * end state, such as a failed-over environment: one message).
 */
import type { Logger } from 'pino';
import { errorInfo } from '../errors.js';
import type { ReadinessState } from './state.js';
import type {
  ReadinessCheck,
  ReadinessReport,
  ReadinessResult,
  ReadinessTransition,
} from './types.js';

/** How long stop() waits for a round in progress before shutdown goes on without it. */
const STOP_GRACE_MS = 3000;

export type ReadinessNotify = (transition: ReadinessTransition) => Promise<void>;

export interface ReadinessMonitorOptions {
  env: string;
  checks: ReadinessCheck[];
  state: ReadinessState;
  notify: ReadinessNotify;
  /** 0: no periodic runs (runOnce still works). */
  intervalMs: number;
  /** The operation active in the environment, if any (the engine's one-per-env lock); alerts are held meanwhile. */
  activeOperation?: () => Promise<string | null>;
  log: Logger;
  now?: () => number;
  /** Every finished round's report (the /metrics gauges), held or not. */
  onReport?: (report: ReadinessReport) => void;
}

export interface ReadinessMonitor {
  /** Run every check once, post what changed, save and return the report. */
  runOnce(): Promise<ReadinessReport>;
  /** Run now and then every interval; a run still going when the next is due is not doubled. */
  start(): void;
  /** Stop the timer and wait for a run in progress. */
  stop(): Promise<void>;
  lastReport(): Promise<ReadinessReport | null>;
}

/** Run one check; a check that throws is "unknown" with the error as its detail, never a crash. */
export async function runReadinessCheck(
  check: ReadinessCheck,
  log: Logger,
  now: () => number = Date.now,
): Promise<ReadinessResult> {
  const base = { id: check.id, title: check.title };
  try {
    const finding = await check.run();
    return { ...base, ...finding, checkedAt: now() };
  } catch (err) {
    const info = errorInfo(err);
    log.warn({ check: check.id, err: info }, 'readiness check could not run');
    return {
      ...base,
      status: 'unknown',
      detail: `could not check: ${info.message}`,
      measured: null,
      target: null,
      checkedAt: now(),
    };
  }
}

/** One monitor's settings and what it keeps between rounds. */
interface MonitorContext {
  opts: ReadinessMonitorOptions;
  env: string;
  state: ReadinessState;
  log: Logger;
  now: () => number;
  timer: NodeJS.Timeout | undefined;
  running: Promise<ReadinessReport> | undefined;
  stopped: boolean;
}

export function createReadinessMonitor(opts: ReadinessMonitorOptions): ReadinessMonitor {
  const ctx: MonitorContext = {
    opts,
    env: opts.env,
    state: opts.state,
    log: opts.log,
    now: opts.now ?? Date.now,
    timer: undefined,
    running: undefined,
    stopped: false,
  };
  const monitor: ReadinessMonitor = {
    runOnce() {
      ctx.running ??= run(ctx).finally(() => {
        ctx.running = undefined;
      });
      return ctx.running;
    },
    start() {
      if (ctx.timer || opts.intervalMs <= 0) return;
      ctx.stopped = false;
      const tick = (): void => {
        if (ctx.running) return;
        monitor.runOnce().catch((err: unknown) => ctx.log.error({ err }, 'readiness run failed'));
      };
      tick();
      ctx.timer = setInterval(tick, opts.intervalMs);
      ctx.timer.unref();
    },
    stop: () => stopMonitor(ctx),
    lastReport: () => ctx.state.lastReport(ctx.env),
  };
  return monitor;
}

async function stopMonitor(ctx: MonitorContext): Promise<void> {
  if (ctx.timer) clearInterval(ctx.timer);
  ctx.timer = undefined;
  ctx.stopped = true;
  // An object-storage canary may wait up to its RPO: shutdown waits a little, not that long.
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    ctx.running?.catch(() => undefined),
    new Promise<void>((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS))),
  ]);
  clearTimeout(grace);
}

/** Claim the transition in Redis first, then post; a failed post gives the claim back for the next run. */
async function transition(ctx: MonitorContext, result: ReadinessResult): Promise<void> {
  const { env, state, log, opts } = ctx;
  const current = await state.alert(env, result.id);
  if (result.status === 'degraded' && !current) {
    const claimed = await state.swapAlert(env, result.id, null, { since: result.checkedAt });
    if (!claimed.ok) return;
    try {
      await opts.notify({ kind: 'degraded', env, result, degradedSince: result.checkedAt });
      log.warn({ check: result.id, detail: result.detail }, 'readiness check degraded');
    } catch (err) {
      log.error(
        { err, check: result.id },
        'could not post a degraded readiness check; retrying next run',
      );
      await state.swapAlert(env, result.id, claimed.raw, null);
    }
  } else if (result.status === 'ok' && current) {
    const released = await state.swapAlert(env, result.id, current.raw, null);
    if (!released.ok) return;
    try {
      await opts.notify({ kind: 'recovered', env, result, degradedSince: current.state.since });
      log.info({ check: result.id }, 'readiness check recovered');
    } catch (err) {
      log.error(
        { err, check: result.id },
        'could not post a recovered readiness check; retrying next run',
      );
      await state.swapAlert(env, result.id, null, current.state);
    }
  }
}

/** Never throws: a lock that cannot be read holds nothing (the alert state itself needs the same Redis). */
async function activeOperation({ opts, log }: MonitorContext): Promise<string | null> {
  if (!opts.activeOperation) return null;
  try {
    return await opts.activeOperation();
  } catch (err) {
    log.warn(
      { err },
      'could not read whether an operation is active; readiness alerts are not held',
    );
    return null;
  }
}

async function run(ctx: MonitorContext): Promise<ReadinessReport> {
  const { env, state, log, now } = ctx;
  const before = await activeOperation(ctx);
  const results = await Promise.all(
    ctx.opts.checks.map((check) => runReadinessCheck(check, log, now)),
  );
  // Active at either end of the round: its results may show the operation half done.
  const heldBy = before ?? (await activeOperation(ctx));
  const report: ReadinessReport = {
    env,
    checkedAt: now(),
    results,
    ...(heldBy ? { heldBy } : {}),
  };
  // A round that outlived stop() saw providers being closed: its results say nothing.
  if (ctx.stopped) return report;
  ctx.opts.onReport?.(report);
  if (heldBy) {
    log.info({ opId: heldBy }, 'readiness round recorded; alerts held while the operation runs');
    await state
      .saveReport(report)
      .catch((err: unknown) => log.error({ err }, 'could not save the readiness report'));
    return report;
  }
  for (const r of results) {
    try {
      await transition(ctx, r);
    } catch (err) {
      log.error({ err, check: r.id }, 'readiness state could not be read or written');
    }
  }
  await state
    .saveReport(report)
    .catch((err: unknown) => log.error({ err }, 'could not save the readiness report'));
  return report;
}
