/**
 * What `dr start` needs from the environment besides the config file: the state Redis, the Slack
 * credentials, the port, and every connection string the config refers to. All problems are
 * collected and reported together so one restart fixes them all.
 */
import { ConfigError } from '../errors.js';
import { connectionRefs, resolveConnection } from './connection.js';
import type { DrConfig } from './schema.js';

/**
 * Without REDIS_URL the bot uses a Redis on localhost. That suits the lab and a laptop; a real
 * deployment sets REDIS_URL to the bot's own Redis (never the application's), and start-up logs a
 * warning when it falls back.
 */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PORT = 3000;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface StartEnvironment {
  redisUrl: string;
  /** True when REDIS_URL was not set and DEFAULT_REDIS_URL is used. */
  redisUrlDefaulted: boolean;
  slack: {
    botToken: string;
    /** HTTP mode (signing secret, PORT) or Socket Mode (app token). */
    mode: 'http' | 'socket';
    signingSecret?: string;
    appToken?: string;
    apiUrl?: string;
  };
  port: number;
  /** Resolved connection strings by config key (components.postgres.primary, ...). Secrets: never log. */
  connections: Record<string, string>;
}

function set(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function hostPort(url: string): string | undefined {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'rediss:' ? '6380' : '6379');
    return `${u.hostname.toLowerCase()}:${port}`;
  } catch {
    return undefined;
  }
}

/** host:port/database of a connection string, without credentials; undefined when unparsable. */
function serverOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port || 'default'}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return undefined;
  }
}

/** Check the environment for `dr start`; throws one ConfigError listing every problem. */
export function checkStartEnvironment(config: DrConfig, env: NodeJS.ProcessEnv): StartEnvironment {
  const problems: string[] = [];

  const redisFromEnv = set(env, 'REDIS_URL');
  const redisUrl = redisFromEnv ?? DEFAULT_REDIS_URL;
  if (redisFromEnv !== undefined && !/^rediss?:\/\/[^/]/.test(redisFromEnv)) {
    problems.push('REDIS_URL: expected redis://host:port or rediss://host:port (the bot\'s own state Redis)');
  }

  const botToken = set(env, 'SLACK_BOT_TOKEN');
  if (botToken === undefined) {
    problems.push('SLACK_BOT_TOKEN: not set; copy the Bot User OAuth Token (xoxb-…) from the Slack app\'s "OAuth & Permissions" page');
  }
  const signingSecret = set(env, 'SLACK_SIGNING_SECRET');
  const appToken = set(env, 'SLACK_APP_TOKEN');
  if (signingSecret === undefined && appToken === undefined) {
    problems.push(
      'SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: neither is set; HTTP mode needs the signing secret ("Basic Information" page), Socket Mode an app-level token (xapp-…) with connections:write',
    );
  }
  if (appToken !== undefined && !appToken.startsWith('xapp-')) {
    problems.push('SLACK_APP_TOKEN: an app-level token starts with xapp-; leave it unset for HTTP mode');
  }
  const apiUrl = set(env, 'SLACK_API_URL');
  if (apiUrl !== undefined && !/^https?:\/\//.test(apiUrl)) {
    problems.push('SLACK_API_URL: expected an http(s) URL such as https://slack.com/api/');
  }

  let port = DEFAULT_PORT;
  const portText = set(env, 'PORT');
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 0 || port > 65535) problems.push(`PORT: expected a port number 0-65535, got ${JSON.stringify(portText)}`);
  }

  const logLevel = set(env, 'LOG_LEVEL');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }

  if (config.detection) {
    const tokenEnv = config.detection.tokenEnv;
    if (set(env, tokenEnv) === undefined) {
      problems.push(`${tokenEnv}: not set; detection needs the bearer token Alertmanager sends to /webhooks/alertmanager (or remove the detection section)`);
    }
    if (!config.detection.probeUrls?.length && !config.regions.primary.healthUrl) {
      problems.push('detection: nothing to probe; set regions.primary.healthUrl or detection.probeUrls');
    }
  }

  const connections: Record<string, string> = {};
  for (const { key, ref } of connectionRefs(config)) {
    try {
      connections[key] = resolveConnection(ref, env, key);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }

  // Both sides resolving to one server would have the bot "promote" the server it fences.
  for (const component of ['postgres', 'redis']) {
    const a = connections[`components.${component}.primary`];
    const b = connections[`components.${component}.secondary`];
    const server = a !== undefined && b !== undefined ? serverOf(a) : undefined;
    if (server !== undefined && server === serverOf(b as string)) {
      problems.push(`components.${component}: primary and secondary are the same server (${server}); check the connection strings`);
    }
  }

  // Failing over the Redis that holds the bot's own state would lose the operation mid-way.
  const stateHost = hostPort(redisUrl);
  for (const key of ['components.redis.primary', 'components.redis.secondary']) {
    const url = connections[key];
    if (url !== undefined && stateHost !== undefined && hostPort(url) === stateHost) {
      problems.push(`REDIS_URL: points at the same server as ${key} (${stateHost}); the bot's state needs its own Redis outside the primary region`);
    }
  }

  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new ConfigError(`the environment is not ready for dr start (${count}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  return {
    redisUrl,
    redisUrlDefaulted: redisFromEnv === undefined,
    slack: {
      botToken: botToken as string,
      mode: appToken !== undefined ? 'socket' : 'http',
      ...(signingSecret !== undefined ? { signingSecret } : {}),
      ...(appToken !== undefined ? { appToken } : {}),
      ...(apiUrl !== undefined ? { apiUrl } : {}),
    },
    port,
    connections,
  };
}
