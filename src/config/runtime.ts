/**
 * What `dr start` needs from the environment besides the config file: the state Redis, the Slack
 * credentials, the port, and every connection string the config refers to. All problems are
 * collected and reported together so one restart fixes them all.
 */
import { ConfigError } from '../errors.js';
import { connectionRefs, resolveConnection } from './connection.js';
import {
  CONNECTION_FORM,
  ENCODING_HINT,
  ONE_HOST,
  parseConnectionUrl,
  schemesText,
  type ConnectionKind,
  type ConnectionServer,
} from './connection-url.js';
import { runbookStepProblems } from './runbook-steps-env.js';
import type { DrConfig } from './schema.js';
import { sentinelUrlFromEnv } from './state-redis-env.js';

/**
 * Without REDIS_URL the bot uses a Redis on localhost. That suits the lab and a laptop; a real
 * deployment sets REDIS_URL to the bot's own Redis (never the application's), and start-up logs a
 * warning when it falls back.
 */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PORT = 3000;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface StartEnvironment {
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

interface StartProblem {
  /** `key: what to fix`, never containing a secret. */
  text: string;
  /** Checking it needs the environment: `dr config check --skip-env` leaves it out. */
  needsEnv: boolean;
}

interface StartCheck {
  problems: StartProblem[];
  /** What start runs with; undefined when there are problems or the environment was skipped. */
  environment: StartEnvironment | undefined;
}

interface StartCheckOptions {
  /** Check the file only: skip every check that reads an environment variable. */
  skipEnv?: boolean;
}

/** What kind of Slack token a value is, by its prefix; the prefix is all a message may show. */
const SLACK_TOKEN_KINDS: [prefix: string, kind: string][] = [
  ['xoxb-', 'a bot token'],
  ['xoxp-', 'a user token'],
  ['xapp-', 'an app-level token'],
  ['xoxe.', 'a token rotation token'],
  ['xoxe-', 'a refresh token'],
  ['xoxa-', 'a workspace app token'],
  ['xoxs-', 'a session token'],
];

function tokenKind(value: string): [prefix: string, kind: string] | undefined {
  return SLACK_TOKEN_KINDS.find(([prefix]) => value.startsWith(prefix));
}

const BOT_TOKEN_SOURCE =
  'the bot needs the Bot User OAuth Token (xoxb-…) from the Slack app\'s "OAuth & Permissions" page';

function botTokenProblem(token: string): string | undefined {
  const kind = tokenKind(token);
  if (kind?.[0] === 'xoxb-') return undefined;
  if (kind === undefined)
    return `SLACK_BOT_TOKEN: not a bot token: it starts with xoxb-; ${BOT_TOKEN_SOURCE}`;
  if (kind[0] === 'xapp-')
    return `SLACK_BOT_TOKEN: this is ${kind[1]} (xapp-…), which belongs in SLACK_APP_TOKEN; ${BOT_TOKEN_SOURCE}`;
  return `SLACK_BOT_TOKEN: this is ${kind[1]} (${kind[0]}…); ${BOT_TOKEN_SOURCE}`;
}

function appTokenProblem(token: string): string | undefined {
  const kind = tokenKind(token);
  if (kind?.[0] === 'xapp-') return undefined;
  const rest =
    'Socket Mode needs an app-level token (xapp-…) with connections:write ("Basic Information" page); leave it unset for HTTP mode';
  if (kind === undefined)
    return `SLACK_APP_TOKEN: not an app-level token: it starts with xapp-; ${rest}`;
  if (kind[0] === 'xoxb-')
    return `SLACK_APP_TOKEN: this is ${kind[1]} (xoxb-…), which belongs in SLACK_BOT_TOKEN; ${rest}`;
  return `SLACK_APP_TOKEN: this is ${kind[1]} (${kind[0]}…); ${rest}`;
}

/** The state Redis's connection string, judged like the components' (never quoted back). */
function stateRedisProblem(url: string): string | undefined {
  const parsed = parseConnectionUrl(url, 'redis');
  if (parsed.ok) return undefined;
  const p = parsed.problem;
  if (p.code === 'needs-encoding')
    return `REDIS_URL: the user name or password has characters that must be percent-encoded (${ENCODING_HINT})`;
  if (p.code === 'wrong-scheme')
    return `REDIS_URL: holds a ${p.scheme}:// URL; expected redis://host:port or rediss://host:port (the bot's own state Redis)`;
  if (p.code === 'several-hosts')
    return `REDIS_URL: lists several hosts; expected redis://host:port or rediss://host:port (the bot's own state Redis)`;
  return "REDIS_URL: expected redis://host:port or rediss://host:port (the bot's own state Redis)";
}

/** A connection string read from variable `name` for config key `key`, judged without quoting it. */
function envConnectionProblem(
  key: string,
  name: string,
  url: string,
  kind: ConnectionKind,
): string | undefined {
  const parsed = parseConnectionUrl(url, kind);
  if (parsed.ok) return undefined;
  const p = parsed.problem;
  if (p.code === 'needs-encoding') {
    return `${key}.urlEnv: the user name or password in ${name} has characters that must be percent-encoded (${ENCODING_HINT})`;
  }
  if (p.code === 'wrong-scheme')
    return `${key}.urlEnv: ${name} holds a ${p.scheme}:// URL; expected ${schemesText(kind)}`;
  if (p.code === 'several-hosts') return `${key}.urlEnv: ${name} lists several hosts; ${ONE_HOST}`;
  return `${key}.urlEnv: ${name} does not hold a connection URL; expected ${CONNECTION_FORM[kind]}`;
}

/** What every start check reads, and the list they add their problems to. */
interface StartCheckContext {
  config: DrConfig;
  env: NodeJS.ProcessEnv;
  /** False with `skipEnv`: only the checks the file alone decides run. */
  useEnv: boolean;
  problems: StartProblem[];
}

function envProblem(ctx: StartCheckContext, text: string): void {
  ctx.problems.push({ text, needsEnv: true });
}

function fileProblem(ctx: StartCheckContext, text: string): void {
  ctx.problems.push({ text, needsEnv: false });
}

/** The Slack variables as set (trimmed), unchecked. */
interface SlackVariables {
  botToken: string | undefined;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string | undefined;
}

function checkSlackEnv(ctx: StartCheckContext, slack: SlackVariables): void {
  const { botToken, signingSecret, appToken, apiUrl } = slack;
  if (botToken === undefined) {
    envProblem(
      ctx,
      'SLACK_BOT_TOKEN: not set; copy the Bot User OAuth Token (xoxb-…) from the Slack app\'s "OAuth & Permissions" page',
    );
  } else {
    const tokenProblem = botTokenProblem(botToken);
    if (tokenProblem !== undefined) envProblem(ctx, tokenProblem);
  }
  if (signingSecret === undefined && appToken === undefined) {
    envProblem(
      ctx,
      'SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: neither is set; HTTP mode needs the signing secret ("Basic Information" page), Socket Mode an app-level token (xapp-…) with connections:write',
    );
  }
  const appProblem = appToken === undefined ? undefined : appTokenProblem(appToken);
  if (appProblem !== undefined) envProblem(ctx, appProblem);
  if (apiUrl !== undefined && !/^https?:\/\//.test(apiUrl)) {
    envProblem(ctx, 'SLACK_API_URL: expected an http(s) URL such as https://slack.com/api/');
  }
}

/** PORT as set, or DEFAULT_PORT; LOG_LEVEL is only checked. */
function checkProcessEnv(ctx: StartCheckContext): number {
  const { env } = ctx;
  let port = DEFAULT_PORT;
  const portText = set(env, 'PORT');
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 0 || port > 65535)
      envProblem(ctx, `PORT: expected a port number 0-65535, got ${JSON.stringify(portText)}`);
  }

  const logLevel = set(env, 'LOG_LEVEL');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    envProblem(
      ctx,
      `LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`,
    );
  }
  return port;
}

