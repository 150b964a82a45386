/**
 * Never a split data tier, on real servers: the lab's PostgreSQL and Redis pairs, the bot's own
 * least-privilege role and ACL user, the real engine and Bolt app over HTTP. A fault is injected
 * once Redis has been promoted (the bot loses its right to set the fence parameter), so the
 * PostgreSQL fence is refused while Redis already serves from the secondary. The pause card shows
 * each component's role per region; two people undo Redis, across a bot restart; Redis is back on
 * the old primary and no write acknowledged during the run is lost. Then (same lab) the fence
 * applies but the bot may no longer promote: two people undo both, PostgreSQL's fence is lifted.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ACTION_IDS, decodeButtonValue } from '../../src/bot/render.js';
import { loadConfig, type DrConfig } from '../../src/config/index.js';
import { LAB_APPROVERS, type LabInfo } from '../../src/lab/index.js';
import { BOT_PG_ROLE } from '../../src/lab/permissions.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { DatabaseProvider, Providers, WriteLoadProvider } from '../../src/providers/types.js';
import { createWriteLoadProvider } from '../../src/providers/write-load.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';

const SECRET = 'split-data-tier-signing-secret-0123';
const REQUESTER = 'U0ONCALL1'; // requests and asks for the undo; not an approver
const [APPROVER, APPROVER_2] = LAB_APPROVERS as [string, string];
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let lab: LabInfo;
let config: DrConfig;
let providers: Providers;
let slack: FakeSlack;
let redis: Redis;
let load: WriteLoadProvider | undefined;

beforeAll(async () => {
  lab = await startLab();
  config = loadConfig({ path: lab.configPath });
  providers = createProviders(config, process.env, silentLog);
  slack = await startFakeSlack();
  redis = new Redis(REDIS_URL);
}, 120_000);

afterAll(async () => {
  await load?.close();
  if (providers) await closeProviders(providers, silentLog);
  await slack?.close();
  redis?.disconnect();
  await stopLabs();
});

async function redisRole(url: string): Promise<{ role: string; master?: number }> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const role = (await r.role()) as unknown[];
    return role[0] === 'slave'
      ? { role: 'replica', master: Number(role[2]) }
      : { role: String(role[0]) };
  } finally {
    r.disconnect();
  }
}

/**
 * The real PostgreSQL provider, with the fault injected into its promotion: it waits until
 * Redis has been promoted beside it, then revokes one of the bot's rights on the primary (a
 * standby replays the revoke before it is promoted), and the real promotion runs into it.
 */
function faultOnceRedisPromoted(db: DatabaseProvider, revoke: string): DatabaseProvider {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'promote')
        return async (opts: Parameters<DatabaseProvider['promote']>[0]) => {
          await until(
            'Redis promoted on the secondary',
            async () => (await redisRole(lab.redis.secondary.url)).role === 'master',
            60_000,
          );
          await sql(lab.postgres.primary.url, `REVOKE ${revoke} FROM ${BOT_PG_ROLE}`);
          return target.promote(opts);
        };
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const FENCE_RIGHT = 'ALTER SYSTEM ON PARAMETER default_transaction_read_only';
const PROMOTE_RIGHT = 'EXECUTE ON FUNCTION pg_promote(boolean, integer)';

const apiCalls = (mark: number): ApiCall[] =>
  slack.calls.slice(mark).filter((c): c is ApiCall => c.kind === 'api');

function cardNow(mark: number, ts: string): ApiCall {
  return apiCalls(mark)
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' && c.result.ts === ts) ||
        (c.method === 'chat.update' && c.args.ts === ts),
    )
    .at(-1)!;
}

function buttons(call: ApiCall): { action_id: string; value: string; text: { text: string } }[] {
  const blocks = call.args.blocks as { type: string; elements?: never[] }[];
  return blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));
}

const text = (call: ApiCall): string => JSON.stringify(call.args.blocks);

function startBot(prefix: string, revoke = FENCE_RIGHT): Promise<BotHarness> {
  return startBotHarness({
    slack,
    redis,
    config,
    signingSecret: SECRET,
    prefix,
    log,
    providers: {
      database: faultOnceRedisPromoted(providers.database!, revoke),
      cache: providers.cache!,
    },
  });
}

