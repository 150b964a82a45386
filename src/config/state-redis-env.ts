/**
 * The state Redis through Redis Sentinel, from the environment: REDIS_SENTINELS (host:port,…),
 * REDIS_SENTINEL_MASTER (the monitored master's name), REDIS_SENTINEL_PASSWORD (when the
 * sentinels require one) and REDIS_SENTINEL_MASTER_USERNAME / _PASSWORD (when the master and its
 * replicas do) become a `redis-sentinel://[user:masterPassword:sentinelPassword@]hosts/master`
 * string that src/store/state-redis.ts opens. The credentials ride in the userinfo, each
 * percent-encoded, so that the log scrubber and describeUrl mask them like any URL's password.
 * No ioredis here: the config check loads no Redis client.
 */
const SENTINELS_ENV = 'REDIS_SENTINELS';
const SENTINEL_MASTER_ENV = 'REDIS_SENTINEL_MASTER';
const SENTINEL_PASSWORD_ENV = 'REDIS_SENTINEL_PASSWORD';
const MASTER_USERNAME_ENV = 'REDIS_SENTINEL_MASTER_USERNAME';
const MASTER_PASSWORD_ENV = 'REDIS_SENTINEL_MASTER_PASSWORD';
export const SENTINEL_SCHEME = 'redis-sentinel://';
const SCHEME = SENTINEL_SCHEME;

/** The sentinel form of the state Redis from the environment, a problem to report, or undefined (not used). */
export function sentinelUrlFromEnv(
  env: NodeJS.ProcessEnv,
): { url: string } | { problem: string } | undefined {
  const list = env[SENTINELS_ENV]?.trim();
  const name = env[SENTINEL_MASTER_ENV]?.trim();
  const password = env[SENTINEL_PASSWORD_ENV];
  const masterUser = env[MASTER_USERNAME_ENV];
  const masterPassword = env[MASTER_PASSWORD_ENV];
  if (!list && !name) {
    // REDIS_URL carries its own credentials; these would be silently ignored.
    const stray = [SENTINEL_PASSWORD_ENV, MASTER_PASSWORD_ENV, MASTER_USERNAME_ENV].find(
      (v) => env[v],
    );
    if (stray !== undefined)
      return {
        problem: `${stray}: set, but ${SENTINELS_ENV} is not: list the sentinels as host:port,host:port and name the master in ${SENTINEL_MASTER_ENV}, or unset it`,
      };
    return undefined;
  }
  if (!list)
    return {
      problem: `${SENTINELS_ENV}: not set, but ${SENTINEL_MASTER_ENV} is: list the sentinels as host:port,host:port`,
    };
  if (!name)
    return {
      problem: `${SENTINEL_MASTER_ENV}: not set, but ${SENTINELS_ENV} is: name the master the sentinels monitor (sentinel monitor NAME …)`,
    };
  const bad = list.split(',').find((hp) => !/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(hp.trim()));
  if (bad !== undefined)
    return {
      problem: `${SENTINELS_ENV}: ${JSON.stringify(bad)} is not host:port; expected host:port,host:port`,
    };
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    return { problem: `${SENTINEL_MASTER_ENV}: expected a master name (letters, digits, . _ -)` };
  const hosts = list
    .split(',')
    .map((hp) => hp.trim())
    .join(',');
  if (masterUser && !masterPassword)
    return {
      problem: `${MASTER_USERNAME_ENV}: set, but ${MASTER_PASSWORD_ENV} is not: give the master's password too, or unset it`,
    };
  // Encoded, so that a : @ or / in a credential cannot be read as the end of its field.
  const auth =
    password || masterPassword
      ? `${[masterUser, masterPassword, password].map((v) => encodeURIComponent(v ?? '')).join(':')}@`
      : '';
  return { url: `${SCHEME}${auth}${hosts}/${name}` };
}

/**
 * Which environment variables chose the state Redis at `url`, for "check …" advice; `error` (what
 * the connection said) narrows it to the master's credentials when the master refused them.
 */
export function stateRedisVariables(url: string, error = ''): string {
  if (!url.startsWith(SCHEME)) return 'REDIS_URL';
  // ioredis prefixes the sentinels' errors ("All sentinels are unreachable…"): a bare one is the master's.
  if (/^(WRONGPASS|NOAUTH)\b/.test(error))
    return `${MASTER_PASSWORD_ENV} and ${MASTER_USERNAME_ENV}`;
  return `${SENTINELS_ENV}, ${SENTINEL_MASTER_ENV} and ${SENTINEL_PASSWORD_ENV}`;
}
