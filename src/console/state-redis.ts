/**
 * The bot's own state Redis (REDIS_URL) as the terminal commands meet it: one connection attempt
 * and a PING before anything else, so a Redis that is not there is one sentence naming it
 * (without its password) and what to do, not ioredis's "max retries per request" after seconds.
 */
import type { Redis } from 'ioredis';
import { stateRedisVariables } from '../config/state-redis-env.js';
import { openStateRedis } from '../store/state-redis.js';
import { DrError } from '../errors.js';
import { describeUrl } from '../log.js';

function stateRedisUnanswered(url: string, err: unknown): string {
  const where = describeUrl(url);
  const said = err instanceof Error ? err.message : '';
  return url.startsWith('redis-sentinel:')
    ? `the state Redis at ${where} does not answer: check the sentinels are up and ${stateRedisVariables(url, said)}`
    : `the state Redis at ${where} does not answer: start a Redis there or set REDIS_URL to the bot's own Redis`;
}

/**
 * A client that does not connect until `reachStateRedis`; its errors surface through the commands
 * that fail. The first connection is tried once (ioredis would retry it for seconds before
 * saying anything); once connected, a lost connection is retried as ioredis does by default.
 */
export function stateRedisClient(url: string): Redis {
  let connected = false;
  const redis = openStateRedis(url, {
    maxRetriesPerRequest: 3,
    lazyConnect: true,
    retryStrategy: (times) => (connected ? Math.min(times * 50, 2000) : null),
  });
  redis.on('error', () => undefined);
  redis.once('ready', () => {
    connected = true;
  });
  return redis;
}

/** Connect and PING once; a Redis that does not answer throws a DrError saying so. */
export async function reachStateRedis(redis: Redis, url: string): Promise<void> {
  try {
    if (redis.status === 'wait') await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new DrError('config', stateRedisUnanswered(url, err), { cause: err });
  }
}

/** Close a client from stateRedisClient whether or not it ever connected. */
export async function closeStateRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  // 'end': a first connection that failed is closed already (disconnecting again would leave a 2 s timer).
  else if (redis.status !== 'end') redis.disconnect();
}