/** The write load started, a planned failover requested and approved, paused split: its card. */
async function pausedSplit(runId: string, revoke: string) {
  await load?.close();
  load = createWriteLoadProvider({
    postgres: { primaryUrl: lab.postgres.primary.url, secondaryUrl: lab.postgres.secondary.url },
    redis: { primaryUrl: lab.redis.primary.url, secondaryUrl: lab.redis.secondary.url },
    intervalMs: 20,
    log: silentLog,
  });
  await load.start({ runId, progress: () => undefined });
  const prefix = uniquePrefix('split-data-tier');
  const bot = await startBot(prefix, revoke);
  const mark = bot.mark;

  await bot.command('failover planned split tier', REQUESTER);
  const card = await slack.waitFor(
    () => apiCalls(mark).find((c) => c.method === 'chat.postMessage' && !c.args.thread_ts),
    'the status card',
  );
  const ts = String(card.result.ts);
  const approve = await slack.waitFor(
    () => buttons(cardNow(mark, ts)).find((b) => b.action_id === ACTION_IDS.approve),
    'the Approve button',
    60_000,
  );
  const { opId } = decodeButtonValue(approve.value)!;
  await bot.clickAction(ACTION_IDS.approve, approve.value, APPROVER);
  const paused = await slack.waitFor(
    () => {
      const now = cardNow(mark, ts);
      return buttons(now).some((b) => b.action_id === ACTION_IDS.undo) ? now : undefined;
    },
    'the pause card with Undo',
    90_000,
  );
  return { bot, prefix, mark, ts, opId, paused };
}

test('a refused PostgreSQL fence beside a promoted Redis: per-component pause card, two-person Undo Redis, no acknowledged write lost', async () => {
  const split = await pausedSplit('SPLIT-1', FENCE_RIGHT);
  let bot = split.bot;
  const { prefix, mark, ts, opId, paused } = split;

  // Paused: PostgreSQL still writes in the primary region, Redis in the secondary.
  expect(text(paused)).toContain(
    '*Data tier:* PostgreSQL: primary in lab-primary (unchanged) · Redis: primary in lab-secondary (changed)',
  );
  expect(text(paused)).toContain('permission denied to set parameter');
  expect(buttons(paused).map((b) => b.text.text)).toEqual(['Retry', 'Undo Redis', 'Abort']);
  expect(await redisRole(lab.redis.secondary.url)).toEqual({ role: 'master' });
  const [{ ro }] = await sql<{ ro: boolean }>(
    lab.postgres.primary.url,
    `SELECT pg_is_in_recovery() AS standby, current_setting('default_transaction_read_only') = 'on' AS ro`,
  );
  expect(ro).toBe(false);

  // One person asks; the same person cannot approve their own undo.
  const undoValue = buttons(paused).find((b) => b.action_id === ACTION_IDS.undo)!.value;
  await bot.clickAction(ACTION_IDS.undo, undoValue, REQUESTER);
  await slack.waitFor(
    () => (text(cardNow(mark, ts)).includes('Undo Redis asked by') ? true : undefined),
    'the card to show the undo waiting for an approver',
  );
  const again = await bot.clickAction(ACTION_IDS.undo, undoValue, REQUESTER);
  expect(await bot.answer(again.path)).toMatch(/another approver must click Undo too/);
  expect(await redisRole(lab.redis.secondary.url)).toEqual({ role: 'master' });

  // The bot restarts; the request is in the operation's state, so a second approver completes it.
  await bot.stop({ keepState: true });
  bot = await startBot(prefix);
  expect((await bot.engine.get(opId))!.undo).toMatchObject({ requestedBy: REQUESTER });
  await bot.clickAction(ACTION_IDS.undo, undoValue, APPROVER_2);
  const summary = await slack.waitFor(
    () =>
      apiCalls(mark).find((c) => c.args.thread_ts === ts && String(c.args.text).startsWith('🏁')),
    'the summary reply',
    90_000,
  );
  expect(text(summary)).toMatch(/aborted/);
  expect(text(summary)).toContain('Undone: Redis is back: primary is the master again');
  const view = (await bot.engine.get(opId))!;
  expect(view.phase).toBe('aborted');
  expect(view.undo).toMatchObject({ requestedBy: REQUESTER, approvals: [{ userId: APPROVER_2 }] });
  const timeline = (await bot.engine.timeline(opId)).map((e) => e.type);
  expect(timeline).toEqual(
    expect.arrayContaining(['UndoRequested', 'UndoStarted', 'DataTierUndone', 'OperationAborted']),
  );

  // Redis is as before the failover: the old primary is the master, the other its replica.
  expect(await redisRole(lab.redis.primary.url)).toEqual({ role: 'master' });
  expect(await redisRole(lab.redis.secondary.url)).toEqual({
    role: 'replica',
    master: lab.redis.primary.port,
  });
  // Writes go on where they went before, and nothing acknowledged during the run is missing.
  const before = load!.sample()!.cache!.onPrimary;
  await until(
    'cache writes on the primary again',
    async () => load!.sample()!.cache!.onPrimary > before + 5,
  );
  const res = await load!.stop({ runId: 'SPLIT-1', progress: () => undefined });
  const ev = res.evidence as Record<string, { writer: string; lost: number; acknowledged: number }>;
  expect(ev.cache).toMatchObject({ writer: 'primary', lost: 0 });
  expect(ev.database).toMatchObject({ writer: 'primary', lost: 0 });
  expect(ev.cache!.acknowledged).toBeGreaterThan(0);
  // Some of them were taken by the promoted Redis during the split, and carried back by the undo.
  expect(res.sample.cache!.onSecondary).toBeGreaterThan(0);
  await bot.stop();
}, 240_000);

