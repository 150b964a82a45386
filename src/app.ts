/**
 * Start-up wiring for `dr start`, in the order that fails fastest: config and environment first
 * (no connection opened for an invalid file), then the state Redis, the environment's instance
 * lease (a standby waits here), providers, engine, Slack.
 * Shutdown runs the other way round so no Slack click arrives at a stopped engine.
 * The phases after the config live in src/app/; the modules they drive load once it is valid.
 */
import type { Logger } from 'pino';
import { loadConfig } from './config/load.js';
import { checkStartEnvironment, DEFAULT_PORT } from './config/runtime.js';
import { configWarnings } from './config/summary.js';
import type { DrConfig } from './config/schema.js';
import { DrError } from './errors.js';
import { createLogger, describeUrl } from './log.js';
import type { CliIo } from './cli/io.js';
import { StoppedWhileStandby, type StartContext, type StartModules } from './app/context.js';
import { openEngine } from './app/engine.js';
import { openStateStore, takeInstanceLease } from './app/lease.js';
import { openDetector, openReadinessMonitor } from './app/monitors.js';
import { startServing } from './app/slack.js';

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
  /**
   * Aborts the wait of a standby (another instance holds the environment's lease): startApp then
   * rejects with StoppedWhileStandby. Once the lease is taken, stop() is how to stop.
   */
  signal?: AbortSignal;
  /**
   * Called once the lease is lost (another owner in the key, or no renewal for the TTL minus a
   * margin), after the fatal log line; it must stop this process acting at once. Default: exit 1.
   */
  onLeaseLost?: (message: string) => void;
}

/**
 * Start the bot and return once it serves Slack. Throws ConfigError/DrError on a bad start.
 * While another instance holds the environment's instance lease it stands by first: no Slack,
 * nothing resumed, only /healthz (bot/standby.ts), until the lease is free.
 */
export async function startApp(opts: StartAppOptions): Promise<RunningApp> {
  const { config, runtime, log, leaseTtlMs } = await checkConfig(opts);
  const modules = await loadModules();
  await modules.providers.checkAzureCredential(config);
  const metrics = modules.metrics.createMetrics({ env: config.environment });
  const ctx: StartContext = {
    config,
    env: opts.env,
    runtime,
    log,
    modules,
    metrics,
    cleanups: [],
  };
  try {
    const store = await openStateStore(ctx);
    const lease = await takeInstanceLease(ctx, store, leaseTtlMs, opts);
    const { providers, slackClient, engine } = openEngine(ctx, store);
    const detector = openDetector(ctx, providers);
    const readiness = openReadinessMonitor(ctx, { store, providers, slackClient });
    const bot = await startServing(ctx, { store, engine, readiness, detector });
    log.info(
      {
        mode: runtime.slack.mode,
        port: bot.port,
        redis: describeUrl(runtime.redisUrl),
        components: Object.keys(providers),
        lease: lease.key,
        leaseTtlMs,
      },
      'dr-bot started',
    );
    let stopped: Promise<void> | undefined;
    return {
      config,
      port: bot.port,
      stop: () => {
        stopped ??= unwind(ctx).then(() => log.info('dr-bot stopped'));
        return stopped;
      },
    };
  } catch (err) {
    await unwind(ctx);
    throw err;
  }
}

/** The config phase: an invalid file or environment throws before any connection is opened. */
async function checkConfig(
  opts: StartAppOptions,
): Promise<Pick<StartContext, 'config' | 'runtime' | 'log'> & { leaseTtlMs: number }> {
  const { env } = opts;
  const config = loadConfig({ path: opts.configPath, env });
  const runtime = checkStartEnvironment(config, env);
  const { leaseTtlFromEnv } = await import('./store/lease.js');
  const leaseTtlMs = leaseTtlFromEnv(env);
  const log = (opts.log ?? createLogger({ level: env.LOG_LEVEL })).child({
    env: config.environment,
  });
  if (runtime.redisUrlDefaulted) {
    log.warn(
      { redis: runtime.redisUrl },
      "REDIS_URL is not set: keeping operation state in the Redis on localhost; set REDIS_URL to the bot's own Redis outside the primary region for real use",
    );
  }
  // The same warnings `dr config check` prints: valid, but probably not what was meant.
  for (const warning of configWarnings(config)) log.warn({ config: opts.configPath }, warning);
  return { config, runtime, log, leaseTtlMs };
}

/**
 * Loaded only now: a bad config or environment stops start-up before Slack, Redis and the
 * cloud SDKs are even loaded.
 */
async function loadModules(): Promise<StartModules> {
  const [store, providers, engine, bot, detection, readiness] = await Promise.all([
    import('./store/index.js'),
    import('./providers/factory.js'),
    import('./engine/index.js'),
    import('./bot/index.js'),
    import('./detection/index.js'),
    import('./readiness/index.js'),
  ]);
  const drill = await import('./drill/index.js');
  const metrics = await import('./metrics/index.js');
  const { Redis } = await import('ioredis');
  return { store, providers, engine, bot, detection, readiness, drill, metrics, Redis };
}

/** The shutdown phase: every cleanup, last opened first; a failing step does not stop the rest. */
async function unwind(ctx: StartContext): Promise<void> {
  for (const cleanup of ctx.cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      ctx.log.warn({ err }, 'shutdown step failed');
    }
  }
}

const STOP_TIMEOUT_MS = 20_000;

/** One message for a failed start: ours say what to do; the usual system errors get a hint. */
function startFailure(err: unknown, env: NodeJS.ProcessEnv): string {
  if (err instanceof DrError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE')
    return `port ${env.PORT ?? DEFAULT_PORT} is already in use: stop the other process or set PORT to a free port`;
  if (code === 'EACCES')
    return `not allowed to listen on port ${env.PORT ?? DEFAULT_PORT}: use a port above 1023 (PORT) or run with the needed privilege`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * `dr start`: run until SIGTERM or SIGINT, then stop gracefully. Returns the process exit code;
 * a bad config or environment prints its message on stderr and returns 1 without listening.
 */
export async function runStart(opts: {
  configPath: string;
  env: NodeJS.ProcessEnv;
  io: CliIo;
}): Promise<number> {
  // Listened for from the start: a standby waiting for the lease stops on them too.
  const stopping = new AbortController();
  let onSignal: (s: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (s) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stopping.abort();
      resolve(s);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  let app: RunningApp;
  try {
    app = await startApp({
      configPath: opts.configPath,
      env: opts.env,
      signal: stopping.signal,
      onLeaseLost: (message) => {
        opts.io.stderr(`dr start: ${message}\n`);
        process.exit(1);
      },
    });
  } catch (err) {
    if (err instanceof StoppedWhileStandby) {
      opts.io.stderr(
        `dr start: ${await received} received while standing by, stopping (the active instance keeps the environment)\n`,
      );
      setTimeout(() => process.exit(0), 2000).unref();
      return 0;
    }
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    opts.io.stderr(`dr start: ${startFailure(err, opts.env)}\n`);
    return 1;
  }
  const signal = await received;
  opts.io.stderr(
    `dr start: ${signal} received, stopping (operations stay persisted and resume on the next start)\n`,
  );
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
