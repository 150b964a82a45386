/**
 * Slack end to end: the real Bolt app over HTTP, the real engine and the real Redis store, driven
 * by requests signed the way Slack signs them, with a local server standing in for the Slack Web
 * API that records what the bot sent.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createSlackBot, type SlackBot } from '../../src/bot/index.js';
import { ACTION_IDS, decodeButtonValue } from '../../src/bot/render.js';
import { configSchema, type DrConfig } from '../../src/config/schema.js';
import type { Engine } from '../../src/engine/types.js';
import { ConfigError, ProviderError } from '../../src/errors.js';
import { createRedisStore } from '../../src/store/index.js';
import type { OperationStore } from '../../src/store/types.js';
import { FakeWorld } from '../support/fakes.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { blockActionsBody, postToSlackApp, type PostOptions } from '../support/slack-signing.js';
import { startBotHarness } from '../support/slack-bot-harness.js';

const SECRET = 'test-signing-secret-0123456789';
const ALICE = 'U0ALICE'; // requester
const BOB = 'U0BOB'; // approver
const CAROL = 'U0CAROL'; // approver
const MALLORY = 'U0MALLORY'; // not an approver
const CHANNEL = 'C0INCIDENT';
const STEP_TITLES = [
  'Promote secondary database',
  'Promote secondary cache',
  'Switch DNS to secondary',
  'Scale secondary to production',
  'Verify secondary',
];

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function makeConfig(required: number, timeoutMinutes = 30, command?: string): DrConfig {
  return configSchema.parse({
    environment: 'e2e',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
    slack: { incidentChannel: CHANNEL, ...(command ? { command } : {}) },
    approvals: { approvers: [BOB, CAROL], required, timeoutMinutes },
  });
}

interface Harness {
  slack: FakeSlack;
  store: OperationStore;
  engine: Engine;
  bot: SlackBot;
  world: FakeWorld;
  url: string;
  command(
    text: string,
    userId: string,
    opts?: PostOptions,
  ): Promise<{ status: number; body: Record<string, unknown> | null; path: string }>;
  click(
    action: keyof typeof ACTION_IDS,
    value: string,
    userId: string,
  ): Promise<{ status: number; path: string }>;
  /** The ephemeral answer sent to one command's or click's response_url. */
  answer(path: string): Promise<string>;
  card(): Promise<ApiCall>;
  /** The card as Slack shows it now: the last postMessage/update of the card's ts. */
  cardNow(ts: string): ApiCall;
  threadReplies(ts: string): ApiCall[];
  /** Stop the bot and the engine; `keepState` leaves the Redis keys for a restarted bot. */
  stop(opts?: { keepState?: boolean }): Promise<void>;
  prefix: string;
  /** Where this harness's calls start in the fake's record. */
  mark: number;
}

let redis: Redis;
let slack: FakeSlack;
beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
  redis.disconnect();
});

async function start(
  opts: {
    required?: number;
    timeoutMinutes?: number;
    prefix?: string;
    world?: FakeWorld;
    command?: string;
  } = {},
): Promise<Harness> {
  const b = await startBotHarness({
    slack,
    redis,
    config: makeConfig(opts.required ?? 1, opts.timeoutMinutes, opts.command),
    signingSecret: SECRET,
    prefix: opts.prefix ?? uniquePrefix('slack-e2e'),
    log,
    ...(opts.world ? { world: opts.world } : {}),
  });
  const mine = (): ApiCall[] =>
    slack.calls.slice(b.mark).filter((c): c is ApiCall => c.kind === 'api');
  return {
    slack,
    store: b.store,
    engine: b.engine,
    bot: b.bot,
    world: b.world,
    url: b.url,
    command: b.command,
    click: (action, value, userId) => b.clickAction(ACTION_IDS[action], value, userId),
    answer: b.answer,
    card: () =>
      slack.waitFor(
        () => mine().find((c) => c.method === 'chat.postMessage' && !c.args.thread_ts),
        'the status card',
      ),
    cardNow(ts) {
      // A ts is unique on the fake, so the card's versions are found across restarts of the bot.
      const versions = slack
        .api()
        .filter(
          (c) =>
            (c.method === 'chat.postMessage' && !c.args.thread_ts && c.result.ts === ts) ||
            (c.method === 'chat.update' && c.args.ts === ts),
        );
      return versions[versions.length - 1]!;
    },
    threadReplies: (ts) => slack.api('chat.postMessage').filter((c) => c.args.thread_ts === ts),
    prefix: b.prefix,
    mark: b.mark,
    stop: b.stop,
  };
}

