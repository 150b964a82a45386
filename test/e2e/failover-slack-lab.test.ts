/**
 * The whole failover, end to end, as an on-call person runs it: a real lab (`labUp`: PostgreSQL
 * and Redis pairs, the cloud simulators, the bot's own state Redis), the bot run as `dr start
 * --config DIR/dr.config.yaml` with DIR/lab.env in its environment (so loadConfig,
 * createProviders, the engine, the Redis store and the Bolt app are all the real ones), driven
 * through its Slack HTTP endpoint with signed requests while a local Web API stand-in records
 * what it posts. After each run the test looks at every component itself, not at what the bot
 * says it did.
 */
import { metricValue, scrape } from '../support/metrics.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ACTION_IDS, decodeButtonValue } from '../../src/bot/render.js';
import { loadConfig, type DrConfig } from '../../src/config/index.js';
import {
  labDown,
  labUp,
  labCloud,
  cloudState,
  readLabEnv,
  setRegionHealth,
  stopRedis,
  LAB_APPROVERS,
  LAB_CHANNEL,
  type CloudState,
  type LabCloud,
  type LabInfo,
} from '../../src/lab/index.js';
import { FAILOVER_RUNBOOK, STEP_TITLES, runbookSteps } from '../../src/machine/index.js';
import { RUNBOOKS } from '../../src/machine/runbook.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { crashPostgresPrimary, sql, until } from '../support/lab.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { blockActionsBody, postToSlackApp, slashCommandBody } from '../support/slack-signing.js';

const SECRET = 'e2e-lab-signing-secret-0123456789';
const OPERATOR = 'U0LABOPER1'; // requests; not an approver
const [APPROVER] = LAB_APPROVERS as [string, ...string[]];
const STEPS = runbookSteps(FAILOVER_RUNBOOK).map((id) => STEP_TITLES[id]);
/** A failover on the lab takes seconds; these only bound a hung run on a busy machine. */
const RUN_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 180_000;

const DR = join(process.cwd(), 'bin', 'dr.js');

let slack: FakeSlack;
beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});

interface Run {
  lab: LabInfo;
  cloud: LabCloud;
  config: DrConfig;
  bot: ChildProcess;
  url: string;
  mark: number;
}

/** What a test started, recorded as it starts so that a failed start is still stopped. */
interface Started {
  lab: LabInfo;
  bot?: ChildProcess;
}

async function stopStarted(run: Started): Promise<void> {
  if (run.bot && run.bot.exitCode === null && run.bot.signalCode === null) {
    const exited = new Promise((resolve) => run.bot!.once('exit', resolve));
    run.bot.kill('SIGTERM');
    await exited;
  }
  await labDown({ dir: run.lab.dir });
}

let current: Started | undefined;
afterEach(async () => {
  const run = current;
  current = undefined;
  if (run) await stopStarted(run);
});

/** `dr start` in its own process; `port` resolves once it serves. */
function startBot(
  configPath: string,
  env: Record<string, string>,
): { bot: ChildProcess; port: Promise<number> } {
  const bot = spawn(process.execPath, [DR, 'start', '--config', configPath], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = new Promise<number>((resolve, reject) => {
    bot.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      for (const line of output.split('\n')) {
        if (!line.startsWith('{') || !line.endsWith('}')) continue;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'dr-bot started' && entry.port) resolve(entry.port);
      }
    });
    bot.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    bot.once('exit', (code) =>
      reject(new Error(`dr start exited with ${code} before serving:\n${output}`)),
    );
  });
  return { bot, port };
}

/** A lab, and the bot started on it from the lab's own files, as the README tells a person to. */
async function startBotOnLab(
  which: 'aws' | 'azure' = 'aws',
  track: (started: Started) => void = (started) => (current = started),
  opts: { readinessIntervalMinutes?: number; customSteps?: boolean } = {},
): Promise<Run> {
  const { readinessIntervalMinutes, customSteps } = opts;
  const lab = await labUp({ cloud: which, ...(customSteps ? { customSteps } : {}) });
  const started: Started = { lab };
  track(started);
  if (readinessIntervalMinutes !== undefined) {
    // What a person edits in the lab's config to see readiness rounds more often than every 15 min.
    const config = parse(readFileSync(lab.configPath, 'utf8')) as Record<string, unknown>;
    config.readiness = { intervalMinutes: readinessIntervalMinutes };
    writeFileSync(lab.configPath, stringify(config));
  }
  const cloud = labCloud(lab)!;
  expect(cloud).toBeDefined();
  const mark = slack.calls.length;
  const labEnv = readLabEnv(lab.envFile);
  const { bot, port: ready } = startBot(lab.configPath, {
    ...labEnv,
    SLACK_BOT_TOKEN: 'xoxb-lab-e2e',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
  });
  // Recorded before waiting, so a bot that never comes up is still stopped after the test.
  started.bot = bot;
  const port = await ready;
  return {
    lab,
    cloud,
    config: loadConfig({ path: lab.configPath }),
    bot,
    url: `http://127.0.0.1:${port}/slack/events`,
    mark,
  };
}

