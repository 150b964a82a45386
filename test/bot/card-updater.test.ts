/**
 * The status card updater against the fake Slack Web API and the real Redis store: one card per
 * operation, edits coalesced with one in flight, the same card after a restart, thread replies in
 * timeline order, and Slack failures that never reach the engine.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import bolt from '@slack/bolt';
import { createCardUpdater, createSlackClient, readCardRef } from '../../src/bot/index.js';
import { channelFailure, describeSlackFailure } from '../../src/bot/slack-errors.js';
import type {
  DomainEvent,
  OperationView,
  StepState,
  TimelineEntry,
} from '../../src/domain/types.js';
import { createRedisStore } from '../../src/store/index.js';
import type { OperationStore } from '../../src/store/types.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

const { webApi } = bolt;
const log = pino({ level: 'silent' });
const targets = { rtoMinutes: 30, rpoMinutes: 5 };
const CHANNEL = 'C0INCIDENT';
let slack: FakeSlack;
let redis: Redis;
let store: OperationStore;
const prefix = uniquePrefix('card-updater');

beforeAll(async () => {
  slack = await startFakeSlack();
  redis = new Redis(REDIS_URL);
  store = createRedisStore({ redis, prefix });
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await slack.close();
});

function view(id: string, over: Partial<OperationView> = {}): OperationView {
  const steps: StepState[] = [
    { id: 'promote-database', title: 'Promote secondary database', status: 'pending', attempts: 0 },
    { id: 'switch-dns', title: 'Switch DNS to secondary', status: 'pending', attempts: 0 },
  ];
  return {
    id,
    env: 'prod',
    kind: 'failover',
    requestedMode: 'planned',
    mode: 'planned',
    requester: 'U0ALICE',
    reason: 'drill',
    phase: 'running',
    currentSteps: [],
    steps,
    approvals: [],
    requiredApprovals: 1,
    createdAt: 1_000,
    ...over,
  };
}

function updater() {
  const client = createSlackClient('xoxb-cards', { SLACK_API_URL: slack.apiUrl }, log);
  return createCardUpdater({ client, store, log, channel: CHANNEL, targets, minIntervalMs: 20 });
}

function cardCalls(ts: string) {
  return slack
    .api()
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' && !c.args.thread_ts && c.result.ts === ts) ||
        (c.method === 'chat.update' && c.args.ts === ts),
    );
}

test('one card per operation; rapid changes coalesce into few edits, one in flight, and the latest view wins', async () => {
  const cards = updater();
  slack.delayMethod('chat.update', 30);
  try {
    const opId = 'DR-20261125-0101';
    for (let i = 0; i < 40; i += 1) {
      cards.onNotification({ op: view(opId, { reason: `drill ${i}` }), entries: [] });
    }
    await cards.flush();
    const ref = (await readCardRef(store, opId))!;
    expect(ref.channel).toBe(CHANNEL);
    const calls = cardCalls(ref.ts);
    expect(calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(calls.length).toBeLessThan(40);
    expect(slack.maxInFlight('chat.update')).toBe(1);
    expect(JSON.stringify(calls[calls.length - 1]!.args.blocks)).toContain('drill 39');
  } finally {
    slack.delayMethod('chat.update', 0);
    await cards.close();
  }
});

test('a restarted bot edits the card it posted before instead of posting another', async () => {
  const opId = 'DR-20261125-0102';
  const first = updater();
  first.onNotification({ op: view(opId), entries: [] });
  await first.close();
  const ref = (await readCardRef(store, opId))!;

  const second = updater();
  second.onNotification({
    op: view(opId, { phase: 'paused', reason: 'after restart' }),
    entries: [],
  });
  await second.close();
  const calls = cardCalls(ref.ts);
  expect(calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update']);
  expect(JSON.stringify(calls[1]!.args.blocks)).toContain('after restart');
});

test('thread replies follow the timeline, and the summary is posted once', async () => {
  const cards = updater();
  const opId = 'DR-20261125-0103';
  const at = 2_000;
  const e = (x: DomainEvent): TimelineEntry => ({ ...x, opId, at });
  cards.onNotification({
    op: view(opId, { phase: 'awaitingApproval', planHash: 'p' }),
    entries: [
      e({
        type: 'OperationRequested',
        kind: 'failover',
        requestedMode: 'planned',
        requester: 'U0ALICE',
        reason: 'drill',
      }),
    ],
  });
  cards.onNotification({
    op: view(opId),
    entries: [e({ type: 'ApprovalRecorded', userId: 'U0BOB', count: 1, required: 1 })],
  });
  cards.onNotification({
    op: view(opId),
    entries: [
      e({ type: 'StepStarted', stepId: 'promote-database', attempt: 1 }),
      e({
        type: 'StepSucceeded',
        stepId: 'promote-database',
        durationMs: 1200,
        outcome: { result: 'done', summary: 'promoted', evidence: { lsn: '0/5' } },
      }),
    ],
  });
  const done = view(opId, { phase: 'completed', finishedAt: 9_000 });
  cards.onNotification({
    op: done,
    entries: [
      e({ type: 'StepSkipped', stepId: 'switch-dns', reason: 'not-configured' }),
      e({ type: 'OperationCompleted', durationMs: 8000 }),
    ],
  });
  cards.onNotification({ op: done, entries: [] });
  await cards.close();
  const ref = (await readCardRef(store, opId))!;
  const replies = slack
    .api('chat.postMessage')
    .filter((c) => c.args.thread_ts === ref.ts)
    .map((c) => String(c.args.text));
  expect(replies).toEqual([
    '👍 <@U0BOB> approved (1/1)',
    '✅ Promote secondary database succeeded in 1.2 s',
    '⏭ Switch DNS to secondary skipped — not configured',
    '🏁 Failover DR-20261125-0103 completed after 8.0 s',
  ]);
  expect(
    JSON.stringify(
      slack
        .api('chat.postMessage')
        .find((c) => c.args.thread_ts === ref.ts && String(c.args.text).startsWith('✅'))!.args
        .blocks,
    ),
  ).toContain('lsn: 0/5');
});

test('Slack errors are logged and swallowed: the next change still reaches the card', async () => {
  const cards = updater();
  const opId = 'DR-20261125-0104';
  slack.failMethod('chat.postMessage', 'channel_not_found');
  cards.onNotification({ op: view(opId), entries: [] });
  await cards.flush();
  expect(await readCardRef(store, opId)).toBeNull();
  slack.failMethod('chat.postMessage', undefined);
  slack.failMethod('chat.update', 'ratelimited');
  cards.onNotification({ op: view(opId, { reason: 'second try' }), entries: [] });
  await cards.flush();
  const ref = (await readCardRef(store, opId))!;
  slack.failMethod('chat.update', undefined);
  cards.onNotification({ op: view(opId, { phase: 'paused', reason: 'third' }), entries: [] });
  await cards.close();
  const calls = cardCalls(ref.ts);
  expect(JSON.stringify(calls[0]!.args.blocks)).toContain('second try');
  expect(JSON.stringify(calls[calls.length - 1]!.args.blocks)).toContain('third');
});

/** Log lines written through a pino logger, parsed. */
function logLines(): { log: pino.Logger; msgs: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    log: pino({ level: 'warn' }, stream),
    msgs: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
  };
}

