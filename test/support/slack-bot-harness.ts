/**
 * A running dr-bot as `dr start` builds it, for end-to-end tests: the real Bolt app over HTTP,
 * the real engine and Redis store, in-memory provider fakes, and the Slack Web API played by
 * test/support/fake-slack.ts. With `detection`, the detector too (its state in the same Redis
 * under the harness's prefix), so tests can post Alertmanager payloads to the bot's HTTP port.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  createSlackAuthorizer,
  createSlackBot,
  createSlackClient,
  type SlackBot,
} from '../../src/bot/index.js';
import type { DrConfig } from '../../src/config/schema.js';
import { createDetector, detectionSettings, type Detector } from '../../src/detection/index.js';
import { createEngine, runPreflight } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/types.js';
import {
  createProviderStatusReader,
  type ProviderStatusExtras,
} from '../../src/providers/provider-status.js';
import { createDetectionStore, createRedisStore } from '../../src/store/index.js';
import type { Providers } from '../../src/providers/types.js';
import type { OperationStore } from '../../src/store/types.js';
import type { FakeSlack } from './fake-slack.js';
import { FakeWorld, createFakeProviders } from './fakes.js';
import { REDIS_URL, deleteKeys } from './redis.js';
import {
  blockActionsBody,
  postToSlackApp,
  slashCommandBody,
  type PostOptions,
} from './slack-signing.js';

interface BotHarnessOptions {
  slack: FakeSlack;
  /** A connection used to delete the harness's keys on stop. */
  redis: Redis;
  config: DrConfig;
  signingSecret: string;
  prefix: string;
  log: Logger;
  world?: FakeWorld;
  /** Added to the bot's environment (DR_ALERTMANAGER_TOKEN, ...). */
  env?: Record<string, string>;
  /** Start the detector from config.detection. */
  detection?: boolean;
  /** For detection.providerStatus.azure: the static-token credential and the simulator's CA. */
  providerStatus?: ProviderStatusExtras;
  cardUpdateIntervalMs?: number;
  tickMs?: number;
  /** Real providers instead of the fakes (e.g. the lab's PostgreSQL and Redis); the caller closes them. */
  providers?: Partial<Providers>;
}

export interface BotHarness {
  store: OperationStore;
  engine: Engine;
  bot: SlackBot;
  world: FakeWorld;
  detector: Detector | undefined;
  /** http://127.0.0.1:<port> of the bot. */
  url: string;
  prefix: string;
  /** Where this harness's calls start in the fake's record. */
  mark: number;
  /** A signed slash command; answers go to the response_url named `path`. */
  command(
    text: string,
    userId: string,
    opts?: PostOptions,
  ): Promise<{ status: number; body: Record<string, unknown> | null; path: string }>;
  /** A signed block_actions click on `actionId` carrying `value`. */
  clickAction(
    actionId: string,
    value: string,
    userId: string,
  ): Promise<{ status: number; path: string }>;
  /** The ephemeral answer sent to one command's or click's response_url. */
  answer(path: string): Promise<string>;
  /** Stop the bot, detector and engine; `keepState` leaves the Redis keys for a restarted bot. */
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

let counter = 0;

export async function startBotHarness(opts: BotHarnessOptions): Promise<BotHarness> {
  const { slack, config, log, prefix } = opts;
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-e2e',
    SLACK_SIGNING_SECRET: opts.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    ...opts.env,
  };
  const store = createRedisStore({ url: REDIS_URL, prefix });
  const world = opts.world ?? (await new FakeWorld().init());
  const providers = { ...createFakeProviders(world), ...opts.providers };
  const authorizer = createSlackAuthorizer({
    config,
    client: createSlackClient(env.SLACK_BOT_TOKEN, env, log),
    log,
  });
  const engine = createEngine({
    config,
    store,
    providers,
    authorizer,
    log,
    tickMs: opts.tickMs ?? 50,
  });
  let detector: Detector | undefined;
  let closeDetectionStore = async (): Promise<void> => {};
  if (opts.detection) {
    const { settings, probe } = detectionSettings(config);
    const detectionStore = createDetectionStore({
      url: REDIS_URL,
      prefix,
      environment: config.environment,
    });
    closeDetectionStore = () => detectionStore.close();
    const providerStatus = createProviderStatusReader(config, opts.providerStatus);
    detector = createDetector({
      settings,
      probe,
      ...(providerStatus ? { providerStatus } : {}),
      store: detectionStore,
      readiness: () =>
        runPreflight(providers, { kind: 'failover', requestedMode: 'auto' }, Date.now),
      log,
    });
  }
  const bot = await createSlackBot({
    config,
    engine,
    store,
    log,
    env,
    cardUpdateIntervalMs: opts.cardUpdateIntervalMs ?? 100,
    ...(detector ? { detector } : {}),
  });
  await engine.start();
  await bot.start();
  await detector?.start();
  const url = `http://127.0.0.1:${bot.port}`;
  const mark = slack.calls.length;

  return {
    store,
    engine,
    bot,
    world,
    detector,
    url,
    prefix,
    mark,
    async command(text, userId, postOpts) {
      const path = `cmd-${++counter}`;
      const res = await postToSlackApp(
        `${url}/slack/events`,
        opts.signingSecret,
        slashCommandBody({
          command: config.slack.command,
          text,
          userId,
          responseUrl: slack.responseUrl(path),
        }),
        postOpts,
      );
      return { status: res.status, body: res.json, path };
    },
    async clickAction(actionId, value, userId) {
      const path = `click-${++counter}`;
      const res = await postToSlackApp(
        `${url}/slack/events`,
        opts.signingSecret,
        blockActionsBody({ userId, actionId, value, responseUrl: slack.responseUrl(path) }),
      );
      return { status: res.status, path };
    },
    async answer(path) {
      const [first] = await slack.waitFor(
        (f) => (f.responses(path).length > 0 ? f.responses(path) : null),
        `an answer on ${path}`,
      );
      expect(first!.body.response_type).toBe('ephemeral');
      expect(first!.body.replace_original).not.toBe(true);
      return String(first!.body.text);
    },
    async stop(stopOpts) {
      await detector?.stop();
      await bot.stop();
      await engine.stop();
      await closeDetectionStore();
      if (!stopOpts?.keepState) await deleteKeys(opts.redis, prefix);
      await store.close();
    },
  };
}
