/**
 * The Slack bot: Bolt in HTTP mode (signing secret, /slack/events, /healthz) or Socket Mode (app
 * token, plus a tiny HTTP server for /healthz), the slash command and buttons, and the status
 * cards that follow the engine.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bolt from '@slack/bolt';
import type { App as BoltApp } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { Engine } from '../engine/types.js';
import { ConfigError } from '../errors.js';
import type { OperationStore } from '../store/types.js';
import { createCardUpdater, type CardUpdater } from './card-updater.js';
import { boltLogger, createSlackClient, requireEnv, type SlackClient } from './client.js';
import { registerHandlers } from './handlers.js';
import { healthHandler } from './health.js';
import type { ReadinessSource } from './readiness.js';
import { createProposalSink, registerProposalActions } from './proposal.js';
import { ALERTMANAGER_PATH, alertmanagerWebhook } from './webhooks.js';
import type { Detector } from '../detection/index.js';

const { App, HTTPReceiver, SocketModeReceiver } = bolt;

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
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`PORT must be a port number (0-65535, 0 = any free port), got "${raw}"`);
  return n;
}

export async function createSlackBot(opts: SlackBotOptions): Promise<SlackBot> {
  const { engine, store, env, detector } = opts;
  const log = opts.log.child({ component: 'slack' });
  const { botToken, appToken, signingSecret } = slackCredentials(env);
  const listenPort = parsePort(env.PORT);
  const client = createSlackClient(botToken, env, log);
  const logger = boltLogger(log.child({ component: 'bolt' }));
  const identity = botIdentity(botToken, env, log);
  const health = healthHandler(store, log);
  const alertmanager = detector ? alertmanagerRoute(opts, detector, log) : undefined;
  const { app, healthServer } = boltApp({
    appToken,
    signingSecret,
    listenPort,
    logger,
    authorize: identity.authorize,
    slackApiUrl: client.slackApiUrl,
    health,
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
  const parts: BoltParts = { app, healthServer, listenPort, log };
  const bot: SlackBot = {
    port: undefined,
    async start() {
      void identity.learn();
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

/**
 * Bolt runs `authorize` before any listener, so before the ack: it must answer from memory.
 * Bolt's default calls auth.test (at construction, or per request), and a slow or failing Web
 * API would then cost every command its 3 s. Commands and buttons do not need the bot's
 * identity, so it is learned once in the background at start (one try, short timeout) and
 * the bot works without it when Slack does not answer.
 */
function botIdentity(
  botToken: string,
  env: NodeJS.ProcessEnv,
  log: Logger,
): {
  authorize: () => Promise<{ botToken: string; botId?: string; botUserId?: string }>;
  learn: () => Promise<void>;
} {
  let identity: { botId?: string; botUserId?: string } = {};
  const authorize = async () => ({ botToken, ...identity });
  const identityClient = createSlackClient(botToken, env, log, { retries: 0, timeoutMs: 5000 });
  const learn = async (): Promise<void> => {
    try {
      const res = await identityClient.auth.test();
      identity = {
        ...(res.bot_id ? { botId: res.bot_id } : {}),
        ...(res.user_id ? { botUserId: res.user_id } : {}),
      };
      log.debug({ ...identity }, 'bot identity from auth.test');
    } catch (err) {
      log.warn(
        { err },
        'auth.test failed; continuing without the bot identity (commands and buttons do not need it; check SLACK_BOT_TOKEN if Slack calls keep failing)',
      );
    }
  };
  return { authorize, learn };
}

type RouteHandler = ReturnType<typeof alertmanagerWebhook>;

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
  authorize: ReturnType<typeof botIdentity>['authorize'];
  slackApiUrl: string;
  health: ReturnType<typeof healthHandler>;
  alertmanager: RouteHandler | undefined;
}

/** What start() and stop() drive: the Bolt app and, in Socket Mode, the /healthz server. */
interface BoltParts {
  app: BoltApp;
  healthServer: Server | undefined;
  listenPort: number;
  log: Logger;
}

/** Socket Mode (with its own small HTTP server for /healthz) or HTTP mode (Bolt's receiver). */
function boltApp(o: BoltAppOptions): { app: BoltApp; healthServer: Server | undefined } {
  const { appToken, logger, authorize, slackApiUrl, health, alertmanager } = o;
  if (appToken) {
    // Bolt hands installerOptions.clientOptions to the Socket Mode client (apps.connections.open);
    // no installer is created without OAuth client credentials.
    const receiver = new SocketModeReceiver({
      appToken,
      logger,
      installerOptions: { clientOptions: { slackApiUrl } },
    });
    const app = new App({ receiver, authorize, logger, clientOptions: { slackApiUrl } });
    const healthServer = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/healthz') return health(req, res);
      if (alertmanager && req.method === 'POST' && req.url?.split('?')[0] === ALERTMANAGER_PATH)
        return alertmanager(req, res);
      res.writeHead(404).end();
    });
    return { app, healthServer };
  }
  const receiver = new HTTPReceiver({
    signingSecret: o.signingSecret!,
    endpoints: '/slack/events',
    port: o.listenPort,
    logger,
    customRoutes: [
      { path: '/healthz', method: ['GET'], handler: health },
      ...(alertmanager
        ? [{ path: ALERTMANAGER_PATH, method: ['POST'], handler: alertmanager }]
        : []),
    ],
  });
  const app = new App({ receiver, authorize, logger, clientOptions: { slackApiUrl } });
  return { app, healthServer: undefined };
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
    const server = (await app.start(listenPort)) as Server;
    bot.port = (server.address() as AddressInfo).port;
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
