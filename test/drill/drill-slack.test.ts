/**
 * `/dr drill` in Slack: the real Bolt app and engine, the Web API played by the fake Slack. The
 * drill report is posted in the status card's thread as a summary and a Markdown file
 * (files.uploadV2), and is the report kept in the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createSlackClient, postDrillReports } from '../../src/bot/index.js';
import { ACTION_IDS, encodeButtonValue } from '../../src/bot/render.js';
import { configSchema } from '../../src/config/schema.js';
import { createConsoleSession } from '../../src/console/session.js';
import { openDrillReporter } from '../../src/drill/index.js';
import { createReportStore, renderDrillMarkdown } from '../../src/report/index.js';
import { inPhase } from '../support/engine-harness.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, uniquePrefix } from '../support/redis.js';
import { startBotHarness, type BotHarness } from '../support/slack-bot-harness.js';

const SECRET = 'drill-signing-secret-0123456789';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CHANNEL = 'C0DRILLS';
const log = pino({ level: 'silent' });
const config = configSchema.parse({
  environment: 'drills',
  regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
  slack: { incidentChannel: CHANNEL },
  approvals: { approvers: [ALICE, BOB] },
});

let redis: Redis;
let slack: FakeSlack;
let bot: BotHarness;
let drills: ReturnType<typeof openDrillReporter>;
let reportsDir: string;

beforeAll(async () => {
  reportsDir = mkdtempSync(join(tmpdir(), 'dr-drill-slack-'));
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  bot = await startBotHarness({
    slack,
    redis,
    config,
    signingSecret: SECRET,
    prefix: uniquePrefix('drill-slack'),
    log,
  });
  wireReporter();
});

afterAll(async () => {
  await drills.close();
  await bot.stop();
  await slack.close();
  redis.disconnect();
  rmSync(reportsDir, { recursive: true, force: true });
});

/** The drill reporter wired as dr start wires it (src/app.ts): stored, then posted in Slack. */
function wireReporter(): void {
  drills = openDrillReporter({
    engine: bot.engine,
    environment: config.environment,
    redisUrl: REDIS_URL,
    targets: config.targets,
    log,
    prefix: bot.prefix,
  });
  postDrillReports({
    reporter: drills.reporter,
    client: createSlackClient('xoxb-e2e', { SLACK_API_URL: slack.apiUrl }, log),
    store: bot.store,
    config,
    log,
  });
}

/** The bot's next start: wired again, then its start-up recovery, run to the end. */
async function nextStart(): Promise<void> {
  wireReporter();
  await drills.reporter.recover();
  await drills.reporter.idle();
}

/** `/dr drill REASON` by alice, approved by bob, run to completion; its id. */
async function completedDrill(reason: string): Promise<string> {
  const cmd = await bot.command(`drill ${reason}`, ALICE);
  expect(cmd.status).toBe(200);
  expect(await bot.answer(cmd.path)).toMatch(/^DR-\d{8}-\d{6} requested/);
  const id = (await bot.engine.status()).active!.id;
  const waiting = await inPhase(bot.engine, id, 'awaitingApproval');
  await bot.clickAction(
    ACTION_IDS.approve,
    encodeButtonValue({ opId: id, planHash: waiting.planHash! }),
    BOB,
  );
  await inPhase(bot.engine, id, 'completed');
  return id;
}

test('/dr drill runs after another approver clicks Approve; the report lands in the card thread as a summary and a Markdown file', async () => {
  const cmd = await bot.command('drill quarterly drill', ALICE);
  expect(cmd.status).toBe(200);
  expect(await bot.answer(cmd.path)).toMatch(
    /^DR-\d{8}-\d{6} requested: the drill of \*drills\* runs after another approver approves it/,
  );
  const { active } = await bot.engine.status();
  const id = active!.id;
  const waiting = await inPhase(bot.engine, id, 'awaitingApproval');

  await bot.clickAction(
    ACTION_IDS.approve,
    encodeButtonValue({ opId: id, planHash: waiting.planHash! }),
    BOB,
  );
  await inPhase(bot.engine, id, 'completed');
  const upload = await slack.waitFor(
    (f) => f.uploads().find((u) => u.channel === CHANNEL && u.content.length > 0 && u.title),
    'the drill report file',
  );

  const card = slack
    .api('chat.postMessage')
    .find((c) => !c.args.thread_ts && c.args.channel === CHANNEL)!;
  const cardTs = String(card.result.ts);
  const summary = slack
    .api('chat.postMessage')
    .find(
      (c) =>
        c.args.thread_ts === cardTs &&
        String(c.args.text).startsWith(`Drill ${id} in drills: PASSED`),
    )!;
  expect(summary).toBeDefined();
  expect(String(summary.args.reply_broadcast)).toBe('true');
  expect(String(summary.args.text)).toMatch(/• RTO failover: \S+ (ms|s) \(target 30 min\) — pass/);

  const stored = await createReportStore({ redis, prefix: bot.prefix }).get(id);
  expect(upload).toMatchObject({
    filename: `${id}-drill-report.md`,
    threadTs: cardTs,
    title: `Drill report ${id} — passed`,
  });
  expect(upload.content).toBe(renderDrillMarkdown(stored!));
});

