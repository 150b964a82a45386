/**
 * Slack failing while a failover runs (issue 21's fault): the Web API answers HTTP 429 with
 * Retry-After, then HTTP 500 for what is meant to be 30 s, longer than the client's own retries.
 * The real Bolt app, engine and Redis store against the fake Slack. The operation must not wait
 * on Slack, and once Slack answers again the thread must catch up: every reply, in timeline
 * order, each once, and the card showing the end.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ACTION_IDS, decodeButtonValue } from '../../src/bot/render.js';
import { configSchema } from '../../src/config/schema.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';

const SECRET = 'slack-outage-signing-secret';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const STEP_TITLES: Record<string, string> = {
  'promote-database': 'Promote secondary database',
  'promote-cache': 'Promote secondary cache',
  'switch-dns': 'Switch DNS to secondary',
  'scale-secondary': 'Scale secondary to production',
  'verify-secondary': 'Verify secondary',
};
/** The client's own tries of one call (createSlackClient: 1 + 3 retries). */
const CLIENT_TRIES = 4;

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let redis: Redis;
let slack: FakeSlack;
let h: BotHarness | undefined;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
});
afterAll(async () => {
  slack.endOutage();
  await h?.stop();
  await slack.close();
  redis.disconnect();
});

function approveValue(call: ApiCall): string | undefined {
  const blocks = call.args.blocks as {
    type: string;
    elements?: { action_id?: string; value?: string }[];
  }[];
  return blocks
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === ACTION_IDS.approve)?.value;
}

test('429 then 500s while steps run: the failover completes without waiting, then the thread catches up, each reply once', async () => {
  h = await startBotHarness({
    slack,
    redis,
    config: configSchema.parse({
      environment: 'slack-outage',
      regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
      slack: { incidentChannel: 'C0INCIDENT' },
      approvals: { approvers: [BOB], required: 1 },
    }),
    signingSecret: SECRET,
    prefix: uniquePrefix('slack-outage'),
    log,
  });
  const bot = h;
  await bot.command('failover planned slack outage drill', ALICE);
  const value = await slack.waitFor(() => {
    const card = slack.api('chat.postMessage').find((c) => !c.args.thread_ts);
    if (!card) return undefined;
    const edits = slack.api('chat.update').filter((c) => c.args.ts === card.result.ts);
    return approveValue(edits[edits.length - 1] ?? card);
  }, 'the Approve button on the card');
  const opId = decodeButtonValue(value)!.opId;
  const cardTs = String(slack.api('chat.postMessage').find((c) => !c.args.thread_ts)!.result.ts);
  const replies = (): string[] =>
    slack
      .api('chat.postMessage')
      .filter((c) => c.args.thread_ts === cardTs)
      .map((c) => String(c.args.text));
  const before = replies().length;

  slack.outage({ rateLimited: 2, retryAfterS: 1, serverErrorMs: 30_000 });
  expect((await bot.clickAction(ACTION_IDS.approve, value, BOB)).status).toBe(200);

  // The operation runs to the end while Slack still refuses every call.
  for (let i = 0; ; i++) {
    const op = await bot.engine.get(opId);
    if (op?.phase === 'completed') break;
    if (i > 1200 || /paused|failed|aborted|rejected/.test(op?.phase ?? ''))
      throw new Error(`the failover did not complete: ${JSON.stringify(op?.phase)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(slack.inOutage()).toBe(true);
  expect(replies().length).toBe(before);
  // Slack refused more tries than the client makes of one call: without the bot's own catch-up,
  // at least one reply would be lost.
  await slack.waitFor(
    (f) => f.refused().filter((r) => r.status === 500).length > CLIENT_TRIES,
    'the client to exhaust its own retries',
    60_000,
  );
  expect(
    slack
      .refused()
      .slice(0, 2)
      .map((r) => r.status),
  ).toEqual([429, 429]);
  slack.endOutage();

  await slack.waitFor(
    () => replies().find((t) => t.startsWith('🏁')),
    'the thread to catch up to the summary',
    60_000,
  );
  const thread = replies();
  expect(thread.filter((t) => t === '👍 <@U0BOB> approved (1/1)')).toHaveLength(1);
  // Each step once, in the order the timeline recorded them (parallel steps finish in any order).
  const timeline = await bot.store.timeline(opId);
  const succeeded = timeline.flatMap((e) =>
    e.type === 'StepSucceeded' ? [STEP_TITLES[e.stepId]!] : [],
  );
  expect([...succeeded].sort()).toEqual(Object.values(STEP_TITLES).sort());
  const stepReplies = thread.filter((t) =>
    Object.values(STEP_TITLES).some((title) => t.startsWith(`✅ ${title} `)),
  );
  expect(thread.filter((t) => t.startsWith('✅ Approved by <@U0BOB>'))).toHaveLength(1);
  expect(stepReplies).toHaveLength(succeeded.length);
  succeeded.forEach((title, i) => expect(stepReplies[i]).toMatch(new RegExp(`^✅ ${title} `)));
  expect(thread.filter((t) => t.startsWith('🏁'))).toEqual([
    expect.stringContaining(`${opId} completed`),
  ]);
  expect(thread[thread.length - 1]).toMatch(/^🏁/);
  // One card, brought up to date.
  expect(slack.api('chat.postMessage').filter((c) => !c.args.thread_ts)).toHaveLength(1);
  await slack.waitFor(
    () =>
      JSON.stringify(
        slack
          .api('chat.update')
          .filter((c) => c.args.ts === cardTs)
          .pop()?.args.blocks,
      ).includes('🟢 Completed'),
    'the card to show completed',
    30_000,
  );
}, 120_000);