async function command(run: Run, text: string, userId: string): Promise<string> {
  const path = `cmd-${slack.calls.length}`;
  const res = await postToSlackApp(
    run.url,
    SECRET,
    slashCommandBody({
      text,
      userId,
      channelId: LAB_CHANNEL,
      responseUrl: slack.responseUrl(path),
    }),
  );
  expect(res.status).toBe(200);
  const [answer] = await slack.waitFor(
    (f) => (f.responses(path).length > 0 ? f.responses(path) : null),
    `the answer to /dr ${text}`,
  );
  return String(answer!.body.text);
}

async function click(
  run: Run,
  action: keyof typeof ACTION_IDS,
  value: string,
  userId: string,
): Promise<void> {
  const path = `click-${slack.calls.length}`;
  const res = await postToSlackApp(
    run.url,
    SECRET,
    blockActionsBody({
      userId,
      actionId: ACTION_IDS[action],
      value,
      channelId: LAB_CHANNEL,
      responseUrl: slack.responseUrl(path),
    }),
  );
  expect(res.status).toBe(200);
}

const apiCallsSince = (run: Run): ApiCall[] =>
  slack.calls.slice(run.mark).filter((c): c is ApiCall => c.kind === 'api');

/** The card as Slack shows it now: the last postMessage/update of its ts. */
function cardNow(run: Run, ts: string): ApiCall {
  const versions = apiCallsSince(run).filter(
    (c) =>
      (c.method === 'chat.postMessage' && c.result.ts === ts) ||
      (c.method === 'chat.update' && c.args.ts === ts),
  );
  return versions[versions.length - 1]!;
}

const blocksText = (call: ApiCall): string => JSON.stringify(call.args.blocks);

function buttonValue(call: ApiCall, actionId: string): string | undefined {
  const blocks = call.args.blocks as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>;
  return blocks
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === actionId)?.value;
}

const approveValue = (call: ApiCall): string | undefined => buttonValue(call, ACTION_IDS.approve);

const threadReplies = (run: Run, ts: string): ApiCall[] =>
  apiCallsSince(run).filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts === ts);

/** Request, wait for the card's Approve button, let a second person approve, wait for the end. */
async function failoverThroughSlack(
  run: Run,
  mode: 'planned' | 'unplanned',
  reason: string,
): Promise<{ ts: string; opId: string; approvalCard: string; summary: ApiCall }> {
  return operationThroughSlack(run, `failover ${mode} ${reason}`);
}

/** `/dr <text>` (failover, failback or drill) from request to the completed card. */
async function operationThroughSlack(
  run: Run,
  text: string,
  /** What a person does while it runs (a checklist item's Done), given the card's ts. */
  whileRunning?: (ts: string) => Promise<void>,
): Promise<{ ts: string; opId: string; approvalCard: string; summary: ApiCall }> {
  const from = slack.calls.length;
  expect(await command(run, text, OPERATOR)).toMatch(/^DR-\d{8}-\d{6} requested/);
  // The readiness monitor posts into the same channel (the lab has never run a drill): skip its messages.
  const card = await slack.waitFor(
    () =>
      slack.calls
        .slice(from)
        .find(
          (c): c is ApiCall =>
            c.kind === 'api' &&
            c.method === 'chat.postMessage' &&
            !c.args.thread_ts &&
            !String(c.args.text).startsWith('Readiness '),
        ),
    'the status card',
  );
  expect(card.args.channel).toBe(LAB_CHANNEL);
  const ts = String(card.result.ts);
  // Preflight has read every component once the Approve button is drawn.
  const value = await slack.waitFor(
    () => approveValue(cardNow(run, ts)),
    'the Approve button',
    RUN_TIMEOUT_MS,
  );
  const approvalCard = blocksText(cardNow(run, ts));
  const { opId } = decodeButtonValue(value)!;
  await click(run, 'approve', value, APPROVER);
  await whileRunning?.(ts);
  const summary = await slack.waitFor(
    () => threadReplies(run, ts).find((c) => String(c.args.text).startsWith('🏁')),
    'the summary reply',
    RUN_TIMEOUT_MS,
  );
  await slack.waitFor(
    () => blocksText(cardNow(run, ts)).includes('🟢 Completed'),
    'the card to show completed',
    RUN_TIMEOUT_MS,
  );
  return { ts, opId, approvalCard, summary };
}

