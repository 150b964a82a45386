/**
 * A manual runbook step through Slack: the checklist item is posted in the incident thread with
 * Done and Skip, the operation waits (through a restart of the bot) while `/dr status` names who
 * must act, a click by someone else is refused, and the requester's Done finishes it.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ACTION_IDS, decodeButtonValue } from '../../src/bot/render.js';
import { configSchema } from '../../src/config/schema.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';
import { FakeWorld } from '../support/fakes.js';

const SECRET = 'test-signing-secret-0123456789';
const ALICE = 'U0ALICE'; // requester
const BOB = 'U0BOB'; // approver
const MALLORY = 'U0MALLORY'; // neither
const CHANNEL = 'C0INCIDENT';
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const config = configSchema.parse({
  environment: 'manual-e2e',
  regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
  slack: { incidentChannel: CHANNEL },
  approvals: { approvers: [BOB], required: 1 },
  runbook: {
    steps: [
      {
        id: 'tell-support',
        title: 'Tell customer support',
        after: 'switch-dns',
        manual: { text: 'Post the incident in #support' },
      },
    ],
  },
});

let redis: Redis;
let slack: FakeSlack;
const harnesses: BotHarness[] = [];
beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
});
afterAll(async () => {
  for (const h of harnesses) await h.stop().catch(() => undefined);
  await slack.close();
  redis.disconnect();
});

const start = async (prefix: string, world: FakeWorld) => {
  const h = await startBotHarness({
    slack,
    redis,
    config,
    signingSecret: SECRET,
    prefix,
    log,
    world,
  });
  harnesses.push(h);
  return h;
};

const posts = (): ApiCall[] => slack.api('chat.postMessage');
const buttonOf = (call: ApiCall, actionId: string): string | undefined =>
  (
    call.args.blocks as Array<{
      type: string;
      elements?: Array<{ action_id?: string; value?: string }>;
    }>
  )
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === actionId)?.value;

/** Requests a failover as alice, approves it as bob, and waits for the checklist item. */
async function upToChecklist(h: BotHarness) {
  const mark = slack.calls.length;
  await h.command('failover planned region test', ALICE);
  const card = await slack.waitFor(
    () => posts().find((c) => !c.args.thread_ts && slack.calls.indexOf(c) >= mark),
    'the status card',
  );
  const ts = String(card.result.ts);
  const approve = await slack.waitFor(
    () =>
      slack
        .api('chat.update')
        .filter((c) => c.args.ts === ts)
        .map((c) => buttonOf(c, ACTION_IDS.approve))
        .find(Boolean) ?? buttonOf(card, ACTION_IDS.approve),
    'the Approve button',
  );
  const opId = decodeButtonValue(approve)!.opId;
  await h.clickAction(ACTION_IDS.approve, approve, BOB);
  const item = await slack.waitFor(
    () => posts().find((c) => c.args.thread_ts === ts && String(c.args.text).startsWith('✋')),
    'the checklist item in the thread',
  );
  return { ts, opId, item, done: buttonOf(item, ACTION_IDS.done)! };
}

