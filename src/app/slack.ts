/**
 * The Slack phase of `dr start`: the bot (its HTTP server with /healthz, or Socket Mode) is
 * created before the engine starts, then engine, bot, detector and readiness start in that order.
 */
import type { SlackBot } from '../bot/index.js';
import type { Detector } from '../detection/index.js';
import type { Engine } from '../engine/index.js';
import type { ReadinessMonitor } from '../readiness/index.js';
import type { OperationStore } from '../store/types.js';
import type { StartContext } from './context.js';

interface Serving {
  store: OperationStore;
  engine: Engine;
  readiness: ReadinessMonitor;
  detector: Detector | undefined;
}

/** Start serving Slack; each started part is stopped by the shutdown in reverse. */
export async function startServing(ctx: StartContext, deps: Serving): Promise<SlackBot> {
  const { config, env, log, cleanups } = ctx;
  const { store, engine, readiness, detector } = deps;
  // The bot subscribes to the engine when created, so resumed operations reach Slack.
  const bot = await ctx.modules.bot.createSlackBot({
    config,
    engine,
    store,
    log,
    env,
    readiness,
    metrics: ctx.metrics,
    ...(detector ? { detector } : {}),
  });
  await engine.start();
  cleanups.push(() => engine.stop());
  await bot.start();
  cleanups.push(() => bot.stop());
  ctx.metrics.setActive(true);
  if (detector) {
    await detector.start();
    cleanups.push(() => detector.stop());
  }
  readiness.start();
  cleanups.push(() => readiness.stop());
  return bot;
}
