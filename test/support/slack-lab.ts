/**
 * The Slack end-to-end harness on a real lab: `dr start` on a lab's own files in its own process,
 * driven through its Slack HTTP endpoint with signed requests while a local Web API stand-in
 * records what it posts; the application's write load; and what a person checks afterwards.
 * Shared by the end-to-end test files (one lab per file or per test).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
  LAB_APPROVERS,
  LAB_CHANNEL,
  type CloudState,
  type LabCloud,
  type LabInfo,
  type LabUpOptions,
} from '../../src/lab/index.js';
import { FAILOVER_RUNBOOK, STEP_TITLES, runbookSteps } from '../../src/machine/index.js';
import { RUNBOOKS } from '../../src/machine/runbook.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { DR, drEnv } from './dr-cli.js';
import { sql, until } from './lab.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from './fake-slack.js';
import { blockActionsBody, postToSlackApp, slashCommandBody } from './slack-signing.js';

const SECRET = 'e2e-lab-signing-secret-0123456789';
export const OPERATOR = 'U0LABOPER1'; // requests; not an approver
const [APPROVER] = LAB_APPROVERS as [string, ...string[]];
export const STEPS = runbookSteps(FAILOVER_RUNBOOK).map((id) => STEP_TITLES[id]);
/** A failover on the lab takes seconds; these only bound a hung run on a busy machine. */
export const RUN_TIMEOUT_MS = 90_000;
export const TEST_TIMEOUT_MS = 180_000;

/** This file's Slack Web API stand-in, started by useSlackLab() (a live binding). */
export let slack: FakeSlack;

export interface Run {
  lab: LabInfo;
  cloud: LabCloud;
  config: DrConfig;
  bot: ChildProcess;
  url: string;
  mark: number;
}

/** What a test started, recorded as it starts so that a failed start is still stopped. */
export interface Started {
  lab: LabInfo;
  bot?: ChildProcess;
}

export async function stopStarted(run: Started): Promise<void> {
  if (run.bot && run.bot.exitCode === null && run.bot.signalCode === null) {
    const exited = new Promise((resolve) => run.bot!.once('exit', resolve));
    run.bot.kill('SIGTERM');
    await exited;
  }
  await labDown({ dir: run.lab.dir });
}

let current: Started | undefined;

/**
 * Register this file's hooks: the fake Slack for the whole file, and after each test the lab and
 * bot a test started with startBotOnLab's default tracking.
 */
export function useSlackLab(): void {
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    await slack.close();
  });
  afterEach(async () => {
    const run = current;
    current = undefined;
    if (run) await stopStarted(run);
  });
}