/** Every step ✅ on the card, a thread reply per step, the verification table all green, RTO in the summary. */
function expectCompletedCard(run: Run, ts: string, opId: string, summary: ApiCall): void {
  const final = blocksText(cardNow(run, ts));
  for (const title of STEPS) expect(final).toMatch(new RegExp(`✅ \\*${title}\\* — \\d`));
  expect(final).not.toMatch(/⬜|⏳|❌|⏭/);
  // Scaling ran as a lane beside the data tier; DNS came after the three, as its own stage.
  expect(final).toContain(`1┬ ✅ *${STEP_TITLES['promote-database']}*`);
  expect(final).toContain(`1└ ✅ *${STEP_TITLES['scale-secondary']}*`);
  expect(final).toContain(`2  ✅ *${STEP_TITLES['switch-dns']}*`);
  const replies = threadReplies(run, ts);
  const replyOf = (id: 'scale-secondary' | 'switch-dns') =>
    replies.findIndex((c) => String(c.args.text).startsWith(`✅ ${STEP_TITLES[id]} `));
  expect(replyOf('scale-secondary')).toBeLessThan(replyOf('switch-dns'));
  for (const title of STEPS)
    expect(replies.filter((c) => String(c.args.text).startsWith(`✅ ${title} `))).toHaveLength(1);
  const verify = replies.find((c) =>
    String(c.args.text).startsWith(`✅ ${STEP_TITLES['verify-secondary']} `),
  )!;
  const table = blocksText(verify);
  const [, passed, total] = /\*Checks\* (\d+)\/(\d+) passed/.exec(table) ?? [];
  expect(Number(total)).toBeGreaterThan(0);
  expect(passed).toBe(total);
  expect(table).toContain('secondary health');
  expect(table).not.toContain('FAIL');
  const text = blocksText(summary);
  expect(text).toContain(`${opId} completed`);
  expect(text).toMatch(/RTO \d[^(]* \(target 30 min ✅\)/);
}

async function redisRole(url: string): Promise<string> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return String(((await r.role()) as unknown[])[0]);
  } finally {
    r.disconnect();
  }
}

async function redisGet(url: string, key: string): Promise<string | null> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

async function state(cloud: LabCloud): Promise<CloudState> {
  const s = await cloudState(cloud);
  if ('error' in s) throw new Error(`simulators: ${s.error}`);
  return s;
}

/** DNS answers the secondary, both as Route 53 reports it and as a resolver gets it. */
async function expectDnsOnSecondary(cloud: LabCloud): Promise<CloudState> {
  const s = await state(cloud);
  expect(s.route53.servedBy).toBe('secondary');
  const resolve = createResolver({ servers: [cloud.route53.dnsServer] });
  expect(await resolve(cloud.route53.recordName, 'A')).toEqual(s.route53.answer);
  return s;
}

/** The secondary cluster runs every workload at its production count, all ready. */
function expectProductionScale(run: Run, s: CloudState): void {
  const workloads = run.config.components.kubernetes!.workloads;
  expect(
    s.kubernetes.secondary.map((w) => ({
      name: w.name,
      replicas: w.replicas,
      ready: w.readyReplicas,
    })),
  ).toEqual(
    workloads.map((w) => ({
      name: w.name,
      replicas: w.productionReplicas,
      ready: w.productionReplicas,
    })),
  );
}