test('a drill that finished while the bot was down before storing its report is posted in the channel at the next start, once', async () => {
  // The bot stops right after the drill completes: no reporter sees it finish.
  await drills.close();
  const id = await completedDrill('report lost to a restart');
  const reports = createReportStore({ redis, prefix: bot.prefix });
  expect(await reports.get(id)).toBeNull();

  // The next start.
  await nextStart();
  const upload = await slack.waitFor(
    (f) => f.uploads().find((u) => u.filename === `${id}-drill-report.md` && u.content.length > 0),
    'the recovered drill report file',
  );
  expect(upload.content).toBe(renderDrillMarkdown((await reports.get(id))!));
  expect(
    slack
      .api('chat.postMessage')
      .filter((c) => String(c.args.text).startsWith(`Drill ${id} in drills: PASSED`)),
  ).toHaveLength(1);

  await drills.reporter.recover();
  await drills.reporter.idle();
  expect(slack.uploads().filter((u) => u.filename === `${id}-drill-report.md`)).toHaveLength(1);
});

test("a report whose file upload failed is not lost: the next start uploads it in the summary's thread, without a second summary", async () => {
  const reports = createReportStore({ redis, prefix: bot.prefix });
  slack.failMethod('files.completeUploadExternal', 'not_in_channel');
  const id = await completedDrill('upload refused');
  await drills.reporter.idle();
  const summaries = () =>
    slack
      .api('chat.postMessage')
      .filter((c) => String(c.args.text).startsWith(`Drill ${id} in drills: PASSED`));
  const posted = () =>
    slack.uploads().filter((u) => u.filename === `${id}-drill-report.md` && u.channel === CHANNEL);
  expect(summaries()).toHaveLength(1);
  expect(posted()).toHaveLength(0);
  expect(await reports.get(id)).not.toBeNull();

  // Slack accepts files again; the bot restarts.
  slack.failMethod('files.completeUploadExternal', undefined);
  await drills.close();
  await nextStart();
  expect(posted()).toHaveLength(1);
  expect(posted()[0]).toMatchObject({
    threadTs: summaries()[0].args.thread_ts,
    content: renderDrillMarkdown((await reports.get(id))!),
  });
  expect(summaries()).toHaveLength(1);

  // Published now: a further start (a new process, which has not handled it) posts nothing.
  await drills.close();
  await nextStart();
  expect(posted()).toHaveLength(1);
  expect(summaries()).toHaveLength(1);
});

test("a report a console printed while the bot was down is still posted in the channel at the bot's next start, once; no console prints it twice", async () => {
  // The bot dies as the drill ends: its report is never built, let alone posted.
  await drills.close();
  const id = await completedDrill('bot down at its end');
  const reports = createReportStore({ redis, prefix: bot.prefix });
  const summaries = () =>
    slack
      .api('chat.postMessage')
      .filter((c) => String(c.args.text).startsWith(`Drill ${id} in drills: PASSED`));
  const files = () => slack.uploads().filter((u) => u.filename === `${id}-drill-report.md`);

  // `dr console` on the environment meanwhile (the lease allows it while the bot is down): it prints the report at its start.
  const openConsole = async () => {
    const out: string[] = [];
    const reporter = openDrillReporter({
      engine: bot.engine,
      environment: config.environment,
      redisUrl: REDIS_URL,
      targets: config.targets,
      log,
      prefix: bot.prefix,
    });
    const session = createConsoleSession({
      engine: bot.engine,
      config,
      reporter: reporter.reporter,
      user: ALICE,
      reportsDir,
      write: (t) => void out.push(t),
    });
    await reporter.reporter.recover();
    await session.idle();
    session.close();
    await reporter.close();
    return out.join('');
  };
  const printed = await openConsole();
  expect(printed).toContain(
    `(the report of an earlier drill, not yet posted in Slack: the bot posts it in the incident channel when it next starts)\nDrill ${id} in drills: PASSED`,
  );
  expect(printed).toContain(`drill report: ${join(reportsDir, `${id}.md`)}`);
  expect(summaries()).toHaveLength(0);
  expect(await reports.isPublished(id)).toBe(false);
  expect(await openConsole()).not.toContain(`Drill ${id}`);

  // The bot starts again, wired as dr start wires it: the channel gets the report the console printed.
  await nextStart();
  expect(summaries()).toHaveLength(1);
  expect(files()).toHaveLength(1);
  expect(files()[0].content).toBe(renderDrillMarkdown((await reports.get(id))!));
  expect(await reports.isPublished(id)).toBe(true);

  // A further start (a new process) posts nothing.
  await drills.close();
  await nextStart();
  expect(summaries()).toHaveLength(1);
  expect(files()).toHaveLength(1);
});