/** `dr start` in its own process; `port` resolves once it serves. */
function startBot(
  configPath: string,
  env: Record<string, string>,
): { bot: ChildProcess; port: Promise<number> } {
  const bot = spawn(process.execPath, [DR, 'start', '--config', configPath], {
    env: drEnv({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
      LOG_LEVEL: 'info',
    }),
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
export async function startBotOnLab(
  which: 'aws' | 'azure' = 'aws',
  track: (started: Started) => void = (started) => (current = started),
  opts: { readinessIntervalMinutes?: number } & Omit<LabUpOptions, 'cloud'> = {},
): Promise<Run> {
  const { readinessIntervalMinutes, ...up } = opts;
  const lab = await labUp({ cloud: which, ...up });
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

export async function command(run: Run, text: string, userId: string): Promise<string> {
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

export async function click(
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

export const apiCallsSince = (run: Run): ApiCall[] =>
  slack.calls.slice(run.mark).filter((c): c is ApiCall => c.kind === 'api');

/** The card as Slack shows it now: the last postMessage/update of its ts. */
export function cardNow(run: Run, ts: string): ApiCall {
  const versions = apiCallsSince(run).filter(
    (c) =>
      (c.method === 'chat.postMessage' && c.result.ts === ts) ||
      (c.method === 'chat.update' && c.args.ts === ts),
  );
  return versions[versions.length - 1]!;
}

export const blocksText = (call: ApiCall): string => JSON.stringify(call.args.blocks);

export function buttonValue(call: ApiCall, actionId: string): string | undefined {
  const blocks = call.args.blocks as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>;
  return blocks
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === actionId)?.value;
}

const approveValue = (call: ApiCall): string | undefined => buttonValue(call, ACTION_IDS.approve);

export const threadReplies = (run: Run, ts: string): ApiCall[] =>
  apiCallsSince(run).filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts === ts);

/** Request, wait for the card's Approve button, let a second person approve, wait for the end. */
export async function failoverThroughSlack(
  run: Run,
  mode: 'planned' | 'unplanned',
  reason: string,
): Promise<{ ts: string; opId: string; approvalCard: string; summary: ApiCall }> {
  return operationThroughSlack(run, `failover ${mode} ${reason}`);
}

/** `/dr <text>` (failover, failback or drill) from request to the completed card. */
export async function operationThroughSlack(
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
  const value = await slack
    .waitFor(
      () => {
        const now = cardNow(run, ts);
        const text = blocksText(now);
        // A refusal says why on the card: fail with that at once, not after the wait.
        if (text.includes('⛔ Refused')) throw new Error(`refused before approval:\n${text}`);
        return approveValue(now);
      },
      'the Approve button',
      RUN_TIMEOUT_MS,
    )
    .catch((err: Error) => {
      throw new Error(`${err.message}\nthe card now:\n${blocksText(cardNow(run, ts))}`);
    });
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
export function expectCompletedCard(run: Run, ts: string, opId: string, summary: ApiCall): void {
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

export async function redisRole(url: string): Promise<string> {
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

export async function redisGet(url: string, key: string): Promise<string | null> {
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

export async function state(cloud: LabCloud): Promise<CloudState> {
  const s = await cloudState(cloud);
  if ('error' in s) throw new Error(`simulators: ${s.error}`);
  return s;
}

/** DNS answers the secondary, both as Route 53 reports it and as a resolver gets it. */
export async function expectDnsOnSecondary(cloud: LabCloud): Promise<CloudState> {
  const s = await state(cloud);
  expect(s.route53.servedBy).toBe('secondary');
  const resolve = createResolver({ servers: [cloud.route53.dnsServer] });
  expect(await resolve(cloud.route53.recordName, 'A')).toEqual(s.route53.answer);
  return s;
}

/** The secondary cluster runs every workload at its production count, all ready. */
export function expectProductionScale(run: Run, s: CloudState): void {
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

export async function seedData(lab: LabInfo): Promise<void> {
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

/** `/dr status` until `done` holds for its answer (readiness rounds run every few seconds). */
export async function statusUntil(run: Run, done: (text: string) => boolean, what: string) {
  let text = '';
  await until(
    `/dr status to show ${what}`,
    async () => done((text = await command(run, 'status', OPERATOR))),
    RUN_TIMEOUT_MS,
  );
  return text;
}

/** Every step of `kind`'s runbook ✅ on the card, nothing failed or left, the summary says completed. */
export function expectAllStepsDone(
  run: Run,
  ts: string,
  kind: keyof typeof RUNBOOKS,
  opId: string,
) {
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
export const APP_TABLE = 'app_writes';
const APP_LIST = 'app:writes';

/**
 * The application during the cycle: one INSERT and one RPUSH at a time, each to whichever side
 * takes it (its traffic follows the writer as users follow DNS), remembering every write a server
 * acknowledged and where. Failed writes are not acknowledged and retried on the other side.
 */
export function startApplication(
  lab: LabInfo,
  /** The login role it writes PostgreSQL with (a role fence's target); default the lab's admin. */
  opts: { postgresUser?: string } = {},
) {
  const pgUrl = (side: Side): string => {
    if (!opts.postgresUser) return lab.postgres[side].url;
    const u = new URL(lab.postgres[side].url);
    u.username = opts.postgresUser;
    u.password = '';
    return u.toString();
  };
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
            connectionString: pgUrl(side),
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
export async function lostOn(
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
