/**
 * Slack gives an app 3 s to acknowledge a command or a click. Nothing the bot asks of the Web API
 * may stand between a signed request and its ack: here auth.test (the bot's identity) answers
 * with an error, after 5 s, and commands and clicks must still be acknowledged.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ACTION_IDS, encodeButtonValue } from '../../src/bot/render.js';
import { configSchema } from '../../src/config/schema.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
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

function start(): Promise<BotHarness> {
  return startBotHarness({
    slack,
    redis,
    config,
    signingSecret: SECRET,
    prefix: uniquePrefix('slack-ack'),
    log,
  });
}

describe('acknowledging while the Slack Web API is slow and failing', () => {
  beforeEach(() => {
    slack.failMethod('auth.test', 'internal_error');
  });

  test('/dr help is answered in the ack itself', async () => {
    slack.delayMethod('auth.test', 5000);
    h = await start();
    const res = await h.command('help', ALICE);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(res.body!.text)).toContain('*Usage of `/dr`*');
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
