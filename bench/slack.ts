/**
 * How fast the bot acknowledges `/dr status` under a burst while a failover runs. The bot is
 * `dr start` in its own process on a lab this starts (`labUp`: PostgreSQL and Redis pairs, the
 * cloud simulators), with the lab's config and lab.env, as a person runs it; this process plays
 * Slack: it signs the requests, and a local Web API stand-in takes the cards and answers. A
 * failover is requested and approved through Slack, and once a step of it is running, a burst
 * of signed `/dr status` commands is sent at once. The ack is the HTTP response to the command
 * (Slack allows 3 s), timed from the request's first byte to the response's headers, each on its
 * own connection, as Slack's requests arrive.
 *
 *   npm run bench:slack                          # a burst of 50
 *   npm run -s bench:slack -- --burst 100 --json  # -s: only the JSON on stdout
 *
 * The client's work (signing, 50 connections) is in this process, not in the bot's event loop.
 * Two reference figures come with it: the same burst at the bot before the failover (idle), and
 * at a bare node:http server in its own process (the floor: what this machine, its load and the
 * client cost any server), since other work on the machine weighs on every figure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ACTION_IDS, decodeButtonValue } from '../src/bot/render.js';
import { LAB_APPROVERS, LAB_CHANNEL, labDown, labUp, readLabEnv } from '../src/lab/index.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../test/support/fake-slack.js';
import {
  blockActionsBody,
  signedHeaders,
  slashCommandBody,
} from '../test/support/slack-signing.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const BURST = Number(arg('--burst') ?? 50);
const JSON_OUT = process.argv.includes('--json');
const say = (line: string): void =>
  void (JSON_OUT ? process.stderr : process.stdout).write(`${line}\n`);

const SECRET = 'bench-slack-signing-secret-0123456789';
const OPERATOR = 'U0LABOPER1';
const [APPROVER] = LAB_APPROVERS as [string, ...string[]];
const DR = join(import.meta.dirname, '..', 'bin', 'dr.js');

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** `dr start` in its own process; `port` resolves once it serves. */
function startBot(configPath: string, env: Record<string, string>) {
  const bot = spawn(process.execPath, [DR, 'start', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
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
      // Only the start line is needed: later logs are dropped.
      if (output.length > 1e5) output = output.slice(-1e4);
    });
    bot.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    bot.once('exit', (code) =>
      reject(new Error(`dr start exited with ${code} before serving:\n${output}`)),
    );
  });
  return { bot, port };
}