function checkDetection(ctx: StartCheckContext): void {
  const { config, env, useEnv } = ctx;
  if (!config.detection) return;
  const tokenEnv = config.detection.tokenEnv;
  if (useEnv && set(env, tokenEnv) === undefined) {
    envProblem(
      ctx,
      `${tokenEnv}: not set; detection needs the bearer token Alertmanager sends to /webhooks/alertmanager (or remove the detection section)`,
    );
  }
  if (!config.detection.probeUrls?.length && !config.regions.primary.healthUrl) {
    fileProblem(
      ctx,
      'detection: nothing to probe; set regions.primary.healthUrl or detection.probeUrls',
    );
  }
}

type ConnectionServers = Record<string, { server: ConnectionServer; fromEnv: boolean }>;

/**
 * Each connection string, parsed as its driver will: a bad one is named now, by key and variable,
 * not at the first readiness round as "Invalid URL".
 */
function checkConnections(ctx: StartCheckContext): {
  connections: Record<string, string>;
  servers: ConnectionServers;
} {
  const { config, env, useEnv } = ctx;
  const connections: Record<string, string> = {};
  const servers: ConnectionServers = {};
  for (const { key, ref, kind } of connectionRefs(config)) {
    if (ref.urlEnv !== undefined && !useEnv) continue;
    let url: string;
    try {
      url = resolveConnection(ref, env, key);
    } catch (err) {
      envProblem(ctx, (err as Error).message);
      continue;
    }
    connections[key] = url;
    const parsed = parseConnectionUrl(url, kind);
    if (parsed.ok) servers[key] = { server: parsed.server, fromEnv: ref.urlEnv !== undefined };
    else if (ref.urlEnv !== undefined)
      envProblem(ctx, envConnectionProblem(key, ref.urlEnv, url, kind) as string);
    // A bad `url` written in the file is refused by the schema, with its line.
  }
  return { connections, servers };
}