async function seedData(lab: LabInfo): Promise<void> {
  await sql(lab.postgres.primary.url, 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
  await sql(
    lab.postgres.primary.url,
    `INSERT INTO orders VALUES (1, 'espresso'), (2, 'croissant')`,
  );
  const r = new Redis(lab.redis.primary.url);
  try {
    await r.set('cart:42', 'espresso');
    // Wait until both standbys have it: what was replicated before a crash must survive it.
    await r.wait(1, 5000);
  } finally {
    r.disconnect();
  }
  const deadline = Date.now() + 10_000;
  while (
    (
      await sql(lab.postgres.secondary.url, 'SELECT count(*)::int AS n FROM orders').catch(() => [
        { n: 0 },
      ])
    )[0]!.n !== 2
  ) {
    if (Date.now() > deadline) throw new Error('the standby never received the seeded rows');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'planned failover through Slack: one person requests, another approves, every component ends up on the secondary',
  async () => {
    const run = await startBotOnLab();
    const { lab, cloud } = run;
    await seedData(lab);
    const before = await state(cloud);
    expect(before.route53.servedBy).toBe('primary');
    expect(before.kubernetes.secondary.every((w) => w.replicas === 1)).toBe(true);

    // The bot's readiness monitor runs on start-up: the lab never had a drill, said once in the
    // channel. Awaited before the failover: a round that ends while an operation runs posts nothing.
    const readiness = await slack.waitFor(() => {
      const posted = apiCallsSince(run).filter(
        (c) => c.method === 'chat.postMessage' && String(c.args.text).startsWith('Readiness '),
      );
      return posted.length > 0 ? posted : null;
    }, 'the readiness message about the missing drill');
    expect(readiness.map((c) => String(c.args.text))).toEqual([
      expect.stringMatching(/^Readiness degraded: Last drill \(lab\): no drill recorded for lab/),
    ]);
    // What Prometheus scrapes before: the readiness round, no operation yet.
    const scraped = await scrape(Number(new URL(run.url).port));
    expect(metricValue(scraped, 'dr_instance_active', { environment: 'lab' })).toBe(1);
    expect(metricValue(scraped, 'dr_readiness_ok', { check: 'drill' })).toBe(0);
    expect(metricValue(scraped, 'dr_readiness_ok', { check: 'postgres' })).toBe(1);
    expect(metricValue(scraped, 'dr_replication_lag_bytes', { component: 'postgres' })).toEqual(
      expect.any(Number),
    );
    expect(metricValue(scraped, 'dr_operations_total', { kind: 'failover' })).toBeUndefined();

    const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
      run,
      'planned',
      'quarterly drill',
    );
    expect(approvalCard).toContain('*Mode:* planned');
    expectCompletedCard(run, ts, opId, summary);
    expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);
    // ...and after: the operation, its steps, its RTO and its zero-loss RPO.
    const scrapedAfter = await scrape(Number(new URL(run.url).port));
    const failover = { kind: 'failover' };
    expect(
      metricValue(scrapedAfter, 'dr_operations_total', { ...failover, result: 'completed' }),
    ).toBe(1);
    expect(metricValue(scrapedAfter, 'dr_last_rto_seconds', failover)).toBeGreaterThan(0);
    expect(
      metricValue(scrapedAfter, 'dr_last_rpo_bytes', { ...failover, component: 'database' }),
    ).toBe(0);
    expect(
      metricValue(scrapedAfter, 'dr_step_duration_seconds_count', {
        ...failover,
        step: 'promote-database',
        result: 'done',
      }),
    ).toBe(1);
    expect(metricValue(scrapedAfter, 'dr_approvals_pending')).toBe(0);

    // PostgreSQL: the secondary is a writable primary with every row; the old primary refuses writes.
    const [{ in_recovery }] = (await sql(
      lab.postgres.secondary.url,
      'SELECT pg_is_in_recovery() AS in_recovery',
    )) as [{ in_recovery: boolean }];
    expect(in_recovery).toBe(false);
    await sql(lab.postgres.secondary.url, `INSERT INTO orders VALUES (3, 'after failover')`);
    expect(
      (await sql(lab.postgres.secondary.url, 'SELECT item FROM orders ORDER BY id')).map(
        (r) => r.item,
      ),
    ).toEqual(['espresso', 'croissant', 'after failover']);
    await expect(
      sql(lab.postgres.primary.url, `INSERT INTO orders VALUES (4, 'split brain')`),
    ).rejects.toThrow(/read-only/);

    // Redis: the secondary is the master and kept the data; the old primary is no writer.
    expect(await redisRole(lab.redis.secondary.url)).toBe('master');
    expect(await redisRole(lab.redis.primary.url)).not.toBe('master');
    expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');

    const after = await expectDnsOnSecondary(cloud);
    expect(after.route53.primaryHealthCheckInverted).toBe(true);
    expect(after.route53.primaryHealthCheckDisabled).toBe(true);
    expectProductionScale(run, after);
    // The secondary's health endpoint was what verification hit.
    expect((await fetch(cloud.health.secondaryUrl)).status).toBe(200);
    // Still the one readiness message: nothing was posted about the failover's own changes.
    expect(
      apiCallsSince(run).filter(
        (c) => c.method === 'chat.postMessage' && String(c.args.text).startsWith('Readiness '),
      ),
    ).toHaveLength(1);
  },
  TEST_TIMEOUT_MS,
);

