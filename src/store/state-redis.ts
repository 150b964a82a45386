/**
 * Connections to the bot's state Redis: a plain redis:// URL, or a primary found through Redis
 * Sentinel so that the state survives the loss of one Redis server or zone. Sentinel is chosen by
 * the environment (REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD) and carried
 * through the code as a `redis-sentinel://[:password@]host:port,host:port/master` string (the
 * password is the sentinels', percent-encoded), so every place that takes the state
 * Redis's URL follows a failover without knowing about it. ioredis asks the sentinels for the
 * current primary and reconnects to the new one after a failover.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { SENTINEL_SCHEME as SCHEME } from '../config/state-redis-env.js';

interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  name: string;
  sentinelPassword?: string;
}

function parseSentinelUrl(url: string): SentinelTarget | undefined {
  if (!url.startsWith(SCHEME)) return undefined;
  let rest = url.slice(SCHEME.length);
  let sentinelPassword: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    sentinelPassword = decodeURIComponent(userinfo.slice(userinfo.indexOf(':') + 1));
    rest = rest.slice(at + 1);
  }
  const slash = rest.lastIndexOf('/');
  const sentinels = rest
    .slice(0, slash)
    .split(',')
    .map((hp) => {
      const colon = hp.lastIndexOf(':');
      return { host: hp.slice(0, colon), port: Number(hp.slice(colon + 1)) };
    });
  const name = rest.slice(slash + 1);
  return sentinelPassword === undefined
    ? { sentinels, name }
    : { sentinels, name, sentinelPassword };
}

/** A connection to the state Redis (through Sentinel when the URL says so). */
export function openStateRedis(url: string, options: RedisOptions = {}): Redis {
  const target = parseSentinelUrl(url);
  if (!target) return new Redis(url, options);
  return new Redis({
    ...options,
    sentinels: target.sentinels,
    name: target.name,
    ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
    // Give up on a round of sentinels after a few tries: the connection then closes and the usual
    // retryStrategy reconnects, so maxRetriesPerRequest bounds a command's wait. Retrying the
    // sentinels forever instead holds every command (and `dr start`) without a word when they are
    // all unreachable or refuse our password.
    sentinelRetryStrategy: (times) => (times > 3 ? null : Math.min(times * 100, 500)),
    // A replica answers writes with READONLY: after a failover, reconnect to the new primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
}
