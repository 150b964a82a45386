/**
 * The Slack bot: Bolt in HTTP mode (signing secret, /slack/events, plus /healthz, /readyz and
 * /metrics) or Socket Mode (app token, plus a tiny HTTP server for those three), the slash
 * command and buttons, and the status cards that follow the engine.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bolt from '@slack/bolt';
import type { App as BoltApp } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { Engine } from '../engine/types.js';
import { ConfigError } from '../errors.js';
import type { Metrics } from '../metrics/index.js';
import type { OperationStore } from '../store/types.js';
import { AckFrontReceiver } from './ack-front.js';
import { createCardUpdater, type CardUpdater } from './card-updater.js';
import { boltLogger, createSlackClient, requireEnv, type SlackClient } from './client.js';
import { registerHandlers } from './handlers.js';
import { healthHandler, metricsHandler } from './health.js';
import type { ReadinessSource } from './readiness.js';
import { createProposalSink, registerProposalActions } from './proposal.js';
import { ALERTMANAGER_PATH, alertmanagerWebhook } from './webhooks.js';
import type { Detector } from '../detection/index.js';

const { App, SocketModeReceiver } = bolt;

export interface SlackBot {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The HTTP port actually listened on (after start; PORT=0 picks a free one). */
  port: number | undefined;
}

export interface SlackBotOptions {
  config: DrConfig;
  engine: Engine;
  store: OperationStore;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** Minimum gap between two edits of one status card (default 1000 ms). */
  cardUpdateIntervalMs?: number;
  /** Regional-failure detection: serves POST /webhooks/alertmanager and shows its proposal card. */
  detector?: Detector;
  /** The readiness monitor's last report, shown by `/dr status`. */
  readiness?: ReadinessSource;
  /** Served on GET /metrics; Slack Web API errors are counted in it. */
  metrics?: Metrics;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`PORT must be a port number (0-65535, 0 = any free port), got "${raw}"`);
  return n;
}

export async function createSlackBot(opts: SlackBotOptions): Promise<SlackBot> {
  const { engine, env, detector } = opts;
  const log = opts.log.child({ component: 'slack' });
  const { botToken, appToken, signingSecret } = slackCredentials(env);
  const listenPort = parsePort(env.PORT);
  const { metrics } = opts;
  const client = createSlackClient(botToken, env, log, {
    ...(metrics ? { onError: (method, code) => metrics.slackError(method, code) } : {}),
  });
  const logger = boltLogger(log.child({ component: 'bolt' }));
  const authorize = await botIdentity(botToken, opts, log);
  const routes = httpRoutes(opts, log);
  const alertmanager = detector ? alertmanagerRoute(opts, detector, log) : undefined;
  const { app, healthServer, front } = boltApp({
    appToken,
    signingSecret,
    listenPort,
    logger,
    log,
    authorize,
    slackApiUrl: client.slackApiUrl,
    routes,
    alertmanager,
  });
  app.error(async (err) => {
    log.error({ err }, 'unhandled error in a Slack listener');
  });
  const listeners = registerListeners(app, opts, client, log);
  const { cards } = listeners;
  let detach = listeners.detach;

  // Subscribe now, not at start(): the engine resumes operations before the HTTP side listens,
  // and their first notifications must still reach the status cards.
  let unsubscribe: (() => void) | null = engine.subscribe((n) => cards.onNotification(n));
  const parts: BoltParts = { app, healthServer, front, listenPort, log };
  const bot: SlackBot = {
    port: undefined,
    async start() {
      await listen(parts, bot);
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = null;
      detach?.();
      detach = null;
      await cards.close();
      await closeBolt(parts);
      bot.port = undefined;
    },
  };
  return bot;
}

/** The tokens from the environment: an app token means Socket Mode, else HTTP mode. */
function slackCredentials(env: NodeJS.ProcessEnv): {
  botToken: string;
  appToken: string | undefined;
  signingSecret: string | undefined;
} {
  const botToken = requireEnv(
    env,
    'SLACK_BOT_TOKEN',
    'the bot token (xoxb-…) from the Slack app\'s "OAuth & Permissions" page',
  );
  const appToken = env.SLACK_APP_TOKEN?.trim() ? env.SLACK_APP_TOKEN : undefined;
  const signingSecret = appToken
    ? undefined
    : requireEnv(
        env,
        'SLACK_SIGNING_SECRET',
        'HTTP mode needs the signing secret from the Slack app\'s "Basic Information" page (or set SLACK_APP_TOKEN for Socket Mode)',
      );
  return { botToken, appToken, signingSecret };
}