function cardsPostedSince(mark: number): ApiCall[] {
  return slack.calls
    .slice(mark)
    .filter(
      (c): c is ApiCall => c.kind === 'api' && c.method === 'chat.postMessage' && !c.args.thread_ts,
    );
}

function cardText(call: ApiCall): string {
  return JSON.stringify(call.args.blocks);
}

function buttonValue(call: ApiCall, actionId: string): string | undefined {
  const blocks = call.args.blocks as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>;
  return blocks
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === actionId)?.value;
}

/** Waits until the card (as last sent) shows the Approve button; returns that button's value. */
async function approveButton(h: Harness, ts: string): Promise<string> {
  return slack.waitFor(
    () => buttonValue(h.cardNow(ts), ACTION_IDS.approve),
    'the Approve button on the card',
  );
}

async function cardStored(h: Harness, opId: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await h.store.getMeta(opId, 'slack.card')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the bot never stored the status card of ${opId}`);
}

async function opIdOf(h: Harness): Promise<string> {
  const { active } = await h.engine.status();
  expect(active).not.toBeNull();
  return active!.id;
}

describe('Slack end to end', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.stop();
  });

  test('failover: request posts one card, a second person approves, every step ✅, one thread reply per step and a summary', async () => {
    h = await start();
    const req = await h.command('failover planned quarterly drill', ALICE);
    expect(req.status).toBe(200);
    expect(await h.answer(req.path)).toMatch(/^DR-\d{8}-\d{6} requested/);

    const card = await h.card();
    expect(card.args.channel).toBe(CHANNEL);
    expect(card.token).toBe('xoxb-e2e');
    const ref = { channel: String(card.result.channel), ts: String(card.result.ts) };

    const value = await approveButton(h, ref.ts);
    const opId = decodeButtonValue(value)!.opId;
    expect(cardText(h.cardNow(ref.ts))).toContain('<@U0ALICE>');
    expect(cardText(h.cardNow(ref.ts))).toContain('quarterly drill');

    const click = await h.click('approve', value, BOB);
    expect(click.status).toBe(200);

    await slack.waitFor(
      () => h.threadReplies(ref.ts).find((c) => String(c.args.text).startsWith('🏁')),
      'the summary reply',
    );
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('🟢 Completed'),
      'the card to show completed',
    );

    const op = await h.engine.get(opId);
    expect(op!.phase).toBe('completed');

    const final = cardText(h.cardNow(ref.ts));
    for (const title of STEP_TITLES) expect(final).toMatch(new RegExp(`✅ \\*${title}\\* — \\d`));
    expect(final).not.toMatch(/⬜|⏳|❌/);
    expect(buttonValue(h.cardNow(ref.ts), ACTION_IDS.approve)).toBeUndefined();

    const replies = h.threadReplies(ref.ts).map((c) => String(c.args.text));
    for (const title of STEP_TITLES) {
      expect(replies.filter((t) => t.startsWith(`✅ ${title} `))).toHaveLength(1);
    }
    expect(replies.filter((t) => t.startsWith('🏁'))).toEqual([
      expect.stringContaining(`${opId} completed`),
    ]);
    expect(replies).toContain('👍 <@U0BOB> approved (1/1)');
    // One card per operation, edited in place.
    expect(cardsPostedSince(h.mark)).toHaveLength(1);
    expect(slack.api('chat.update').filter((c) => c.args.ts === ref.ts).length).toBeGreaterThan(0);
    // The card's place is remembered so that a restarted bot edits the same message.
    expect(JSON.parse((await h.store.getMeta(opId, 'slack.card'))!)).toEqual({
      channel: CHANNEL,
      ts: ref.ts,
    });
  });

  test('unsigned and stale-signed requests get 401 and create nothing', async () => {
    h = await start();
    const before = slack.calls.length;
    const unsigned = await h.command('failover unplanned', ALICE, { unsigned: true });
    const stale = await h.command('failover unplanned', ALICE, {
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    const wrongSecret = await h.command('failover unplanned', ALICE, { secret: 'not-the-secret' });
    expect([unsigned.status, stale.status, wrongSecret.status]).toEqual([401, 401, 401]);

    const approveForged = await postToSlackApp(
      `${h.url}/slack/events`,
      SECRET,
      blockActionsBody({
        userId: BOB,
        actionId: ACTION_IDS.approve,
        value: '{"opId":"DR-x"}',
        responseUrl: slack.responseUrl('forged'),
      }),
      { unsigned: true },
    );
    expect(approveForged.status).toBe(401);

    expect((await h.engine.status()).active).toBeNull();
    expect(await h.store.activeFor('e2e')).toBeNull();
    // The bot's start-up auth.test runs in the background and may land after `before`.
    expect(
      slack.calls.slice(before).filter((c) => !(c.kind === 'api' && c.method === 'auth.test')),
    ).toEqual([]);
  });

  test('refusals: self-approval, unauthorized, stale plan, double click and a finished operation each get their answer and change nothing', async () => {
    h = await start({ required: 2 });
    await h.command('failover unplanned primary region unreachable', ALICE);
    const card = await h.card();
    const ref = { ts: String(card.result.ts) };
    const value = await approveButton(h, ref.ts);
    const { opId, planHash } = decodeButtonValue(value)!;

    const state = async () => {
      const op = (await h.engine.get(opId))!;
      return { phase: op.phase, approvals: op.approvals.map((a) => a.userId) };
    };

    const self = await h.click('approve', value, ALICE);
    expect(await h.answer(self.path)).toBe(
      `You requested ${opId}; another approver must approve it.`,
    );
    expect(await state()).toEqual({ phase: 'awaitingApproval', approvals: [] });

    const unauthorized = await h.click('approve', value, MALLORY);
    const unauthorizedText = await h.answer(unauthorized.path);
    expect(unauthorizedText).toContain(`You are not allowed to approve ${opId}`);
    expect(unauthorizedText).toContain('<@U0BOB>');
    expect(unauthorizedText).toContain('<@U0CAROL>');
    expect(await state()).toEqual({ phase: 'awaitingApproval', approvals: [] });

    const stale = await h.click(
      'approve',
      JSON.stringify({ opId, planHash: `${planHash}-old` }),
      BOB,
    );
    expect(await h.answer(stale.path)).toBe(
      'The plan changed since this button was drawn; review the updated card.',
    );
    expect(await state()).toEqual({ phase: 'awaitingApproval', approvals: [] });

    const first = await h.click('approve', value, BOB);
    expect(first.status).toBe(200);
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('*Approvals:* 1/2'),
      'the card to count 1/2',
    );
    const second = await h.click('approve', value, BOB);
    expect(await h.answer(second.path)).toBe('Your approval is already counted.');
    expect(await state()).toEqual({ phase: 'awaitingApproval', approvals: [BOB] });
    // The accepted click got no ephemeral answer: the card is the answer.
    expect(slack.responses(first.path)).toEqual([]);

    // The machine records every refusal in the timeline.
    const refused = (await h.engine.timeline(opId))
      .filter((e) => e.type === 'ApprovalRefused')
      .map((e) => (e.type === 'ApprovalRefused' ? e.reason : null));
    expect(refused).toEqual(['self-approval', 'unauthorized', 'stale-plan', 'duplicate']);

    await h.click('approve', value, CAROL);
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('🟢 Completed'),
      'the card to show completed',
    );

    const late = await h.click('approve', value, CAROL);
    expect(await h.answer(late.path)).toBe(`${opId} has already finished (completed).`);
    expect(await state()).toEqual({ phase: 'completed', approvals: [BOB, CAROL] });

    const status = await h.command('status', MALLORY);
    const statusText = await h.answer(status.path);
    expect(statusText).toContain('*Active:* no operation in progress for *e2e*');
    expect(statusText).toContain(
      `*Last finished:* *<https://fake.slack.test/archives/${CHANNEL}/p`,
    );
    expect(statusText).toContain(`|${opId}>*`);
  });

  test('a second /dr failover while one is active answers "already in progress" with a link to the card', async () => {
    h = await start();
    await h.command('failover planned drill', ALICE);
    const card = await h.card();
    const opId = await opIdOf(h);
    const ref = { channel: String(card.result.channel), ts: String(card.result.ts) };
    // The fake records the post before the bot reads the answer; wait until the bot has kept the card's place.
    await cardStored(h, opId);

    const again = await h.command('failover unplanned it is really down', CAROL);
    const text = await h.answer(again.path);
    expect(text).toContain(`${opId} is already in progress`);
    expect(text).toContain(
      `<https://fake.slack.test/archives/${ref.channel}/p${ref.ts.replace('.', '')}|status card>`,
    );
    expect((await h.engine.status()).active!.id).toBe(opId);

    const status = await h.command('status', CAROL);
    expect(await h.answer(status.path)).toContain(
      `*Active:* *<https://fake.slack.test/archives/${ref.channel}/p${ref.ts.replace('.', '')}|${opId}>* failover of e2e`,
    );

    // The requester may still withdraw before approval.
    const reject = await h.click('reject', JSON.stringify({ opId }), ALICE);
    expect(reject.status).toBe(200);
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('⛔ Rejected'),
      'the card to show rejected',
    );
    expect((await h.engine.get(opId))!.phase).toBe('rejected');
  });

  test('a failing step pauses with Retry / Skip / Abort; an unauthorized Skip is refused, Retry by an approver finishes it', async () => {
    h = await start();
    h.world.fail('dns.switchTo', 1);
    await h.command('failover planned drill', ALICE);
    const ref = { ts: String((await h.card()).result.ts) };
    await h.click('approve', await approveButton(h, ref.ts), BOB);

    const retryValue = await slack.waitFor(
      () => buttonValue(h.cardNow(ref.ts), ACTION_IDS.retry),
      'the Retry button',
    );
    const paused = cardText(h.cardNow(ref.ts));
    expect(paused).toContain('❌ *Switch DNS to secondary*');
    expect(paused).toContain('dns.switchTo failed (injected)');
    expect(buttonValue(h.cardNow(ref.ts), ACTION_IDS.skip)).toBe(retryValue);
    expect(buttonValue(h.cardNow(ref.ts), ACTION_IDS.abort)).toBe(retryValue);
    const failed = await slack.waitFor(
      () =>
        h
          .threadReplies(ref.ts)
          .find((c) => String(c.args.text).startsWith('❌ Switch DNS to secondary failed')),
      'the failure reply',
    );
    expect(JSON.stringify(failed.args.blocks)).toContain('dns.switchTo failed (injected)');

    const { opId } = decodeButtonValue(retryValue)!;
    const skip = await h.click('skip', retryValue, MALLORY);
    expect(await h.answer(skip.path)).toContain(`You are not allowed to skip ${opId}`);
    expect((await h.engine.get(opId))!.phase).toBe('paused');

    await h.click('retry', retryValue, BOB);
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('🟢 Completed'),
      'the card to show completed',
    );
    expect(cardText(h.cardNow(ref.ts))).toMatch(/✅ \*Switch DNS to secondary\*/);
    expect(await h.world.effects('dns.switchTo')).toBe(1);
  });

  test('a last resort: its own button and dialog, asked by one, refused to the same and to an outsider, run by a second approver', async () => {
    h = await start();
    await h.world.set('cache.primaryReachable', 'false');
    const refused = new ProviderError('fake-cache', 'FailoverGlobalReplicationGroup failed');
    refused.lastResort = { action: 'detach-cache', why: 'the failover cannot switch' };
    h.world.fail('cache.promote', 1, refused);
    await h.command('failover unplanned region gone', ALICE);
    const ref = { ts: String((await h.card()).result.ts) };
    expect(buttonValue(h.cardNow(ref.ts), ACTION_IDS.detach)).toBeUndefined();
    await h.click('approve', await approveButton(h, ref.ts), BOB);
    const value = await slack.waitFor(
      () => buttonValue(h.cardNow(ref.ts), ACTION_IDS.detach),
      'the last resort button',
    );
    expect(cardText(h.cardNow(ref.ts))).toContain('Detach the secondary cache (last resort)');
    const { opId } = decodeButtonValue(value)!;

    await h.click('detach', value, ALICE);
    const self = await h.click('detach', value, ALICE);
    expect(await h.answer(self.path)).toBe(
      'You asked for this last resort; another approver must click it too.',
    );
    const outsider = await h.click('detach', value, MALLORY);
    expect(await h.answer(outsider.path)).toContain(`You are not allowed to detach ${opId}`);
    expect((await h.engine.get(opId))!.phase).toBe('paused');
    expect(await h.world.effects('cache.detach')).toBe(0);

    await h.click('detach', value, BOB);
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('🟢 Completed'),
      'the card to show completed',
    );
    expect(await h.world.effects('cache.detach')).toBe(1);
    expect(cardText(h.cardNow(ref.ts))).toContain('Last resort done.');
    expect(h.threadReplies(ref.ts).map((c) => String(c.args.text))).toContainEqual(
      expect.stringMatching(/Running the detach of the secondary cache.*U0ALICE, U0BOB/),
    );
  });

  test('a restarted bot keeps editing the same card, and the requester can withdraw with /dr abort', async () => {
    const first = await start();
    await first.command('failover planned drill', ALICE);
    const ref = { ts: String((await first.card()).result.ts) };
    const value = await approveButton(first, ref.ts);
    const { opId } = decodeButtonValue(value)!;
    await cardStored(first, opId);
    await first.stop({ keepState: true });

    h = await start({ prefix: first.prefix, world: first.world });
    await h.click('approve', value, BOB);
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('*Approvals:* 1/1 — <@U0BOB>'),
      'the old card to count the approval',
    );
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('🟢 Completed'),
      'the old card to show completed',
    );
    expect(cardsPostedSince(first.mark)).toHaveLength(1);

    // A fresh request in the same environment (the failback: it is failed over now), withdrawn by
    // its requester before approval.
    const again = await h.command('failback second thoughts', ALICE);
    expect(await h.answer(again.path)).toMatch(/^DR-\d{8}-\d{6} requested/);
    const second = (await h.engine.status()).active!;
    // A mistyped id is the usage, a finished operation's id is refused: neither aborts the active one.
    const typo = await h.command(`abort ${second.id.slice(0, -1)} typo`, ALICE);
    expect(await h.answer(typo.path)).toContain(
      `\`${second.id.slice(0, -1)}\` is not an operation id: they look like DR-20261125-093015.`,
    );
    const old = await h.command(`abort ${opId} the finished one`, ALICE);
    expect(await h.answer(old.path)).toBe(`${opId} has already finished (completed).`);
    expect(['preflight', 'awaitingApproval']).toContain((await h.engine.get(second.id))!.phase);
    const abort = await h.command(`abort ${second.id.toLowerCase()} not needed after all`, ALICE);
    expect(await h.answer(abort.path)).toContain(second.id);
    expect((await h.engine.get(second.id))!.phase).toBe('aborted');
    const none = await h.command('abort', ALICE);
    expect(await h.answer(none.path)).toBe(
      'There is no operation in progress for *e2e*: nothing to abort.',
    );
  });

  test("an operation the bot cannot resume after a restart: /dr status says why, an approver's /dr abort closes it and the card", async () => {
    // A renamed slash command: every answer names the commands as this workspace types them.
    const first = await start({ command: '/dr-e2e' });
    const req = await first.command('failover planned bad deploy', ALICE);
    await first.answer(req.path);
    const ref = { ts: String((await first.card()).result.ts) };
    const approve = await approveButton(first, ref.ts);
    const { id } = (await first.engine.status()).active!;
    await cardStored(first, id);
    await first.stop({ keepState: true });
    await redis.hset(`${first.prefix}op:${id}`, 'snapshot', 'not json');

    h = await start({ prefix: first.prefix, world: first.world, command: '/dr-e2e' });
    const status = await h.command('status', ALICE);
    const statusText = await h.answer(status.path);
    expect(statusText).toContain(
      `*Active:* *${id}* cannot be resumed by this version of dr-bot: its stored snapshot is not valid JSON`,
    );
    expect(statusText).toContain('an approver can close it with `/dr-e2e abort`.');
    const retry = await h.command('failback', ALICE);
    const refused = await h.answer(retry.path);
    expect(refused).toContain(
      `${id} holds the environment but cannot be resumed by this version of dr-bot`,
    );
    expect(refused).toContain(
      'An approver can close it with `/dr-e2e abort`; then request the failback again.',
    );
    // The old card's Approve button: refused, saying how to close it instead.
    const click = await h.click('approve', approve, BOB);
    const clickRefused = await h.answer(click.path);
    expect(clickRefused).toMatch(
      new RegExp(
        `^${id} cannot be resumed by this version of dr-bot: its stored snapshot is not valid JSON.* It keeps the environment locked until an approver closes it with \`/dr-e2e abort\`\\.$`,
      ),
    );
    for (const text of [statusText, refused, clickRefused]) expect(text).not.toMatch(/\/dr |\{\{/);

    const abort = await h.command('abort bad deploy', BOB);
    expect(await h.answer(abort.path)).toContain(
      `${id} closed as aborted by <@${BOB}> without resuming it`,
    );
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('Aborted'),
      'the old card to show aborted',
    );
    expect(await h.store.activeFor('e2e')).toBeNull();
  });

  test('no approval in time: the card says expired and nothing ran', async () => {
    h = await start({ timeoutMinutes: 0.002 });
    await h.command('failover planned drill', ALICE);
    const ref = { ts: String((await h.card()).result.ts) };
    await slack.waitFor(
      () => h.threadReplies(ref.ts).find((c) => String(c.args.text).startsWith('🏁')),
      'the summary reply',
    );
    await slack.waitFor(
      () => cardText(h.cardNow(ref.ts)).includes('⌛ Expired'),
      'the card to show expired',
    );
    expect(buttonValue(h.cardNow(ref.ts), ACTION_IDS.approve)).toBeUndefined();
    expect(cardText(h.cardNow(ref.ts))).not.toMatch(/✅ \*Promote/);
    expect(await h.world.effects('database.promote')).toBe(0);
  });

  test('unknown subcommands and help get the usage, ephemeral, after an empty ack', async () => {
    h = await start();
    const unknown = await h.command('promote everything', ALICE);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toBeNull();
    const usage = await h.answer(unknown.path);
    expect(usage).toContain('Unknown subcommand `promote`.');
    expect(usage).toContain('/dr failover [planned|unplanned] [reason…]');
    const help = await h.command('help', ALICE);
    expect(await h.answer(help.path)).toContain('/dr status');
    expect((await h.engine.status()).active).toBeNull();
  });

  test('/healthz is 200 while the store answers and 503 when its Redis connection is gone', async () => {
    h = await start();
    const ok = await fetch(`${h.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });

    const deadRedis = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const deadStore = createRedisStore({
      redis: deadRedis,
      prefix: uniquePrefix('slack-e2e-dead'),
    });
    deadRedis.disconnect();
    const env = {
      SLACK_BOT_TOKEN: 'xoxb-e2e',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
    };
    const sick = await createSlackBot({
      config: makeConfig(1),
      engine: h.engine,
      store: deadStore,
      log,
      env,
    });
    await sick.start();
    try {
      const res = await fetch(`http://127.0.0.1:${sick.port}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ok: false });
    } finally {
      await sick.stop();
    }
  });

  test('missing tokens are config errors that name the variable; Socket Mode needs no signing secret', async () => {
    h = await start();
    const deps = { config: makeConfig(1), engine: h.engine, store: h.store, log };
    await expect(
      createSlackBot({ ...deps, env: { SLACK_SIGNING_SECRET: SECRET } }),
    ).rejects.toThrow(
      new ConfigError(
        'SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from the Slack app\'s "OAuth & Permissions" page',
      ),
    );
    await expect(createSlackBot({ ...deps, env: { SLACK_BOT_TOKEN: 'xoxb-1' } })).rejects.toThrow(
      /SLACK_SIGNING_SECRET is not set.*or set SLACK_APP_TOKEN for Socket Mode/,
    );
    await expect(
      createSlackBot({
        ...deps,
        env: { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: SECRET, PORT: 'http' },
      }),
    ).rejects.toThrow(/PORT must be a port number/);

    const socket = await createSlackBot({
      ...deps,
      env: {
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_APP_TOKEN: 'xapp-1-test',
        PORT: '0',
        SLACK_API_URL: slack.apiUrl,
      },
    });
    expect(socket.port).toBeUndefined();
    // Socket Mode opens its connection through SLACK_API_URL too; a revoked app token stops start-up.
    slack.failMethod('apps.connections.open', 'invalid_auth');
    try {
      await expect(socket.start()).rejects.toThrow(/invalid_auth/);
    } finally {
      slack.failMethod('apps.connections.open', undefined);
    }
    expect(slack.api('apps.connections.open').map((c) => c.token)).toContain('xapp-1-test');
    await socket.stop();
  });
});
