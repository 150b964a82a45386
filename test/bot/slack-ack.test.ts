/**
 * Slack gives an app 3 s to acknowledge a command or a click. Nothing the bot asks of the Web API
 * may stand between a signed request and its ack: here auth.test (the bot's identity) answers
 * with an error, after 5 s, and commands and clicks must still be acknowledged. Nor may a
 * provider: a database whose readiness never answers holds up neither acks nor `/dr status`.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ACTION_IDS, encodeButtonValue } from '../../src/bot/render.js';
import { configSchema } from '../../src/config/schema.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { FakeWorld } from '../support/fakes.js';
import { postToSlackApp } from '../support/slack-signing.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';

const SECRET = 'test-signing-secret-ack';
const ALICE = 'U0ALICE';
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const config = configSchema.parse({
  environment: 'ack',
  regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
  slack: { incidentChannel: 'C0INCIDENT' },
  approvals: { approvers: ['U0BOB'], required: 1, timeoutMinutes: 30 },
});

let redis: Redis;
let slack: FakeSlack;
let h: BotHarness | undefined;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  slack.delayMethod('auth.test', 0);
  slack.failMethod('auth.test', undefined);
});
afterAll(async () => {
  await slack.close();
  redis.disconnect();
});

function start(world?: FakeWorld): Promise<BotHarness> {
  return startBotHarness({
    slack,
    redis,
    config,
    signingSecret: SECRET,
    prefix: uniquePrefix('slack-ack'),
    log,
    ...(world ? { world } : {}),
  });
}

describe('acknowledging while the Slack Web API is slow and failing', () => {
  beforeEach(() => {
    slack.failMethod('auth.test', 'internal_error');
  });

  test('/dr help is acknowledged and then answered', async () => {
    slack.delayMethod('auth.test', 5000);
    h = await start();
    const res = await h.command('help', ALICE);
    expect(res.status).toBe(200);
    expect(await h.answer(res.path)).toContain('*Usage of `/dr`*');
  });

  test('/dr status is acknowledged and then answered', async () => {
    slack.delayMethod('auth.test', 5000);
    h = await start();
    const res = await h.command('status', ALICE);
    expect(res.status).toBe(200);
    expect(await h.answer(res.path)).toContain('*Active:* no operation in progress for *ack*');
  });

  test('a button click is acknowledged and then answered', async () => {
    slack.delayMethod('auth.test', 5000);
    h = await start();
    const res = await h.clickAction(
      ACTION_IDS.approve,
      encodeButtonValue({ opId: 'DR-20000101-0001', planHash: 'x' }),
      ALICE,
    );
    expect(res.status).toBe(200);
    expect(await h.answer(res.path)).toContain('There is no operation DR-20000101-0001');
  });

  test('the identity is asked for once, at start, never per request', async () => {
    const before = slack.api('auth.test').length;
    h = await start();
    await slack.waitFor((f) => f.api('auth.test').length > before, 'the start-up auth.test');
    expect((await h.command('help', ALICE)).status).toBe(200);
    const status = await h.command('status', ALICE);
    await h.answer(status.path);
    expect(slack.api('auth.test').length - before).toBe(1);
  });
});

describe('acknowledging while a provider never answers', () => {
  test('a failover request, /dr status and a click are acknowledged and answered while preflight waits on the database', async () => {
    const world = await new FakeWorld().init();
    // An hour is never, for this test: the preflight of the failover below does not finish.
    world.delay('database.readiness', 3_600_000);
    h = await start(world);
    const entered = world.entered('database.readiness');
    const requested = await h.command('failover planned ack test', ALICE);
    expect(requested.status).toBe(200);
    const opId = /^(DR-\d{8}-\d{6}) requested/.exec(await h.answer(requested.path))?.[1];
    expect(opId).toBeDefined();
    await entered;

    const status = await h.command('status', ALICE);
    expect(status.status).toBe(200);
    const answer = await h.answer(status.path);
    // The id links to the status card once the card is posted.
    expect(answer).toMatch(
      new RegExp(`^\\*Active:\\* \\*(<[^|]+\\|)?${opId}>?\\* failover of ack — 🔎 Preflight`),
    );
    expect(answer).toMatch(/_As of \d{2}:\d{2}:\d{2} UTC/);

    // The plan is not shown yet: approving it is refused, at once.
    const click = await h.clickAction(
      ACTION_IDS.approve,
      encodeButtonValue({ opId: opId!, planHash: 'not-drawn-yet' }),
      'U0BOB',
    );
    expect(click.status).toBe(200);
    expect(await h.answer(click.path)).toContain(`${opId} is not ready for approval yet`);
    expect(world.calls.filter((c) => c.startsWith('database.readiness'))).toHaveLength(1);
  });
});

describe("Slack's own requests to the endpoint", () => {
  test('ssl_check is answered unsigned, url_verification gets its challenge back, a bad body is refused', async () => {
    h = await start();
    const events = `${h.url}/slack/events`;
    const ssl = await postToSlackApp(events, SECRET, 'ssl_check=1&token=x', { unsigned: true });
    expect(ssl.status).toBe(200);
    const challenge = await postToSlackApp(
      events,
      SECRET,
      JSON.stringify({ type: 'url_verification', challenge: 'c-123', token: 'x' }),
      { contentType: 'application/json' },
    );
    expect(challenge).toMatchObject({ status: 200, json: { challenge: 'c-123' } });
    const garbled = await postToSlackApp(events, SECRET, '{not json', {
      contentType: 'application/json',
    });
    expect(garbled.status).toBe(400);
  });
});