/** Slack's answers that mean the token itself is wrong: no retry or wait fixes them. */
const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
]);
/** How long start-up waits for auth.test before going on without the verdict. */
const IDENTITY_WAIT_MS = 2000;

/** The scopes manifest.yml requests that this config uses. */
function requiredScopes(config: SlackBotOptions['config']): string[] {
  const scopes = ['chat:write', 'chat:write.public', 'commands', 'files:write'];
  return config.approvals.userGroup ? [...scopes, 'usergroups:read'] : scopes;
}

/** A token Slack refuses, or one missing a scope, stops start-up with what to fix. */
function identityProblem(
  answer: { error?: string; scopes?: string[] },
  required: string[],
): string | undefined {
  if (answer.error && TOKEN_ERRORS.has(answer.error))
    return `Slack refused SLACK_BOT_TOKEN (${answer.error}): set it to the app's Bot User OAuth Token (xoxb-…) from "OAuth & Permissions", reinstalling the app if the token was revoked`;
  const missing = answer.scopes ? required.filter((s) => !answer.scopes!.includes(s)) : [];
  if (missing.length > 0)
    return `the Slack app's token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: add ${missing.length > 1 ? 'them' : 'it'} under "OAuth & Permissions" (manifest.yml lists every scope) and reinstall the app`;
  return undefined;
}

/**
 * Bolt runs `authorize` before any listener, so before the ack: it must answer from memory.
 * Bolt's default calls auth.test (at construction, or per request), and a slow or failing Web
 * API would then cost every command its 3 s. So the identity is asked for once, at creation:
 * a token Slack refuses (or one missing a scope) stops start-up; a Slack that does not answer
 * within 2 s does not, since a DR bot must start during a Slack incident too.
 */
