/**
 * Start-up wiring for `dr start`, in the order that fails fastest: config and environment first
 * (no connection opened for an invalid file), then the state Redis, the environment's instance
 * lease (a standby waits here), providers, engine, Slack.
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

/** startApp stopped (its signal aborted) while it waited as a standby: nothing was started. */
class StoppedWhileStandby extends Error {
  constructor() {
    super('stopped while standing by');
    this.name = 'StoppedWhileStandby';
  }
}

/**
 * Start the bot and return once it serves Slack. Throws ConfigError/DrError on a bad start.
 * While another instance holds the environment's instance lease it stands by first: no Slack,
 * nothing resumed, only /healthz (bot/standby.ts), until the lease is free.
 */
export async function startApp(opts: StartAppOptions): Promise<RunningApp> {
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

  // Loaded only now: a bad config or environment stops start-up before Slack, Redis and the
  // cloud SDKs are even loaded.
  const [
    {
      createDetectionStore,
      createRedisStore,
      createInstanceLease,
      describeHolder,
      LeaseWaitAborted,
    },
    { closeProviders, createProviders, createProviderStatusReader, keptPostgresFacts },
    { createEngine, runPreflight },
    {
      createReadinessNotifier,
      createSlackAuthorizer,
      createSlackBot,
      createSlackClient,
      postDrillReports,
    },
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
      throw new DrError(
        'config',
        `the state Redis at ${describeUrl(runtime.redisUrl)} does not answer PING: check REDIS_URL and that the server is up`,
      );
    }

    // One instance acts on an environment at a time. Taken before anything can resume an
    // operation or post (engine, drill-report recovery, readiness, detection, Slack); released
    // last on a graceful stop, after the engine stopped, so a waiting standby takes over at once.
    const lease = createInstanceLease({
      url: runtime.redisUrl,
      environment: config.environment,
      command: 'dr start',
      ttlMs: leaseTtlMs,
      log,
    });
    cleanups.push(() => lease.close());
    let first;
    try {
      first = await lease.tryAcquire();
    } catch (err) {
      log.warn({ err }, 'taking the instance lease failed; retrying as a standby');
    }
    if (!first?.acquired) {
      const { startStandbyServer } = await import('./bot/standby.js');
      let active = first?.holder
        ? describeHolder(first.holder, config.environment)
        : first
          ? `another instance took environment ${config.environment} just now`
          : `the instance lease of environment ${config.environment} could not be asked for yet`;
      const standby = await startStandbyServer({
        port: runtime.port,
        environment: config.environment,
        store,
        active: () => active,
        log,
      });
      const waiting = `standing by: ${active}. No Slack connection and nothing resumed until its instance lease (${lease.key}) is free; asking every ${lease.pollMs} ms. /healthz answers 200 (role standby), everything else 503`;
      log.warn(
        {
          holder: first?.holder?.owner ?? first?.holder?.value,
          expiresInMs: first?.holder?.ttlMs,
          port: standby.port,
          key: lease.key,
        },
        waiting,
      );
      let failing = false;
      try {
        await lease.waitUntilAcquired({
          ...(opts.signal ? { signal: opts.signal } : {}),
          known: first?.holder ?? null,
          onWaiting: (holder) => {
            failing = false;
            if (!holder) return;
            active = describeHolder(holder, config.environment);
            log.warn(
              { holder: holder.owner ?? holder.value, expiresInMs: holder.ttlMs, key: lease.key },
              `standing by: ${active}`,
            );
          },
          onError: (err) => {
            if (!failing)
              log.warn({ err }, 'standby: asking for the instance lease failed; asking again');
            failing = true;
          },
        });
      } catch (err) {
        if (err instanceof LeaseWaitAborted) throw new StoppedWhileStandby();
        throw err;
      } finally {
        await standby.close();
      }
      // A signal while the standby server closed: nothing started yet, and unwinding releases the lease.
      if (opts.signal?.aborted) throw new StoppedWhileStandby();
      log.info(
        { key: lease.key, previous: active },
        `took over the instance lease of environment ${config.environment}: starting`,
      );
    }
    lease.hold((reason) => {
      const message = `lost the instance lease for environment ${config.environment}: ${reason}. Stopping at once: another instance may be acting on it; a step cut off here is re-checked by whoever resumes the operation`;
      log.fatal({ key: lease.key }, message);
      (opts.onLeaseLost ?? (() => process.exit(1)))(message);
    });

    // What the PostgreSQL provider keeps (the cluster's identifier, each server's fence and last
    // writer reading) lives in the bot's Redis: it must outlive a bot restart while the primary is down.
    const identityRedis = new Redis(runtime.redisUrl, {
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

    // Approver checks read the user group through the same Web API settings as the bot.
    const slackClient = createSlackClient(runtime.slack.botToken, env, log);
    const authorizer = createSlackAuthorizer({
      config,
      client: slackClient,
      log: log.child({ component: 'authorizer' }),
    });
    const engine = createEngine({ config, store, providers, authorizer, log });
    // A finished drill's report is stored, then posted in the incident channel (summary + Markdown file).
    const drills = openDrillReporter({
      engine,
      environment: config.environment,
      redisUrl: runtime.redisUrl,
      targets: config.targets,
      log,
      config,
      env,
    });
    cleanups.push(() => drills.close());
    postDrillReports({ reporter: drills.reporter, client: slackClient, store, config, log });
    // A drill that finished while the bot stopped before its report was posted (or whose posting failed) gets it posted now, once.
    void drills.reporter.recover();
    let detector;
    if (config.detection) {
      const { settings, probe } = detectionSettings(config);
      const detectionStore = createDetectionStore({
        url: runtime.redisUrl,
        environment: config.environment,
      });
      cleanups.push(() => detectionStore.close());
      // Read-only: the same preflight a failover request runs, so the card shows what approvers will see.
      const readiness = () =>
        runPreflight(providers, { kind: 'failover', requestedMode: 'auto' }, Date.now);
      // Evidence only; read on its own timer so a slow status API never delays the probes.
      const providerStatus = createProviderStatusReader(config);
      detector = createDetector({
        settings,
        probe,
        store: detectionStore,
        readiness,
        log,
        ...(providerStatus ? { providerStatus } : {}),
      });
    }
    // Readiness keeps its alert state beside the operations, so a restart does not repeat an alert.
    const readinessState = createReadinessState({ url: runtime.redisUrl });
    cleanups.push(() => readinessState.close());
    const readinessChecks = createReadinessChecks({
      config,
      providers,
      env,
      drills: readinessState,
    });
    cleanups.push(() => readinessChecks.close());
    const readinessMonitor = createReadinessMonitor({
      env: config.environment,
      checks: readinessChecks.checks,
      state: readinessState,
      notify: createReadinessNotifier({
        client: slackClient,
        channel: config.slack.incidentChannel,
        command: config.slack.command,
        log: log.child({ component: 'readiness' }),
      }),
      intervalMs: config.readiness.intervalMinutes * 60_000,
      // Mid-operation results show the failover half done: recorded, not posted.
      activeOperation: () => store.activeFor(config.environment),
      log: log.child({ component: 'readiness' }),
    });
    // The bot subscribes to the engine when created, so resumed operations reach Slack.
    const bot = await createSlackBot({
      config,
      engine,
      store,
      log,
      env,
      readiness: readinessMonitor,
      ...(detector ? { detector } : {}),
    });
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
