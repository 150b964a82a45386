/**
 * `dr readiness`: every readiness check once, printed, without posting to Slack or touching the
 * alert state the bot keeps, for a person (or a cron job) asking "would a failover work now?".
 * The object-storage check still writes its canary: that is how it measures.
 */
import { sentinelUrlFromEnv } from '../config/state-redis-env.js';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { DEFAULT_REDIS_URL } from '../config/runtime.js';
import { DrError } from '../errors.js';
import { closeStateRedis, reachStateRedis, stateRedisClient } from '../console/state-redis.js';
import { describeUrl } from '../log.js';
import type { CliIo } from './io.js';

export async function runReadiness(opts: { configPath: string; io: CliIo }): Promise<number> {
  const { io } = opts;
  const fail = (err: unknown): number => {
    io.stderr(
      `dr readiness: ${err instanceof DrError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  };
  let config;
  try {
    config = loadConfig({ path: opts.configPath });
  } catch (err) {
    return fail(err);
  }
  const [
    { closeProviders, createProviders },
    { createReadinessChecks, createReadinessState, readinessLine, runReadinessCheck },
  ] = await Promise.all([import('../providers/factory.js'), import('../readiness/index.js')]);
  const log = pino({ level: io.env.LOG_LEVEL ?? 'silent' }, pino.destination(2));
  const sentinel = sentinelUrlFromEnv(io.env);
  const redisUrl =
    (sentinel && 'url' in sentinel ? sentinel.url : undefined) ??
    (io.env.REDIS_URL?.trim() || DEFAULT_REDIS_URL);
  // Only the last-drill check reads the state Redis: without it the other checks still run, and
  // that one says which Redis does not answer (as dr console and dr report do), not ioredis's
  // "max retries per request" after seconds of retrying.
  const redis = stateRedisClient(redisUrl);
  const stateDown = await reachStateRedis(redis, redisUrl).then(
    () => null,
    (err: unknown) => err,
  );
  const state = createReadinessState({ redis });
  let providers;
  let built;
  try {
    providers = createProviders(config, io.env, log);
    built = createReadinessChecks({ config, providers, env: io.env, drills: state });
    const checks = built.checks.map((c) =>
      stateDown && (c.id === 'drill' || c.id === 'state-store')
        ? { ...c, run: () => Promise.reject(stateDown) }
        : c,
    );
    const results = await Promise.all(checks.map((c) => runReadinessCheck(c, log)));
    io.stdout(
      `readiness of ${config.environment} (drill record in ${describeUrl(redisUrl)}):\n${results.map((r) => `  ${readinessLine(r)}`).join('\n')}\n`,
    );
    return results.every((r) => r.status === 'ok') ? 0 : 1;
  } catch (err) {
    return fail(err);
  } finally {
    await built?.close().catch(() => undefined);
    if (providers) await closeProviders(providers, log);
    await state.close().catch(() => undefined);
    await closeStateRedis(redis);
  }
}
