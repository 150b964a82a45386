/**
 * Connections to the bot's state Redis: a plain redis:// URL, or a primary found through Redis
 * Sentinel so that the state survives the loss of one Redis server or zone. Sentinel is chosen by
 * the environment (REDIS_SENTINELS, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD and
 * REDIS_SENTINEL_MASTER_USERNAME/_PASSWORD) and carried through the code as a
 * `redis-sentinel://[user:masterPassword:sentinelPassword@]host:port,host:port/master` string
 * (see src/config/state-redis-env.ts), so every place that takes the state
 * Redis's URL follows a failover without knowing about it. ioredis asks the sentinels for the
 * current primary and reconnects to the new one after a failover.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { SENTINEL_SCHEME as SCHEME } from '../config/state-redis-env.js';

interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  name: string;
  /** ioredis's own option names: `username`/`password` for the master, `sentinelPassword`. */
  auth: Pick<RedisOptions, 'username' | 'password' | 'sentinelPassword'>;
}

/** `user:masterPassword:sentinelPassword`, each percent-encoded; empty fields are not set. */
function parseAuth(userinfo: string): SentinelTarget['auth'] {
  const [username, password, sentinelPassword] = userinfo.split(':').map(decodeURIComponent);
  return Object.fromEntries(
    Object.entries({ username, password, sentinelPassword }).filter(([, v]) => v),
  );
}

function parseSentinelUrl(url: string): SentinelTarget | undefined {
  if (!url.startsWith(SCHEME)) return undefined;
  let rest = url.slice(SCHEME.length);
  let auth: SentinelTarget['auth'] = {};
  const at = rest.indexOf('@');
  if (at >= 0) {
    auth = parseAuth(rest.slice(0, at));
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
  return { sentinels, name: rest.slice(slash + 1), auth };
}

/** A connection to the state Redis (through Sentinel when the URL says so). */
export function openStateRedis(url: string, options: RedisOptions = {}): Redis {
  const target = parseSentinelUrl(url);
  if (!target) return new Redis(url, options);
  return new Redis({
    ...options,
    sentinels: target.sentinels,
    name: target.name,
    ...target.auth,
    // Give up on a round of sentinels after a few tries: the connection then closes and the usual
    // retryStrategy reconnects, so maxRetriesPerRequest bounds a command's wait. Retrying the
    // sentinels forever instead holds every command (and `dr start`) without a word when they are
    // all unreachable or refuse our password.
    sentinelRetryStrategy: (times) => (times > 3 ? null : Math.min(times * 100, 500)),
    // A replica answers writes with READONLY: after a failover, reconnect to the new primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
}