test(
  'unplanned failover through Slack after the primary region is lost: the expected loss is shown before approval and recorded as RPO',
  async () => {
    const run = await startBotOnLab();
    const { lab, cloud } = run;
    await seedData(lab);

    // The primary region goes away: its database and cache die, its public health endpoint fails.
    await crashPostgresPrimary(lab);
    await stopRedis(lab.redis.primary);
    await setRegionHealth(cloud, 'primary', 'down');

    const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
      run,
      'unplanned',
      'primary region unreachable',
    );
    expect(approvalCard).toContain('*Mode:* unplanned');
    // The expected loss is shown before approval, once: the unplanned summary ends with it.
    const once = (text: string, phrase: string) => text.split(phrase).length - 1;
    expect(once(approvalCard, 'the standby received WAL up to')).toBe(1);
    expect(once(approvalCard, "the replica applied the master's stream up to offset")).toBe(1);
    expect(approvalCard).toMatch(/unplanned, [^"]*the standby received WAL up to/);
    expectCompletedCard(run, ts, opId, summary);
    const text = blocksText(summary);
    expect(text).toMatch(/• RPO database: /);
    expect(text).toMatch(/• RPO cache: /);
    expect(text).not.toContain('RPO not measured');

    const [{ in_recovery }] = (await sql(
      lab.postgres.secondary.url,
      'SELECT pg_is_in_recovery() AS in_recovery',
    )) as [{ in_recovery: boolean }];
    expect(in_recovery).toBe(false);
    await sql(lab.postgres.secondary.url, `INSERT INTO orders VALUES (3, 'after failover')`);
    expect(
      (await sql(lab.postgres.secondary.url, 'SELECT count(*)::int AS n FROM orders'))[0]!.n,
    ).toBe(3);
    expect(await redisRole(lab.redis.secondary.url)).toBe('master');
    expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');

    const after = await expectDnsOnSecondary(cloud);
    expect(after.health.primary.healthy).toBe(false);
    expectProductionScale(run, after);
  },
  TEST_TIMEOUT_MS,
);

test(
  "a failover with the team's own steps through Slack: a command, an HTTP call and a checklist item confirmed with Done",
  async () => {
    const run = await startBotOnLab('aws', undefined, { customSteps: true });
    const { cloud } = run;
    const steps = run.config.runbook.steps;
    expect(steps.map((st) => st.id)).toEqual(['pause-consumers', 'status-page', 'tell-support']);
    // The command's marker, by the path its check tests.
    const marker = steps[0]!.command!.check!.argv.at(-1)!;
    expect(existsSync(marker)).toBe(false);
    const statusPage = async () =>
      (await (await fetch(`${cloud.controlUrl}/status-page`)).json()) as {
        count: number;
        posts: { body: string }[];
      };
    expect((await statusPage()).count).toBe(0);

    let item: ApiCall | undefined;
    const { ts, opId, summary } = await operationThroughSlack(
      run,
      'failover planned custom steps',
      async (cardTs) => {
        // The checklist item waits in the thread with Done and Skip, and /dr status says who acts.
        item = await slack.waitFor(
          () => threadReplies(run, cardTs).find((c) => String(c.args.text).startsWith('✋')),
          'the checklist item in the thread',
          RUN_TIMEOUT_MS,
        );
        expect(blocksText(item)).toContain('Tell customer support the site now serves');
        const done = buttonValue(item, ACTION_IDS.done)!;
        expect(buttonValue(item, ACTION_IDS.skip)).toBe(done);
        expect(await command(run, 'status', OPERATOR)).toContain(
          '*Waiting:* ✋ Tell customer support (custom)',
        );
        // The requester may confirm a checklist item (it is not an approval).
        await click(run, 'done', done, OPERATOR);
      },
    );
    expect(blocksText(summary)).toContain(`${opId} completed`);

    // The command ran once: its marker exists, one thread reply says it ran (not "already done").
    expect(existsSync(marker)).toBe(true);
    const replies = threadReplies(run, ts).map((c) => String(c.args.text));
    expect(replies.filter((t) => t.startsWith('✅ Pause the queue consumers (custom) '))).toEqual([
      expect.stringMatching(/succeeded in /),
    ]);
    // The status page was posted once, with the step's body.
    const page = await statusPage();
    expect(page.count).toBe(1);
    expect(page.posts[0]!.body).toContain('Serving from the secondary region');
    expect(replies.filter((t) => t.startsWith('✅ Update the status page (custom) '))).toHaveLength(
      1,
    );
    // Who confirmed the checklist item: in the thread, and on its own message, now without buttons.
    expect(replies).toContainEqual(
      expect.stringMatching(
        new RegExp(`^☑️ Tell customer support \\(custom\\) done, confirmed by <@${OPERATOR}>`),
      ),
    );
    const settled = await slack.waitFor(
      () =>
        apiCallsSince(run).find((c) => c.method === 'chat.update' && c.args.ts === item!.result.ts),
      'the checklist item edited',
    );
    expect(buttonValue(settled, ACTION_IDS.done)).toBeUndefined();
    expect(blocksText(settled)).toContain(`confirmed by <@${OPERATOR}>`);
    const card = blocksText(cardNow(run, ts));
    for (const title of [...STEPS, 'Pause the queue consumers', 'Update the status page'])
      expect(card).toMatch(new RegExp(`✅ \\*${title}\\*`));
    expect(card).toContain('✅ *Tell customer support* _(custom)_');
    expect(card).not.toMatch(/⬜|⏳|❌|⏭|✋/);
    expectProductionScale(run, await expectDnsOnSecondary(cloud));
  },
  TEST_TIMEOUT_MS,
);

/** `/dr status` until `done` holds for its answer (readiness rounds run every few seconds). */
async function statusUntil(run: Run, done: (text: string) => boolean, what: string) {
  let text = '';
  await until(
    `/dr status to show ${what}`,
    async () => done((text = await command(run, 'status', OPERATOR))),
    RUN_TIMEOUT_MS,
  );
  return text;
}

/** Every step of `kind`'s runbook ✅ on the card, nothing failed or left, the summary says completed. */
function expectAllStepsDone(run: Run, ts: string, kind: keyof typeof RUNBOOKS, opId: string) {
  const final = blocksText(cardNow(run, ts));
  for (const id of runbookSteps(RUNBOOKS[kind]))
    expect(final).toMatch(new RegExp(`✅ \\*${STEP_TITLES[id]}\\* — \\d`));
  expect(final).not.toMatch(/⬜|⏳|❌|⏭/);
  expect(final).toContain('🟢 Completed');
  expect(
    threadReplies(run, ts).find((c) => String(c.args.text).startsWith('🏁'))!.args.text,
  ).toContain(`${opId} completed`);
}

type Side = 'primary' | 'secondary';
const otherSide = (side: Side): Side => (side === 'primary' ? 'secondary' : 'primary');
const APP_TABLE = 'app_writes';
const APP_LIST = 'app:writes';

/**
 * The application during the cycle: one INSERT and one RPUSH at a time, each to whichever side
 * takes it (its traffic follows the writer as users follow DNS), remembering every write a server
 * acknowledged and where. Failed writes are not acknowledged and retried on the other side.
 */
function startApplication(lab: LabInfo) {
  const acked = { database: [] as number[], cache: [] as number[] };
  const where = { database: { primary: 0, secondary: 0 }, cache: { primary: 0, secondary: 0 } };
  let stopping = false;
  const pause = () => new Promise((r) => setTimeout(r, 10));
  const database = (async () => {
    let side: Side = 'primary';
    let client: pg.Client | undefined;
    for (let seq = 1; !stopping; seq++) {
      try {
        if (!client) {
          client = new pg.Client({
            connectionString: lab.postgres[side].url,
            connectionTimeoutMillis: 2000,
            query_timeout: 3000,
          });
          client.on('error', () => undefined);
          await client.connect();
        }
        await client.query(`INSERT INTO ${APP_TABLE} (seq, side) VALUES ($1, $2)`, [seq, side]);
        acked.database.push(seq);
        where.database[side] += 1;
      } catch {
        await client?.end().catch(() => undefined);
        client = undefined;
        side = otherSide(side);
      }
      await pause();
    }
    await client?.end().catch(() => undefined);
  })();
  const clients = new Map<Side, Redis>();
  const redis = (side: Side): Redis => {
    if (!clients.has(side)) {
      const r = new Redis(lab.redis[side].url, {
        maxRetriesPerRequest: 0,
        connectTimeout: 2000,
        commandTimeout: 3000,
      });
      r.on('error', () => undefined);
      clients.set(side, r);
    }
    return clients.get(side)!;
  };
  const cache = (async () => {
    let side: Side = 'primary';
    for (let seq = 1; !stopping; seq++) {
      try {
        await redis(side).rpush(APP_LIST, String(seq));
        acked.cache.push(seq);
        where.cache[side] += 1;
      } catch {
        side = otherSide(side);
      }
      await pause();
    }
    for (const r of clients.values()) r.disconnect();
  })();
  return {
    acked,
    where,
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all([database, cache]);
    },
  };
}

