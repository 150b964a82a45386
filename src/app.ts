/**
 * Start-up wiring for `dr start`, in the order that fails fastest: config and environment first
 * (no connection opened for an invalid file), then the state Redis, providers, engine, Slack.
 * Shutdown runs the other way round so no Slack click arrives at a stopped engine.
 */
import type { Logger } from 'pino';
import { loadConfig } from './config/load.js';
import { checkStartEnvironment, DEFAULT_PORT } from './config/runtime.js';
import { configWarnings } from './config/summary.js';
import type { DrConfig } from './config/schema.js';
import { DrError } from './errors.js';
import { createLogger, describeUrl } from './log.js';
import type { Providers } from './providers/types.js';
import type { OperationStore } from './store/types.js';
import type { CliIo } from './cli/io.js';

export interface RunningApp {
  config: DrConfig;
  /** The HTTP port (undefined in Socket Mode without an HTTP listener). */
  port: number | undefined;
  stop(): Promise<void>;
}

export interface StartAppOptions {
  configPath: string;
  env: NodeJS.ProcessEnv;
  log?: Logger;
}

/** Start the bot and return once it serves Slack. Throws ConfigError/DrError on a bad start. */
export async function startApp(opts: StartAppOptions): Promise<RunningApp> {
  const { env } = opts;
  const config = loadConfig({ path: opts.configPath, env });
  const runtime = checkStartEnvironment(config, env);
  const log = (opts.log ?? createLogger({ level: env.LOG_LEVEL })).child({ env: config.environment });
  if (runtime.redisUrlDefaulted) {
    log.warn(
      { redis: runtime.redisUrl },
      'REDIS_URL is not set: keeping operation state in the Redis on localhost; set REDIS_URL to the bot\'s own Redis outside the primary region for real use',
    );
  }
  // The same warnings `dr config check` prints: valid, but probably not what was meant.
  for (const warning of configWarnings(config)) log.warn({ config: opts.configPath }, warning);

  // Loaded only now: a bad config or environment stops start-up before Slack, Redis and the
  // cloud SDKs are even loaded.
  const [
    { createDetectionStore, createRedisStore },
    { closeProviders, createProviders, createProviderStatusReader, keyValueSystemIdentifier },
    { createEngine, runPreflight },
    { createReadinessNotifier, createSlackAuthorizer, createSlackBot, createSlackClient, postDrillReports },
    { createDetector, detectionSettings },
    { createReadinessChecks, createReadinessMonitor, createReadinessState },
  ] = await Promise.all([
    import('./store/index.js'),
    import('./providers/factory.js'),
    import('./engine/index.js'),
    import('./bot/index.js'),
    import('./detection/index.js'),
    import('./readiness/index.js'),
  ]);
  const { openDrillReporter } = await import('./drill/index.js');
  const { Redis } = await import('ioredis');

  const cleanups: (() => Promise<void>)[] = [];
  const unwind = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.warn({ err }, 'shutdown step failed');
      }
    }
  };

  try {
    const store: OperationStore = createRedisStore({ url: runtime.redisUrl });
    cleanups.push(() => store.close());
    if (!(await store.ping())) {
      throw new DrError('config', `the state Redis at ${describeUrl(runtime.redisUrl)} does not answer PING: check REDIS_URL and that the server is up`);
    }

    // The PostgreSQL cluster's identifier, remembered in the bot's Redis: it must outlive a bot restart while the primary is down.
    const identityRedis = new Redis(runtime.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    identityRedis.on('error', () => undefined);
    cleanups.push(async () => {
      if (identityRedis.status === 'ready') await identityRedis.quit();
      else identityRedis.disconnect();
    });
    const postgresIdentity = keyValueSystemIdentifier(identityRedis, `dr:pg-system-identifier:${config.environment}:`);
    const providers: Providers = createProviders(config, env, log, { postgresIdentity });
    cleanups.push(() => closeProviders(providers, log));

    // Approver checks read the user group through the same Web API settings as the bot.
    const slackClient = createSlackClient(runtime.slack.botToken, env, log);
    const authorizer = createSlackAuthorizer({ config, client: slackClient, log: log.child({ component: 'authorizer' }) });
    const engine = createEngine({ config, store, providers, authorizer, log });
    // A finished drill's report is stored, then posted in the incident channel (summary + Markdown file).
    const drills = openDrillReporter({ engine, environment: config.environment, redisUrl: runtime.redisUrl, targets: config.targets, log, config, env });
    cleanups.push(() => drills.close());
    postDrillReports({ reporter: drills.reporter, client: slackClient, store, config, log });
    // A drill that finished while the bot stopped before its report was posted (or whose posting failed) gets it posted now, once.
    void drills.reporter.recover();
    let detector;
    if (config.detection) {
      const { settings, probe } = detectionSettings(config);
      const detectionStore = createDetectionStore({ url: runtime.redisUrl, environment: config.environment });
      cleanups.push(() => detectionStore.close());
      // Read-only: the same preflight a failover request runs, so the card shows what approvers will see.
      const readiness = () => runPreflight(providers, { kind: 'failover', requestedMode: 'auto' }, Date.now);
      // Evidence only; read on its own timer so a slow status API never delays the probes.
      const providerStatus = createProviderStatusReader(config);
      detector = createDetector({ settings, probe, store: detectionStore, readiness, log, ...(providerStatus ? { providerStatus } : {}) });
    }
    // Readiness keeps its alert state beside the operations, so a restart does not repeat an alert.
    const readinessState = createReadinessState({ url: runtime.redisUrl });
    cleanups.push(() => readinessState.close());
    const readinessChecks = createReadinessChecks({ config, providers, env, drills: readinessState });
    cleanups.push(() => readinessChecks.close());
    const readinessMonitor = createReadinessMonitor({
      env: config.environment,
      checks: readinessChecks.checks,
      state: readinessState,
      notify: createReadinessNotifier({ client: slackClient, channel: config.slack.incidentChannel, log: log.child({ component: 'readiness' }) }),
      intervalMs: config.readiness.intervalMinutes * 60_000,
      // Mid-operation results show the failover half done: recorded, not posted.
      activeOperation: () => store.activeFor(config.environment),
      log: log.child({ component: 'readiness' }),
    });
    // The bot subscribes to the engine when created, so resumed operations reach Slack.
    const bot = await createSlackBot({ config, engine, store, log, env, readiness: readinessMonitor, ...(detector ? { detector } : {}) });
    await engine.start();
    cleanups.push(() => engine.stop());
    await bot.start();
    cleanups.push(() => bot.stop());
    if (detector) {
      const started = detector;
      await started.start();
      cleanups.push(() => started.stop());
    }
    readinessMonitor.start();
    cleanups.push(() => readinessMonitor.stop());

    log.info(
      { mode: runtime.slack.mode, port: bot.port, redis: describeUrl(runtime.redisUrl), components: Object.keys(providers) },
      'dr-bot started',
    );
    let stopped: Promise<void> | undefined;
    return {
      config,
      port: bot.port,
      stop: () => {
        stopped ??= unwind().then(() => log.info('dr-bot stopped'));
        return stopped;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

const STOP_TIMEOUT_MS = 20_000;

/** One message for a failed start: ours say what to do; the usual system errors get a hint. */
function startFailure(err: unknown, env: NodeJS.ProcessEnv): string {
  if (err instanceof DrError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `port ${env.PORT ?? DEFAULT_PORT} is already in use: stop the other process or set PORT to a free port`;
  if (code === 'EACCES') return `not allowed to listen on port ${env.PORT ?? DEFAULT_PORT}: use a port above 1023 (PORT) or run with the needed privilege`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * `dr start`: run until SIGTERM or SIGINT, then stop gracefully. Returns the process exit code;
 * a bad config or environment prints its message on stderr and returns 1 without listening.
 */
export async function runStart(opts: { configPath: string; env: NodeJS.ProcessEnv; io: CliIo }): Promise<number> {
  let app: RunningApp;
  try {
    app = await startApp({ configPath: opts.configPath, env: opts.env });
  } catch (err) {
    opts.io.stderr(`dr start: ${startFailure(err, opts.env)}\n`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(s);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  opts.io.stderr(`dr start: ${signal} received, stopping (operations stay persisted and resume on the next start)\n`);
  // A second signal or a hung shutdown must not keep a container from stopping.
  const forced = new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(1), STOP_TIMEOUT_MS);
    timer.unref();
    process.once('SIGTERM', () => resolve(1));
    process.once('SIGINT', () => resolve(1));
  });
  const code = await Promise.race([app.stop().then(() => 0), forced]);
  // Everything we own is closed; a handle left open by a library must not keep a stopping
  // container alive until its kill timeout. unref(): a clean exit happens before this fires.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}