test('a card Slack refuses for the channel says to invite the bot; a Slack that does not answer says that, not "is the bot a member"', async () => {
  const refused = logLines();
  const client = createSlackClient('xoxb-cards', { SLACK_API_URL: slack.apiUrl }, log, {
    retries: 0,
  });
  const cards = createCardUpdater({
    client,
    store,
    log: refused.log,
    channel: CHANNEL,
    targets,
    minIntervalMs: 20,
  });
  slack.failMethod('chat.postMessage', 'not_in_channel');
  cards.onNotification({ op: view('DR-20261125-0105'), entries: [] });
  await cards.close();
  slack.failMethod('chat.postMessage', undefined);
  expect(refused.msgs()).toEqual([
    `could not post the status card: the bot is not a member of ${CHANNEL} (Slack answered not_in_channel): invite @dr-bot to ${CHANNEL} (\`/invite @dr-bot\` in that channel), or give the app the chat:write.public scope`,
  ]);

  // Nothing listens where SLACK_API_URL points: the connection is refused before Slack says anything.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const down = logLines();
  const nowhere = createSlackClient(
    'xoxb-cards',
    { SLACK_API_URL: `http://127.0.0.1:${port}/api/` },
    log,
    { retries: 0 },
  );
  const lost = createCardUpdater({
    client: nowhere,
    store,
    log: down.log,
    channel: CHANNEL,
    targets,
    minIntervalMs: 20,
  });
  lost.onNotification({ op: view('DR-20261125-0106'), entries: [] });
  await lost.close();
  const [line, ...more] = down.msgs();
  expect(more).toEqual([]);
  expect(line).toMatch(
    /^could not post the status card: the Slack Web API did not answer \(.+\): check the network, and SLACK_API_URL when it is set$/,
  );
  expect(line).not.toContain('member');
  // Under jest the client cannot keep fetch's cause (another realm's TypeError becomes a new
  // Error); in the bot it has it, and the line names the refused connection.
  const fetchFailed = await fetch(`http://127.0.0.1:${port}/api/chat.postMessage`).catch(
    (err: unknown) => err,
  );
  expect(describeSlackFailure(new webApi.WebAPIRequestError(fetchFailed as Error))).toBe(
    `the Slack Web API did not answer (connect ECONNREFUSED 127.0.0.1:${port}): check the network, and SLACK_API_URL when it is set`,
  );
  expect(
    channelFailure(new webApi.WebAPIRequestError(fetchFailed as Error), CHANNEL),
  ).not.toContain('invite');
  expect(
    channelFailure(
      new webApi.WebAPIPlatformError({ ok: false, error: 'channel_not_found' }),
      CHANNEL,
    ),
  ).toBe(
    `Slack answered channel_not_found for ${CHANNEL}: check slack.incidentChannel (a channel id such as C0123INCIDENT), and invite @dr-bot if it is a private channel`,
  );
});
