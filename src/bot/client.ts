/**
 * The Slack Web API client and the small pieces of Bolt set-up shared by the bot and the
 * authorizer: one token, one base URL (SLACK_API_URL for tests and proxies), bounded retries,
 * and Bolt/Web API log lines routed into pino.
 */
import bolt from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';

const { LogLevel, webApi } = bolt;

export type SlackClient = bolt.webApi.WebClient;

interface SlackClientOptions {
  /** Retries of a failed call (default 3, backing off from 0.5 s to 4 s). */
  retries?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Called with the method and Slack's error code of every call that fails (the metrics). */
  onError?: (method: string, code: string) => void;
}

export function createSlackClient(
  token: string,
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: SlackClientOptions = {},
): SlackClient {
  const apiUrl = env.SLACK_API_URL?.trim();
  const client = new webApi.WebClient(token, {
    // The client joins method names onto this URL, so it must end with a slash.
    ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
    logger: boltLogger(log.child({ component: 'slack-web-api' })),
    // The default retries for ~30 minutes; a status card that late is useless and holds memory.
    retryConfig: { retries: opts.retries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 4000 },
    timeout: opts.timeoutMs ?? 10_000,
  });
  const { onError } = opts;
  if (onError) {
    // Every method (chat.postMessage, files.uploadV2, ...) goes through apiCall.
    const apiCall = client.apiCall.bind(client);
    client.apiCall = async (method, options) => {
      try {
        return await apiCall(method, options);
      } catch (err) {
        const e = err as { data?: { error?: string }; code?: string };
        onError(method, e.data?.error ?? e.code ?? 'unknown');
        throw err;
      }
    };
  }
  return client;
}

export function boltLogger(log: Logger): BoltLogger {
  const text = (msg: unknown[]): string =>
    msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m)))
      .join(' ');
  // Bolt and the Web API log debug lines on every request (the Web API its whole request body);
  // formatting them only to drop them would be CPU taken from the acks.
  const debug = (...msg: unknown[]): void => {
    if (log.isLevelEnabled('debug')) log.debug(text(msg));
  };
  return {
    debug,
    // Bolt's info lines (connection chatter) are debug detail for us.
    info: debug,
    warn: (...msg: unknown[]) => log.warn(text(msg)),
    error: (...msg: unknown[]) => log.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => (log.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}

export function requireEnv(env: NodeJS.ProcessEnv, name: string, why: string): string {
  const v = env[name];
  if (!v || v.trim() === '') throw new ConfigError(`${name} is not set: ${why}`);
  return v;
}
