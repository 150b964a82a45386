/**
 * The state Redis and the environment's instance lease for `dr start`: one instance acts on an
 * environment at a time; while another holds the lease this one stands by, serving only /healthz
 * (bot/standby.ts), until the lease is free.
 */
import { DrError } from '../errors.js';
import { stateRedisVariables } from '../config/state-redis-env.js';
import { describeUrl, scrubSecrets } from '../log.js';
import type { AcquireResult, InstanceLease } from '../store/index.js';
import type { OperationStore } from '../store/types.js';
import { StoppedWhileStandby, type StartContext } from './context.js';

interface LeaseStop {
  /** Aborts the standby's wait (StoppedWhileStandby). */
  signal?: AbortSignal;
  /** Called once the held lease is lost. Default: exit 1. */
  onLeaseLost?: (message: string) => void;
}

/**
 * Open the store of operation state; a Redis that does not answer, or one that would forget what
 * it acknowledged (no AOF, and no DR_ALLOW_VOLATILE_STATE=yes), stops the start. Its writes are
 * fenced by the instance lease once takeInstanceLease has it.
 */
export async function openStateStore(ctx: StartContext): Promise<OperationStore> {
  const { createRedisStore, openStateRedis, requireDurableState, describeDurability } =
    ctx.modules.store;
  const where = describeUrl(ctx.runtime.redisUrl);
  const store: OperationStore = createRedisStore({
    url: ctx.runtime.redisUrl,
    fence: () => ctx.lease?.fence(),
  });
  ctx.cleanups.push(() => store.close());
  const probe = openStateRedis(ctx.runtime.redisUrl, { maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  try {
    // The probe's error can say why (NOAUTH from a sentinel, ...); ioredis's "max retries" cannot.
    const why = await probe.ping().then(
      () => undefined,
      (err: unknown) =>
        err instanceof Error && err.name !== 'MaxRetriesPerRequestError'
          ? scrubSecrets(err.message)
          : '',
    );
    if (why !== undefined || !(await store.ping()))
      throw new DrError(
        'config',
        `the state Redis at ${where} does not answer PING${why ? ` (${why})` : ''}: check ${stateRedisVariables(ctx.runtime.redisUrl, why)}, and that the server is up`,
      );
    const { durability, warnings } = await requireDurableState(probe, ctx.env, where);
    ctx.log.info({ stateStore: describeDurability(durability) }, 'state store durability');
    for (const warning of warnings) ctx.log.warn(warning);
  } finally {
    probe.disconnect();
  }
  return store;
}

/** Take the lease (standing by while another instance holds it), then hold it until stopped. */
export async function takeInstanceLease(
  ctx: StartContext,
  store: OperationStore,
  ttlMs: number,
  opts: LeaseStop,
): Promise<InstanceLease> {
  const { config, runtime, log } = ctx;
  const { createInstanceLease } = ctx.modules.store;
  // One instance acts on an environment at a time. Taken before anything can resume an
  // operation or post (engine, drill-report recovery, readiness, detection, Slack); released
  // last on a graceful stop, after the engine stopped, so a waiting standby takes over at once.
  const lease = createInstanceLease({
    url: runtime.redisUrl,
    environment: config.environment,
    command: 'dr start',
    ttlMs,
    log,
  });
  ctx.cleanups.push(() => lease.close());
  ctx.lease = lease;
  let first: AcquireResult | undefined;
  try {
    first = await lease.tryAcquire();
  } catch (err) {
    log.warn({ err }, 'taking the instance lease failed; retrying as a standby');
  }
  if (!first?.acquired) await standBy(ctx, store, lease, first, opts.signal);
  lease.hold((reason) => {
    const message = `lost the instance lease for environment ${config.environment}: ${reason}. Stopping at once: another instance may be acting on it; a step cut off here is re-checked by whoever resumes the operation`;
    log.fatal({ key: lease.key }, message);
    (opts.onLeaseLost ?? (() => process.exit(1)))(message);
  });
  return lease;
}

/** Serve /healthz as a standby until the lease is taken; StoppedWhileStandby when aborted. */
async function standBy(
  ctx: StartContext,
  store: OperationStore,
  lease: InstanceLease,
  first: Exclude<AcquireResult, { acquired: true }> | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { config, runtime, log } = ctx;
  const { describeHolder, LeaseWaitAborted } = ctx.modules.store;
  const { startStandbyServer } = await import('../bot/standby.js');
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
    metrics: ctx.metrics,
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
      ...(signal ? { signal } : {}),
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
  if (signal?.aborted) throw new StoppedWhileStandby();
  log.info(
    { key: lease.key, previous: active },
    `took over the instance lease of environment ${config.environment}: starting`,
  );
}
