/**
 * The state Redis through Redis Sentinel, from the environment: REDIS_SENTINELS (host:port,…),
 * REDIS_SENTINEL_MASTER (the monitored master's name) and REDIS_SENTINEL_PASSWORD (when the
 * sentinels require one) become a `redis-sentinel://[:password@]hosts/master` string that
 * src/store/state-redis.ts opens. The password rides in the userinfo so that the log scrubber and
 * describeUrl mask it like any URL's. No ioredis here: the config check loads no Redis client.
 */
const SENTINELS_ENV = 'REDIS_SENTINELS';
const SENTINEL_MASTER_ENV = 'REDIS_SENTINEL_MASTER';
const SENTINEL_PASSWORD_ENV = 'REDIS_SENTINEL_PASSWORD';
export const SENTINEL_SCHEME = 'redis-sentinel://';
const SCHEME = SENTINEL_SCHEME;

/** The sentinel form of the state Redis from the environment, a problem to report, or undefined (not used). */
export function sentinelUrlFromEnv(
  env: NodeJS.ProcessEnv,
): { url: string } | { problem: string } | undefined {
  const list = env[SENTINELS_ENV]?.trim();
  const name = env[SENTINEL_MASTER_ENV]?.trim();
  const password = env[SENTINEL_PASSWORD_ENV];
  if (!list && !name) {
    if (password)
      return {
        problem: `${SENTINEL_PASSWORD_ENV}: set, but ${SENTINELS_ENV} is not: list the sentinels as host:port,host:port and name the master in ${SENTINEL_MASTER_ENV}, or unset it`,
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
  // Encoded, so that an @ or / in the password cannot be read as the end of the userinfo.
  const auth = password ? `:${encodeURIComponent(password)}@` : '';
  return { url: `${SCHEME}${auth}${hosts}/${name}` };
}

/** Which environment variables chose the state Redis at `url`, for "check …" advice. */
export function stateRedisVariables(url: string): string {
  return url.startsWith(SCHEME)
    ? `${SENTINELS_ENV}, ${SENTINEL_MASTER_ENV} and ${SENTINEL_PASSWORD_ENV}`
    : 'REDIS_URL';
}