/** Acknowledged writes of the application missing on `side`: what the cycle lost. */
async function lostOn(
  lab: LabInfo,
  side: Side,
  ackedNow: { database: number[]; cache: number[] },
): Promise<{ database: number; cache: number }> {
  // What was acknowledged before the reads below: a write acknowledged meanwhile is not missing.
  const acked = { database: [...ackedNow.database], cache: [...ackedNow.cache] };
  const rows = await sql<{ seq: number }>(lab.postgres[side].url, `SELECT seq FROM ${APP_TABLE}`);
  const inDb = new Set(rows.map((r) => Number(r.seq)));
  const r = new Redis(lab.redis[side].url, { maxRetriesPerRequest: 0 });
  const inCache = new Set(
    (await r.lrange(APP_LIST, 0, -1).finally(() => r.disconnect())).map(Number),
  );
  return {
    database: acked.database.filter((seq) => !inDb.has(seq)).length,
    cache: acked.cache.filter((seq) => !inCache.has(seq)).length,
  };
}

describe('the Azure lab through Slack, one lab for the whole cycle', () => {
  let run: Run;
  let started: Started | undefined;
  let app: ReturnType<typeof startApplication> | undefined;

  beforeAll(async () => {
    // Readiness rounds every 3 s, so `/dr status` shows what each operation left.
    run = await startBotOnLab('azure', (s) => (started = s), { readinessIntervalMinutes: 0.05 });
    await seedData(run.lab);
    await sql(
      run.lab.postgres.primary.url,
      `CREATE TABLE ${APP_TABLE} (seq int PRIMARY KEY, side text)`,
    );
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await app?.stop();
    if (started) await stopStarted(started);
  });

  test(
    '/dr failover planned with the application writing: Traffic Manager routes to the secondary through Entra ID tokens, no acknowledged write lost',
    async () => {
      const { lab, cloud } = run;
      expect(run.config.components.dns!.provider).toBe('traffic-manager');
      expect(run.config.components.objectStorage!.provider).toBe('azure-blob');
      expect((await state(cloud)).trafficManager.served).toBe('primary');
      app = startApplication(lab);
      await until('the application to write', async () => app!.acked.database.length >= 20);

      const { ts, opId, summary } = await failoverThroughSlack(run, 'planned', 'azure drill');
      expectCompletedCard(run, ts, opId, summary);
      expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);
      expect(blocksText(cardNow(run, ts))).toContain('Traffic Manager profile');

      // The application moved to the new primary, and nothing it was told was written is gone.
      await until(
        'the application to write on the secondary',
        async () => app!.where.database.secondary >= 20 && app!.where.cache.secondary >= 20,
      );
      expect(await lostOn(lab, 'secondary', app.acked)).toEqual({ database: 0, cache: 0 });
      expect(
        (await sql(lab.postgres.secondary.url, 'SELECT item FROM orders ORDER BY id')).map(
          (r) => r.item,
        ),
      ).toEqual(['espresso', 'croissant']);
      expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');
      // Traffic Manager serves the secondary endpoint, and its DNS answers it.
      expect((await state(cloud)).trafficManager.served).toBe('secondary');
      const resolve = createResolver({ servers: [cloud.trafficManager.dnsServer] });
      const answer = await resolve(cloud.trafficManager.fqdn, 'CNAME').catch(() =>
        resolve(cloud.trafficManager.fqdn, 'A'),
      );
      expect(answer.join(' ')).toMatch(/secondary/);
    },
    TEST_TIMEOUT_MS,
  );

  test('/dr status after the failover: the failover last finished, DNS held on the secondary by Traffic Manager', async () => {
    const text = await statusUntil(run, (t) => t.includes('*DNS routing* degraded'), 'a DNS row');
    expect(text).toMatch(/\*Last finished:\* .*\* failover of lab — 🟢 Completed/);
    expect(text).toMatch(
      /• ⚠️ \*DNS routing\* degraded: DNS is switched to the secondary \(failed over\)[^\n]*app-tm\.trafficmanager\.net[^\n]*users go to the secondary/,
    );
    // Blob replication still meets its RPO: named among the green rows, not among the others.
    expect(text).not.toContain('*Object storage replication*');
    expect(text).toMatch(/• ✅ ok: [^\n]*Object storage replication/);
  });

  test(
    '/dr failback with the application still writing: Traffic Manager back on the primary, no acknowledged write of the whole cycle lost',
    async () => {
      const { lab, cloud } = run;
      const { ts, opId } = await operationThroughSlack(run, 'failback primary is back');
      expectAllStepsDone(run, ts, 'failback', opId);
      await until(
        'the application to write on the primary again',
        async () => app!.where.database.primary > 0 && app!.where.cache.primary > 0,
      );
      const before = { database: app!.where.database.primary, cache: app!.where.cache.primary };
      await until(
        'the application to write on the primary again',
        async () =>
          app!.where.database.primary >= before.database + 20 &&
          app!.where.cache.primary >= before.cache + 20,
      );
      await app!.stop();
      const { acked, where } = app!;
      app = undefined;
      // Writes landed on both sides over the cycle, and every one acknowledged is on the primary.
      expect(where.database.secondary).toBeGreaterThan(0);
      expect(where.cache.secondary).toBeGreaterThan(0);
      expect(await lostOn(lab, 'primary', acked)).toEqual({ database: 0, cache: 0 });
      const [{ in_recovery }] = (await sql(
        lab.postgres.secondary.url,
        'SELECT pg_is_in_recovery() AS in_recovery',
      )) as [{ in_recovery: boolean }];
      expect(in_recovery).toBe(true);
      expect(await redisRole(lab.redis.primary.url)).toBe('master');
      expect(await redisRole(lab.redis.secondary.url)).not.toBe('master');
      expect((await state(cloud)).trafficManager.served).toBe('primary');
    },
    TEST_TIMEOUT_MS,
  );

  test(
    '/dr drill: failover and failback as one operation; the report names Traffic Manager and Blob in its rows',
    async () => {
      const { ts, opId } = await operationThroughSlack(run, 'drill azure quarterly drill');
      expectAllStepsDone(run, ts, 'drill', opId);
      const upload = await slack.waitFor(
        (f) => f.uploads().find((u) => u.filename === `${opId}-drill-report.md` && u.channel),
        'the drill report file',
        RUN_TIMEOUT_MS,
      );
      expect(upload.threadTs).toBe(ts);
      expect(upload.content).toContain(`# Drill report ${opId} — PASSED`);
      const rows = upload.content
        .split('\n')
        .filter((l) => l.startsWith('|') || l.startsWith('- '));
      expect(rows.find((l) => /Traffic Manager|trafficmanager\.net/.test(l))).toBeDefined();
      expect(rows.find((l) => /azure-blob:\/\//.test(l))).toBeDefined();
      expect((await state(run.cloud)).trafficManager.served).toBe('primary');
    },
    TEST_TIMEOUT_MS,
  );

  test('/dr status after the drill: the drill last finished, every check ok again', async () => {
    const text = await statusUntil(
      run,
      (t) => /\*Readiness:\* 10 ok, checked/.test(t),
      'a readiness round after the drill',
    );
    expect(text).toMatch(/\*Last finished:\* .*\* drill of lab — 🟢 Completed/);
    expect(text).not.toMatch(/\*(DNS routing|Last drill|Object storage replication)\*/);
    expect(text).toMatch(
      /• ✅ ok: [^\n]*DNS routing[^\n]*Object storage replication[^\n]*Last drill/,
    );
  });

  test('/dr status while Blob replication is stalled: a Blob row naming both containers', async () => {
    const blob = (action: string) =>
      fetch(`${run.cloud.controlUrl}/blob/replication/${action}`, { method: 'POST' });
    expect((await blob('stall')).status).toBe(200);
    try {
      const text = await statusUntil(
        run,
        (t) => t.includes('*Object storage replication* degraded'),
        'the stalled Blob replication',
      );
      expect(text).toMatch(
        /• ⚠️ \*Object storage replication\* degraded: canary \S+ written to azure-blob:\/\/\w+\/lab-primary-assets has not appeared in azure-blob:\/\/\w+\/lab-secondary-assets within the RPO of 10 s/,
      );
    } finally {
      expect((await blob('resume')).status).toBe(200);
    }
    const back = await statusUntil(
      run,
      (t) => /\*Readiness:\* 10 ok, checked/.test(t),
      'Blob replication caught up',
    );
    expect(back).not.toContain('*Object storage replication*');
  });
});
