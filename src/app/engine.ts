/**
 * The engine phase of `dr start`: providers (their kept PostgreSQL facts in the bot's Redis), the
 * Slack Web API client the approver checks share with the bot, the engine, and its drill reports.
 */
import type { SlackClient } from '../bot/index.js';
import type { Engine } from '../engine/index.js';
import type { Providers } from '../providers/types.js';
import type { OperationStore } from '../store/types.js';
import type { StartContext } from './context.js';

interface EnginePhase {
  providers: Providers;
  slackClient: SlackClient;
  engine: Engine;
}

/** Create the providers, the engine and the drill reporter (not started: see app/slack.ts). */
export function openEngine(ctx: StartContext, store: OperationStore): EnginePhase {
  const { config, runtime, env, log, cleanups } = ctx;
  const { createSlackAuthorizer, createSlackClient, postDrillReports } = ctx.modules.bot;
  const { createEngine } = ctx.modules.engine;
  const { openDrillReporter } = ctx.modules.drill;
  const providers = openProviders(ctx);
  // Approver checks read the user group through the same Web API settings as the bot.
  const slackClient = createSlackClient(runtime.slack.botToken, env, log, {
    onError: (method, code) => ctx.metrics.slackError(method, code),
  });
  const authorizer = createSlackAuthorizer({
    config,
    client: slackClient,
    log: log.child({ component: 'authorizer' }),
  });
  const engine = createEngine({ config, store, providers, authorizer, log });
  const unsubscribe = engine.subscribe((n) => ctx.metrics.notification(n));
  ctx.cleanups.push(async () => unsubscribe());
  // A finished drill's report is stored, then posted in the incident channel (summary + Markdown file).
  const drills = openDrillReporter({
    engine,
    environment: config.environment,
    redisUrl: runtime.redisUrl,
    targets: config.targets,
    log,
    config,
    env,
    ...(providers.cluster ? { cluster: providers.cluster } : {}),
  });
  cleanups.push(() => drills.close());
  postDrillReports({ reporter: drills.reporter, client: slackClient, store, config, log });
  // A drill that finished while the bot stopped before its report was posted (or whose posting failed) gets it posted now, once.
  void drills.reporter.recover();
  return { providers, slackClient, engine };
}

function openProviders(ctx: StartContext): Providers {
  const { config, runtime, env, log, cleanups } = ctx;
  const { closeProviders, createProviders, keptPostgresFacts } = ctx.modules.providers;
  // What the PostgreSQL provider keeps (the cluster's identifier, each server's fence and last
  // writer reading) lives in the bot's Redis: it must outlive a bot restart while the primary is down.
  const identityRedis = ctx.modules.store.openStateRedis(runtime.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
  });
  identityRedis.on('error', () => undefined);
  cleanups.push(async () => {
    if (identityRedis.status === 'ready') await identityRedis.quit();
    else identityRedis.disconnect();
  });
  const providers: Providers = createProviders(
    config,
    env,
    log,
    keptPostgresFacts(identityRedis, { environment: config.environment }),
  );
  cleanups.push(() => closeProviders(providers, log));
  return providers;
}
