/**
 * `/dr status` through the real Bolt app shows readiness: the tally of the last report and every
 * check that is not ok, read from Redis where the monitor saved it (so a restarted bot shows it).
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  createSlackAuthorizer,
  createSlackBot,
  createSlackClient,
  type SlackBot,
} from '../../src/bot/index.js';
import { configSchema } from '../../src/config/schema.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine } from '../../src/engine/types.js';
import {
  createReadinessMonitor,
  createReadinessState,
  type ReadinessCheck,
  type ReadinessState,
} from '../../src/readiness/index.js';
import { stateStoreCheck } from '../../src/readiness/state-store-check.js';
import { createRedisStore } from '../../src/store/index.js';
import type { OperationStore } from '../../src/store/types.js';
import { FakeWorld, createFakeProviders } from '../support/fakes.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';
import { postToSlackApp, slashCommandBody } from '../support/slack-signing.js';

const SECRET = 'test-signing-secret-readiness';
const log = pino({ level: 'silent' });
const config = configSchema.parse({
  environment: 'status',
  regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
  slack: { incidentChannel: 'C0STATUS' },
  approvals: { approvers: ['U0BOB'] },
});
const prefix = uniquePrefix('readiness-status');
let redis: Redis;
let slack: FakeSlack;
let store: OperationStore;
let state: ReadinessState;
let engine: Engine;
let bot: SlackBot;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  store = createRedisStore({ url: REDIS_URL, prefix });
  state = createReadinessState({ redis, prefix });
});

afterAll(async () => {
  await store.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await slack.close();
});

async function startBot(): Promise<string> {
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-status',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
  };
  const authorizer = createSlackAuthorizer({
    config,
    client: createSlackClient(env.SLACK_BOT_TOKEN, env, log),
    log,
  });
  engine = createEngine({
    config,
    store,
    providers: createFakeProviders(await new FakeWorld().init()),
    authorizer,
    log,
  });
  bot = await createSlackBot({
    config,
    engine,
    store,
    log,
    env,
    readiness: { lastReport: () => state.lastReport(config.environment) },
  });
  await engine.start();
  await bot.start();
  return `http://127.0.0.1:${bot.port}`;
}

async function stopBot(): Promise<void> {
  await bot.stop();
  await engine.stop();
}

async function status(url: string, path: string): Promise<string> {
  const res = await postToSlackApp(
    `${url}/slack/events`,
    SECRET,
    slashCommandBody({ text: 'status', userId: 'U0ALICE', responseUrl: slack.responseUrl(path) }),
  );
  expect(res.status).toBe(200);
  const [answer] = await slack.waitFor(
    (f) => (f.responses(path).length > 0 ? f.responses(path) : null),
    `the status answer on ${path}`,
  );
  return String(answer!.body.text);
}

const fixed = (
  id: ReadinessCheck['id'],
  title: string,
  finding: Awaited<ReturnType<ReadinessCheck['run']>>,
): ReadinessCheck => ({ id, title, run: async () => finding });

test('/dr status says readiness was not checked yet, then shows the last report: what is not ok, and the green rows by name', async () => {
  let url = await startBot();
  try {
    expect(await status(url, 'before')).toContain('*Readiness:* not checked yet');
  } finally {
    await stopBot();
  }

  const monitor = createReadinessMonitor({
    env: config.environment,
    state,
    intervalMs: 0,
    log,
    notify: async () => undefined,
    checks: [
      fixed('postgres', 'PostgreSQL replication', {
        status: 'ok',
        detail: 'streaming',
        measured: '0 s (0 B)',
        target: 'lag ≤ 300 s',
      }),
      fixed('velero', 'Velero backup', {
        status: 'degraded',
        detail: 'newest completed backup nightly-3 finished 50 h ago',
        measured: '50 h old',
        target: '< 24 h',
      }),
      {
        id: 'dns',
        title: 'DNS routing',
        run: async () => Promise.reject(new Error('connect ECONNREFUSED')),
      },
      // The real check on the tests' state Redis (no AOF there: the lab opt-in accepts it).
      stateStoreCheck(redis, true),
    ],
  });
  await monitor.runOnce();

  // A restarted bot reads the report the monitor saved.
  url = await startBot();
  try {
    const text = await status(url, 'after');
    expect(text).toMatch(/\*Readiness:\* 2 ok, 1 degraded, 1 unknown, checked .* ago/);
    // The bot's own state store is always a row, ok or not: its durability and replicas.
    expect(text).toMatch(
      /✅ \*Bot state store\* ok: .* \(measured (no AOF|AOF on)[^,]*, (no replica|\d+ replicas? online)/,
    );
    expect(text).toContain(
      '⚠️ *Velero backup* degraded: newest completed backup nightly-3 finished 50 h ago (measured 50 h old, target &lt; 24 h)',
    );
    expect(text).toContain('❔ *DNS routing* unknown: could not check: connect ECONNREFUSED');
    // A green row is named, without its detail.
    expect(text).toContain('• ✅ ok: PostgreSQL replication\n');
    expect(text).not.toContain('*PostgreSQL replication*');
  } finally {
    await stopBot();
  }
});