/** A server that answers every request with an empty 200 once its body is read, in its own process. */
function startFloorServer(): { child: ChildProcess; port: Promise<number> } {
  const code = `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end()); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`the floor server exited with ${c}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The acks of `bodies` sent all at once, each on its own connection. */
async function burst(port: number, bodies: string[]): Promise<number[]> {
  return Promise.all(
    bodies.map(async (body) => {
      const res = await post(port, body);
      if (res.status !== 200) throw new Error(`the burst was answered HTTP ${res.status}`);
      return res.ms;
    }),
  );
}

/**
 * One signed POST on a new connection; resolves with the ms from writing it to the response's
 * headers (the ack), the body read after. The body is signed beforehand: Slack's side of the
 * work is not the bot's.
 */
function post(port: number, body: string): Promise<{ status: number; ms: number }> {
  const headers = { ...signedHeaders(SECRET, body), 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      { host: '127.0.0.1', port, path: '/slack/events', method: 'POST', headers, agent: false },
      (res) => {
        const ms = performance.now() - t0;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const apiCalls = (slack: FakeSlack, from: number): ApiCall[] =>
  slack.calls.slice(from).filter((c): c is ApiCall => c.kind === 'api');

/** The card as Slack shows it now: the last postMessage/update of its ts. */
function cardNow(slack: FakeSlack, from: number, ts: string): string {
  const versions = apiCalls(slack, from).filter(
    (c) =>
      (c.method === 'chat.postMessage' && c.result.ts === ts) ||
      (c.method === 'chat.update' && c.args.ts === ts),
  );
  return JSON.stringify(versions[versions.length - 1]?.args.blocks ?? []);
}

function approveValue(blocks: string): string | undefined {
  const parsed = JSON.parse(blocks) as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>;
  return parsed
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === ACTION_IDS.approve)?.value;
}

let counter = 0;
/** A slash command's body; its answer goes to the response_url `bench-<n>` (the last `path`). */
let path = '';
function command(slack: FakeSlack, text: string, userId: string): string {
  path = `bench-${++counter}`;
  return slashCommandBody({
    text,
    userId,
    channelId: LAB_CHANNEL,
    responseUrl: slack.responseUrl(path),
  });
}

async function main(): Promise<void> {
  const loadBefore = load();
  say(`starting a lab (load average ${loadBefore})…`);
  const lab = await labUp({});
  const slack = await startFakeSlack();
  let bot: ChildProcess | undefined;
  const floor = startFloorServer();
  try {
    const started = startBot(lab.configPath, {
      ...readLabEnv(lab.envFile),
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
    });
    bot = started.bot;
    const port = await started.port;

    // A running bot is warm: a few acks first, then the single ack on its own.
    for (let i = 0; i < 20; i++) await post(port, command(slack, 'status', OPERATOR));
    const single: number[] = [];
    for (let i = 0; i < 20; i++) {
      single.push((await post(port, command(slack, 'status', OPERATOR))).ms);
      await new Promise((r) => setTimeout(r, 20));
    }

    const idle = await burst(
      port,
      Array.from({ length: BURST }, () => command(slack, 'status', OPERATOR)),
    );

    const from = slack.calls.length;
    const requested = await post(port, command(slack, 'failover planned bench', OPERATOR));
    if (requested.status !== 200) throw new Error(`the request answered HTTP ${requested.status}`);
    const card = await slack.waitFor(
      () =>
        apiCalls(slack, from).find(
          (c) =>
            c.method === 'chat.postMessage' &&
            !c.args.thread_ts &&
            !String(c.args.text).startsWith('Readiness '),
        ),
      'the status card',
      60_000,
    );
    const ts = String(card.result.ts);
    const value = await slack.waitFor(
      () => approveValue(cardNow(slack, from, ts)),
      'the Approve button',
      60_000,
    );
    const paths: string[] = [];
    const bodies = Array.from({ length: BURST }, () => {
      const body = command(slack, 'status', OPERATOR);
      paths.push(path);
      return body;
    });
    const click = blockActionsBody({
      userId: APPROVER,
      actionId: ACTION_IDS.approve,
      value,
      channelId: LAB_CHANNEL,
      responseUrl: slack.responseUrl('bench-approve'),
    });
    if ((await post(port, click)).status !== 200) throw new Error('the approval was refused');
    // The steps start as the approval is announced; the card itself is edited at most once a second.
    const reply = (prefix: string) => () =>
      apiCalls(slack, from).find(
        (c) => c.args.thread_ts === ts && String(c.args.text).startsWith(prefix),
      );
    await slack.waitFor(reply('✅ Approved by'), 'the failover to start', 60_000);

    const loadAtBurst = load();
    const acks = await burst(port, bodies);
    const duringFailover = !reply('🏁')();
    // The floor right after, on the machine as loaded as it was for the burst.
    const floorPort = await floor.port;
    await burst(floorPort, bodies.slice(0, 5));
    const floorAcks = await burst(floorPort, bodies);
    // Every command of the burst got its answer, not just its ack.
    await slack.waitFor(
      () => paths.every((p) => slack.responses(p).length > 0),
      'the answers to the burst',
      60_000,
    );
    await slack.waitFor(
      () => cardNow(slack, from, ts).includes('🟢 Completed'),
      'the failover to complete',
      120_000,
    );

    const result = {
      burst: BURST,
      duringFailover,
      opId: decodeButtonValue(value)?.opId,
      ackP50Ms: round(pct(acks, 50)),
      ackP99Ms: round(pct(acks, 99)),
      ackMaxMs: round(Math.max(...acks)),
      idleAckP50Ms: round(pct(idle, 50)),
      idleAckP99Ms: round(pct(idle, 99)),
      floorP50Ms: round(pct(floorAcks, 50)),
      floorP99Ms: round(pct(floorAcks, 99)),
      singleAckP50Ms: round(pct(single, 50)),
      loadAverage: { before: loadBefore, atBurst: loadAtBurst },
      machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
    };
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      say(
        `burst of ${BURST} /dr status ${duringFailover ? 'while a failover runs' : '(the failover finished first!)'}: ack p50 ${result.ackP50Ms} ms, p99 ${result.ackP99Ms} ms, max ${result.ackMaxMs} ms (target p99 < 50 ms; Slack allows 3000 ms)`,
      );
      say(
        `same burst, bot idle before the failover: p50 ${result.idleAckP50Ms} ms, p99 ${result.idleAckP99Ms} ms; one ack alone (p50 of 20): ${result.singleAckP50Ms} ms`,
      );
      say(
        `floor (a bare node:http server, its own process, right after): p50 ${result.floorP50Ms} ms, p99 ${result.floorP99Ms} ms`,
      );
      say(`load average ${loadAtBurst} (1/5/15 min) at the burst; machine: ${result.machine}`);
    }
  } finally {
    await stop(bot);
    await stop(floor.child);
    await slack.close();
    await labDown({ dir: lab.dir });
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

await main();