async function botIdentity(
  botToken: string,
  opts: SlackBotOptions,
  log: Logger,
): Promise<() => Promise<{ botToken: string; botId?: string; botUserId?: string }>> {
  let identity: { botId?: string; botUserId?: string } = {};
  const client = createSlackClient(botToken, opts.env, log, { retries: 0, timeoutMs: 5000 });
  const asked = client.auth.test().then(
    (res) => {
      identity = {
        ...(res.bot_id ? { botId: res.bot_id } : {}),
        ...(res.user_id ? { botUserId: res.user_id } : {}),
      };
      log.debug({ ...identity }, 'bot identity from auth.test');
      return { scopes: res.response_metadata?.scopes };
    },
    (err: unknown) => {
      const error = (err as { data?: { error?: string } }).data?.error;
      log.warn(
        { err },
        'auth.test failed; continuing without the bot identity (commands and buttons do not need it; check SLACK_BOT_TOKEN if Slack calls keep failing)',
      );
      return { error };
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const answer = await Promise.race([
    asked,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), IDENTITY_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  const problem = answer && identityProblem(answer, requiredScopes(opts.config));
  if (problem) throw new ConfigError(problem);
  return async () => ({ botToken, ...identity });
}

type RouteHandler = ReturnType<typeof alertmanagerWebhook>;

/** GET routes beside Slack's: liveness, readiness (this process is the active one), metrics. */
function httpRoutes(opts: SlackBotOptions, log: Logger): Record<string, RouteHandler> {
  const health = healthHandler(opts.store, log);
  return {
    '/healthz': health,
    '/readyz': health,
    ...(opts.metrics ? { '/metrics': metricsHandler(opts.metrics, log) } : {}),
  };
}

function alertmanagerRoute(opts: SlackBotOptions, detector: Detector, log: Logger): RouteHandler {
  const { config, env } = opts;
  const tokenEnv = config.detection?.tokenEnv ?? 'DR_ALERTMANAGER_TOKEN';
  const token = requireEnv(
    env,
    tokenEnv,
    'the bearer token Alertmanager sends to /webhooks/alertmanager (http_config.authorization.credentials)',
  );
  return alertmanagerWebhook({
    detector,
    token,
    maxBodyBytes: config.detection?.maxBodyBytes ?? 1024 * 1024,
    log,
  });
}

interface BoltAppOptions {
  appToken: string | undefined;
  signingSecret: string | undefined;
  listenPort: number;
  logger: ReturnType<typeof boltLogger>;
  log: Logger;
  authorize: Awaited<ReturnType<typeof botIdentity>>;
  slackApiUrl: string;
  routes: Record<string, RouteHandler>;
  alertmanager: RouteHandler | undefined;
}

/** What start() and stop() drive: the Bolt app and, in Socket Mode, the /healthz server. */
interface BoltParts {
  app: BoltApp;
  healthServer: Server | undefined;
  /** HTTP mode's receiver: it knows the port it listens on. */
  front: AckFrontReceiver | undefined;
  listenPort: number;
  log: Logger;
}

/**
 * Bolt runs its global middleware before any listener, so before the ack. Its default
 * conversation store is one the bot never reads, and it builds an Error for every request
 * (`Conversation not found`): off.
 */
const APP_OPTIONS = { convoStore: false } as const;

/** /healthz, /readyz, /metrics and the Alertmanager webhook, without Slack's endpoint. */
function routesServer(
  routes: Record<string, RouteHandler>,
  alertmanager: RouteHandler | undefined,
): Server {
  return createServer((req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    const route = req.method === 'GET' ? routes[path] : undefined;
    if (route) return route(req, res);
    if (alertmanager && req.method === 'POST' && path === ALERTMANAGER_PATH)
      return alertmanager(req, res);
    res.writeHead(404).end();
  });
}

/**
 * Socket Mode (with its own small HTTP server for /healthz) or HTTP mode, where a worker thread
 * owns the port and acks Slack's requests (ack-front.ts) and the routes are served behind it.
 */
function boltApp(o: BoltAppOptions): {
  app: BoltApp;
  healthServer: Server | undefined;
  front: AckFrontReceiver | undefined;
} {
  const { appToken, logger, authorize, slackApiUrl, routes, alertmanager } = o;
  if (appToken) {
    // Bolt hands installerOptions.clientOptions to the Socket Mode client (apps.connections.open);
    // no installer is created without OAuth client credentials.
    const receiver = new SocketModeReceiver({
      appToken,
      logger,
      installerOptions: { clientOptions: { slackApiUrl } },
    });
    const app = new App({
      receiver,
      ...APP_OPTIONS,
      authorize,
      logger,
      clientOptions: { slackApiUrl },
    });
    return { app, healthServer: routesServer(routes, alertmanager), front: undefined };
  }
  const front = new AckFrontReceiver({
    signingSecret: o.signingSecret!,
    port: o.listenPort,
    routes: routesServer(routes, alertmanager),
    log: o.log,
  });
  const app = new App({
    receiver: front,
    ...APP_OPTIONS,
    authorize,
    logger,
    clientOptions: { slackApiUrl },
  });
  return { app, healthServer: undefined, front };
}

/** The status cards, the command and button handlers, and the detection proposal card. */
function registerListeners(
  app: BoltApp,
  opts: SlackBotOptions,
  client: SlackClient,
  log: Logger,
): { cards: CardUpdater; detach: (() => void) | null } {
  const { config, engine, store, detector } = opts;
  const cards = createCardUpdater({
    client,
    store,
    log,
    channel: config.slack.incidentChannel,
    targets: config.targets,
    ...(opts.cardUpdateIntervalMs !== undefined
      ? { minIntervalMs: opts.cardUpdateIntervalMs }
      : {}),
  });
  registerHandlers(app, {
    config,
    engine,
    cards,
    client,
    log,
    ...(detector ? { detector } : {}),
    ...(opts.readiness ? { readiness: opts.readiness } : {}),
  });
  let detach: (() => void) | null = null;
  if (detector) {
    registerProposalActions(app, { config, engine, detector, log });
    detach = detector.attach(
      createProposalSink({
        client,
        channel: config.slack.incidentChannel,
        alertName: detector.settings.alertName,
      }),
    );
  }
  return { cards, detach };
}

async function listen(parts: BoltParts, bot: SlackBot): Promise<void> {
  const { app, healthServer, listenPort, log } = parts;
  if (healthServer) {
    await app.start();
    const server = healthServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, () => resolve());
    });
    bot.port = (server.address() as AddressInfo).port;
    log.info(
      { mode: 'socket', port: bot.port },
      'Slack bot connected in Socket Mode; /healthz served on this port',
    );
  } else {
    await app.start();
    bot.port = parts.front?.port;
    log.info({ mode: 'http', port: bot.port }, 'Slack bot listening on /slack/events and /healthz');
  }
}

async function closeBolt(parts: BoltParts): Promise<void> {
  const { app, healthServer, log } = parts;
  try {
    await app.stop();
  } catch (err) {
    log.warn({ err }, 'stopping the Slack receiver failed');
  }
  if (healthServer?.listening) {
    const server = healthServer;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