test('a fenced PostgreSQL whose promotion is refused beside a promoted Redis: two people undo both, the primary takes writes again, no acknowledged write lost', async () => {
  // The first test took the fence right away; this one lets the fence apply and takes pg_promote.
  await sql(lab.postgres.primary.url, `GRANT ${FENCE_RIGHT} TO ${BOT_PG_ROLE}`);
  const { bot, mark, ts, opId, paused } = await pausedSplit('SPLIT-2', PROMOTE_RIGHT);

  expect(text(paused)).toContain(
    '*Data tier:* PostgreSQL: no writer — primary fenced, standby not promoted (changed) · Redis: primary in lab-secondary (changed)',
  );
  expect(text(paused)).toContain('permission denied for function pg_promote');
  expect(buttons(paused).map((b) => b.text.text)).toEqual([
    'Retry',
    'Undo PostgreSQL and Redis',
    'Abort',
  ]);
  const state = (url: string) =>
    sql<{ standby: boolean; ro: boolean }>(
      url,
      `SELECT pg_is_in_recovery() AS standby, current_setting('default_transaction_read_only') = 'on' AS ro`,
    );
  expect(await state(lab.postgres.primary.url)).toEqual([{ standby: false, ro: true }]);
  expect(await state(lab.postgres.secondary.url)).toEqual([{ standby: true, ro: false }]);

  // One person asks, another approves: then both are put back.
  const undoValue = buttons(paused).find((b) => b.action_id === ACTION_IDS.undo)!.value;
  await bot.clickAction(ACTION_IDS.undo, undoValue, REQUESTER);
  await slack.waitFor(
    () =>
      text(cardNow(mark, ts)).includes('Undo PostgreSQL and Redis asked by') ? true : undefined,
    'the card to show the undo waiting for an approver',
  );
  expect(await state(lab.postgres.primary.url)).toEqual([{ standby: false, ro: true }]);
  await bot.clickAction(ACTION_IDS.undo, undoValue, APPROVER_2);
  const summary = await slack.waitFor(
    () =>
      apiCalls(mark).find((c) => c.args.thread_ts === ts && String(c.args.text).startsWith('🏁')),
    'the summary reply',
    90_000,
  );
  expect(text(summary)).toContain('PostgreSQL is back: the fence on primary is lifted');
  expect((await bot.engine.get(opId))!.phase).toBe('aborted');

  // PostgreSQL and Redis are as before the failover, and the primary takes writes again.
  expect(await state(lab.postgres.primary.url)).toEqual([{ standby: false, ro: false }]);
  expect(await state(lab.postgres.secondary.url)).toEqual([{ standby: true, ro: false }]);
  expect(await redisRole(lab.redis.primary.url)).toEqual({ role: 'master' });
  const before = load!.sample()!.database!.onPrimary;
  await until(
    'database writes on the primary again',
    async () => load!.sample()!.database!.onPrimary > before + 5,
  );
  const res = await load!.stop({ runId: 'SPLIT-2', progress: () => undefined });
  const ev = res.evidence as Record<string, { writer: string; lost: number; acknowledged: number }>;
  expect(ev.database).toMatchObject({ writer: 'primary', lost: 0 });
  expect(ev.cache).toMatchObject({ writer: 'primary', lost: 0 });
  expect(ev.database!.acknowledged).toBeGreaterThan(0);
  await sql(lab.postgres.primary.url, `GRANT ${PROMOTE_RIGHT} TO ${BOT_PG_ROLE}`);
  await bot.stop();
}, 240_000);