test('a manual step waits for Done in the thread, through a restart, and /dr status says who must act', async () => {
  const prefix = uniquePrefix('manual-e2e');
  const world = await new FakeWorld().init();
  let h = await start(prefix, world);
  // The checklist item is posted in the thread with Done and Skip.
  const { ts, opId, item, done } = await upToChecklist(h);
  expect(JSON.stringify(item.args.blocks)).toContain('Post the incident in #support');
  expect(decodeButtonValue(done)).toEqual({ opId, stepId: 'custom:tell-support' });
  expect(buttonOf(item, ACTION_IDS.skip)).toBe(done);

  // Nobody clicks: a restarted bot still waits, and says who must act.
  await h.stop({ keepState: true });
  harnesses.splice(harnesses.indexOf(h), 1);
  h = await start(prefix, world);
  const view = await h.engine.get(opId);
  expect(view).toMatchObject({ phase: 'running', currentSteps: ['custom:tell-support'] });
  expect(view!.steps.find((s) => s.id === 'verify-secondary')!.status).toBe('pending');
  const status = await h.command('status', MALLORY);
  const answer = await h.answer(status.path);
  expect(answer).toContain('*Waiting:* ✋ Tell customer support (custom)');
  expect(answer).toContain('<@U0BOB> or the requester <@U0ALICE> must click Done');

  // Someone who may not act is answered and changes nothing.
  const refused = await h.clickAction(ACTION_IDS.done, done, MALLORY);
  expect(await h.answer(refused.path)).toContain('You may not confirm this item');
  expect((await h.engine.get(opId))!.phase).toBe('running');

  // The requester confirms it: the operation goes on, and the thread and card say who did.
  await h.clickAction(ACTION_IDS.done, done, ALICE);
  await slack.waitFor(
    () => posts().find((c) => c.args.thread_ts === ts && String(c.args.text).startsWith('🏁')),
    'the summary reply',
  );
  const final = (await h.engine.get(opId))!;
  expect(final.phase).toBe('completed');
  expect(final.steps.find((s) => s.id === 'custom:tell-support')).toMatchObject({
    status: 'succeeded',
    confirmedBy: ALICE,
  });
  // The checklist message itself is edited: no Done or Skip left to click, and who confirmed it.
  const settled = await slack.waitFor(
    () => slack.api('chat.update').find((c) => c.args.ts === item.result.ts),
    'the checklist item edited',
  );
  expect(buttonOf(settled, ACTION_IDS.done)).toBeUndefined();
  expect(buttonOf(settled, ACTION_IDS.skip)).toBeUndefined();
  expect(JSON.stringify(settled.args.blocks)).toContain(
    '_(custom)_ — done, confirmed by <@U0ALICE> at ',
  );
  const replies = posts()
    .filter((c) => c.args.thread_ts === ts)
    .map((c) => String(c.args.text));
  expect(replies).toContainEqual(
    expect.stringMatching(
      /^☑️ Tell customer support \(custom\) done, confirmed by <@U0ALICE> after /,
    ),
  );
});

test('an approver skips the checklist item: its message loses its buttons and says who skipped it', async () => {
  const h = await start(uniquePrefix('manual-skip'), await new FakeWorld().init());
  const { opId, item, done } = await upToChecklist(h);
  await h.clickAction(ACTION_IDS.skip, done, BOB);
  const settled = await slack.waitFor(
    () => slack.api('chat.update').find((c) => c.args.ts === item.result.ts),
    'the checklist item edited',
  );
  expect(buttonOf(settled, ACTION_IDS.done)).toBeUndefined();
  expect(JSON.stringify(settled.args.blocks)).toContain('_(custom)_ — skipped by <@U0BOB> at ');
  expect(
    (await h.engine.get(opId))!.steps.find((s) => s.id === 'custom:tell-support'),
  ).toMatchObject({ status: 'skipped', skippedBy: BOB });
});

test('an abort while the checklist item waits: its message loses its buttons and says it was not confirmed', async () => {
  const h = await start(uniquePrefix('manual-abort'), await new FakeWorld().init());
  const { opId, item } = await upToChecklist(h);
  await h.command('abort support unreachable', BOB);
  const settled = await slack.waitFor(
    () => slack.api('chat.update').find((c) => c.args.ts === item.result.ts),
    'the checklist item edited',
  );
  expect(buttonOf(settled, ACTION_IDS.done)).toBeUndefined();
  expect(buttonOf(settled, ACTION_IDS.skip)).toBeUndefined();
  expect(JSON.stringify(settled.args.blocks)).toContain(
    'Tell customer support* _(custom)_ — not confirmed: the failover was aborted by <@U0BOB> at ',
  );
  expect((await h.engine.get(opId))!.phase).toBe('aborted');
});