/** Both sides reaching one server would have the bot "promote" the server it fences. */
function checkDistinctSides(ctx: StartCheckContext, servers: ConnectionServers): void {
  for (const component of ['postgres', 'redis']) {
    const a = servers[`components.${component}.primary`];
    const b = servers[`components.${component}.secondary`];
    if (a === undefined || b === undefined || a.server.key !== b.server.key) continue;
    const shown =
      a.server.display === b.server.display
        ? a.server.display
        : `${a.server.display} and ${b.server.display}`;
    const text = `components.${component}: primary and secondary are the same server (${shown}); check the connection strings`;
    if (a.fromEnv || b.fromEnv) envProblem(ctx, text);
    else fileProblem(ctx, text);
  }
}

/** Failing over the Redis that holds the bot's own state would lose the operation mid-way. */
function checkStateRedisApart(
  ctx: StartCheckContext,
  redisUrl: string,
  servers: ConnectionServers,
): void {
  const state = ctx.useEnv ? parseConnectionUrl(redisUrl, 'redis') : undefined;
  if (!state?.ok) return;
  for (const key of ['components.redis.primary', 'components.redis.secondary']) {
    const side = servers[key];
    if (side !== undefined && side.server.key === state.server.key) {
      envProblem(
        ctx,
        `REDIS_URL: points at the same server as ${key} (${state.server.display}); the bot's state needs its own Redis outside the primary region`,
      );
    }
  }
}

/** Azure Blob connection strings are read when the readiness checks are built; say it now. */
function checkObjectStorageEnv(ctx: StartCheckContext): void {
  if (!ctx.useEnv) return;
  const blocks = {
    objectStorage: ctx.config.components.objectStorage,
    terraformState: ctx.config.components.terraformState,
  };
  for (const [block, store] of Object.entries(blocks)) {
    for (const side of ['primary', 'secondary'] as const) {
      const name = store?.[side].connectionStringEnv;
      if (name !== undefined && set(ctx.env, name) === undefined) {
        envProblem(
          ctx,
          `components.${block}.${side}.connectionStringEnv: ${name} is not set; export the storage account's connection string in it`,
        );
      }
    }
  }
}

/**
 * Every check `dr start` makes before it connects to anything, in one place: `dr start` refuses
 * on any problem (checkStartEnvironment), `dr config check` prints the same list. With
 * `skipEnv` only the checks the file alone decides run (a config on a machine without secrets).
 */
export function checkStart(
  config: DrConfig,
  env: NodeJS.ProcessEnv,
  opts: StartCheckOptions = {},
): StartCheck {
  const useEnv = opts.skipEnv !== true;
  const ctx: StartCheckContext = { config, env, useEnv, problems: [] };
  const { problems } = ctx;

  // Sentinel, when configured, wins over REDIS_URL: the primary moves, the sentinels stay.
  const sentinel = useEnv ? sentinelUrlFromEnv(env) : undefined;
  const redisFromEnv =
    sentinel && 'url' in sentinel ? sentinel.url : useEnv ? set(env, 'REDIS_URL') : undefined;
  const redisUrl = redisFromEnv ?? DEFAULT_REDIS_URL;
  const slack: SlackVariables = {
    botToken: set(env, 'SLACK_BOT_TOKEN'),
    signingSecret: set(env, 'SLACK_SIGNING_SECRET'),
    appToken: set(env, 'SLACK_APP_TOKEN'),
    apiUrl: set(env, 'SLACK_API_URL'),
  };
  let port = DEFAULT_PORT;

  if (useEnv) {
    const stateProblem =
      sentinel !== undefined
        ? 'problem' in sentinel
          ? sentinel.problem
          : undefined
        : redisFromEnv === undefined
          ? undefined
          : stateRedisProblem(redisFromEnv);
    if (stateProblem !== undefined) envProblem(ctx, stateProblem);
    checkSlackEnv(ctx, slack);
    port = checkProcessEnv(ctx);
  }

  checkDetection(ctx);
  const { connections, servers } = checkConnections(ctx);
  checkDistinctSides(ctx, servers);
  checkStateRedisApart(ctx, redisUrl, servers);
  checkObjectStorageEnv(ctx);
  if (useEnv) for (const text of runbookStepProblems(config, env)) envProblem(ctx, text);

  if (problems.length > 0 || !useEnv) return { problems, environment: undefined };
  const { botToken, signingSecret, appToken, apiUrl } = slack;
  return {
    problems,
    environment: {
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
    },
  };
}

/** What the list of problems is about, for its first line. */
export function startProblemsTitle(problems: readonly StartProblem[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const env = problems.some((p) => p.needsEnv);
  const file = problems.some((p) => !p.needsEnv);
  const what =
    env && file
      ? 'the config and the environment are'
      : file
        ? 'the config is'
        : 'the environment is';
  return `${what} not ready for dr start (${count})`;
}

/** Check the config and the environment for `dr start`; throws one ConfigError listing every problem. */
export function checkStartEnvironment(config: DrConfig, env: NodeJS.ProcessEnv): StartEnvironment {
  const { problems, environment } = checkStart(config, env);
  if (problems.length > 0 || environment === undefined) {
    throw new ConfigError(
      `${startProblemsTitle(problems)}:\n${problems.map((p) => `  ${p.text}`).join('\n')}`,
    );
  }
  return environment;
}
