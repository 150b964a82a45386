/**
 * Two `dr start` processes of one environment, as a rolling deploy or a second replica makes
 * them: real processes, their own redis-server, the fake Slack Web API (each bot its own token,
 * so what each posted is told apart) and Kubernetes simulators in this process, so the world a
 * step changes outlives a SIGKILL of the bot that changed it. Only the holder of the instance
 * lease acts; the other stands by, takes over when the lease is released or expires, and
 * finishes the operation without repeating what was done. `dr console` is refused beside a bot.
 * DR_LEASE_TTL_MS (a test knob) makes the lease short.
 */
import { metricValue, scrape } from '../support/metrics.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ACTION_IDS } from '../../src/bot/render.js';
import {
  findRedisServer,
  freePorts,
  startRedis,
  stopRedis,
  type RedisServerInfo,
} from '../../src/lab/index.js';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
} from '../../src/lab/simulators/index.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { startLossyProxy } from '../support/lossy-proxy.js';
import { DR, drEnv, runDr } from '../support/dr-cli.js';
import { blockActionsBody, postToSlackApp, slashCommandBody } from '../support/slack-signing.js';

const SECRET = 'lease-test-signing-secret';
const OPERATOR = 'U0OPERATOR';
const APPROVER = 'U0APPROVER';
const TEST_TIMEOUT_MS = 120_000;

let dir: string;
let redisServer: RedisServerInfo | undefined;
let redisUrl: string;
let redis: Redis;
let slack: FakeSlack;
const children: ChildProcess[] = [];
const sims: KubernetesSim[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dr-lease-test-'));
  const [port] = await freePorts(1);
  redisServer = await startRedis({
    redisServer: findRedisServer(),
    name: 'lease-test state',
    durable: true,
    port: port!,
    dir: join(dir, 'redis'),
  });
  redisUrl = redisServer.url;
  redis = new Redis(redisUrl);
  slack = await startFakeSlack();
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  }
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await redis?.quit();
  await slack?.close();
  if (redisServer) await stopRedis(redisServer);
  rmSync(dir, { recursive: true, force: true });
});

interface LogLine {
  msg: string;
  time: string;
  level: string;
  port?: number;
  [key: string]: unknown;
}

interface Bot {
  child: ChildProcess;
  token: string;
  lines: LogLine[];
  stderr(): string;
  /** The first log line matching, once written (with when this test saw it). */
  line(
    match: (l: LogLine) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<LogLine & { seenAt: number }>;
  exited: Promise<number | null>;
}

/** The test's environment: a config with Kubernetes (two simulators) and a verification command whose runs are counted. */
async function environment(
  name: string,
  podReadyMs = 0,
): Promise<{ config: string; primary: KubernetesSim; secondary: KubernetesSim; effects: string }> {
  const workload = { kind: 'Deployment' as const, namespace: 'shop', name: 'api' };
  const primary = await startKubernetesSimulator({
    workloads: [{ ...workload, replicas: 6 }],
    token: 'tok-primary',
    contextName: 'primary',
  });
  const secondary = await startKubernetesSimulator({
    workloads: [{ ...workload, replicas: 1 }],
    podReadyMs,
    token: 'tok-secondary',
    contextName: 'secondary',
  });
  sims.push(primary, secondary);
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    kubeconfigFor([
      { name: 'primary', url: primary.url, token: primary.token },
      { name: 'secondary', url: secondary.url, token: secondary.token },
    ]),
  );
  const effects = join(dir, `${name}-verified.log`);
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    [
      `environment: ${name}`,
      'regions: { primary: { name: a }, secondary: { name: b } }',
      'slack: { incidentChannel: C0INCIDENT }',
      `approvals: { approvers: [${APPROVER}] }`,
      'components:',
      '  kubernetes:',
      `    primary: { kubeconfig: ${JSON.stringify(kubeconfig)}, context: primary }`,
      `    secondary: { kubeconfig: ${JSON.stringify(kubeconfig)}, context: secondary }`,
      '    workloads: [{ kind: Deployment, namespace: shop, name: api, productionReplicas: 6, standbyReplicas: 1 }]',
      '  verification:',
      '    secondary:',
      `      commands: [{ name: smoke, command: ${JSON.stringify(`echo verified >> '${effects}'`)} }]`,
      '',
    ].join('\n'),
  );
  return { config, primary, secondary, effects };
}

function startBot(config: string, token: string, env: Record<string, string> = {}): Bot {
  const child = spawn(process.execPath, [DR, 'start', '--config', config], {
    cwd: dir,
    env: drEnv({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: redisUrl,
      SLACK_BOT_TOKEN: token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: (LogLine & { seenAt: number })[] = [];
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    for (const text of parts) {
      if (text.startsWith('{'))
        lines.push({ ...(JSON.parse(text) as LogLine), seenAt: Date.now() });
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => resolve(code)),
  );
  void exited.then(() => {
    for (const w of waiters) w();
  });
  return {
    child,
    token,
    lines,
    stderr: () => err,
    exited,
    line: (match, what, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            done(
              new Error(
                `timed out waiting for ${what}:\n${err}\n${lines.map((l) => l.msg).join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        const check = (): void => {
          const found = lines.find(match);
          if (found) done(undefined, found);
          else if (child.exitCode !== null || child.signalCode !== null)
            done(
              new Error(
                `dr start exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${err}`,
              ),
            );
        };
        function done(e?: Error, found?: LogLine & { seenAt: number }): void {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(e);
          else resolve(found!);
        }
        waiters.add(check);
        check();
      }),
  };
}

const started = (bot: Bot) => bot.line((l) => l.msg === 'dr-bot started', 'dr-bot started');
const standingBy = (bot: Bot) =>
  bot.line((l) => l.msg.startsWith('standing by: '), 'the standby line');
const callsBy = (token: string): ApiCall[] =>
  slack.calls.filter((c): c is ApiCall => c.kind === 'api' && c.token === token);

async function command(port: number, text: string, userId: string): Promise<string> {
  const path = `cmd-${slack.calls.length}-${Math.random().toString(16).slice(2)}`;
  const res = await postToSlackApp(
    `http://127.0.0.1:${port}/slack/events`,
    SECRET,
    slashCommandBody({ text, userId, responseUrl: slack.responseUrl(path) }),
  );
  expect(res.status).toBe(200);
  const [answer] = await slack.waitFor(
    (f) => (f.responses(path).length > 0 ? f.responses(path) : null),
    `the answer to /dr ${text}`,
  );
  return String(answer!.body.text);
}

function approveValue(call: ApiCall): string | undefined {
  const blocks = (call.args.blocks ?? []) as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>;
  return blocks
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === ACTION_IDS.approve)?.value;
}

/** Request a failover from `bot` and wait for its card's Approve button. */
async function requestFailover(bot: Bot, port: number): Promise<{ opId: string; approve: string }> {
  const answer = await command(port, 'failover planned lease test', OPERATOR);
  const opId = /^(DR-\d{8}-\d{6}) requested/.exec(answer)?.[1];
  expect(opId).toBeDefined();
  const approve = await slack.waitFor(
    () =>
      callsBy(bot.token)
        .map(approveValue)
        .find((v) => v !== undefined),
    'the Approve button',
    60_000,
  );
  return { opId: opId!, approve };
}

async function click(port: number, value: string): Promise<void> {
  const res = await postToSlackApp(
    `http://127.0.0.1:${port}/slack/events`,
    SECRET,
    blockActionsBody({
      userId: APPROVER,
      actionId: ACTION_IDS.approve,
      value,
      responseUrl: slack.responseUrl(`click-${slack.calls.length}`),
    }),
  );
  expect(res.status).toBe(200);
}

const leaseOwner = async (env: string): Promise<{ pid: number; host: string } | null> => {
  const value = await redis.get(`dr:lease:${env}`);
  return value ? (JSON.parse(value) as { pid: number; host: string }) : null;
};

const scalePatches = (sim: KubernetesSim) =>
  sim.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/scale'));

async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test(
  'a second dr start while the first runs stands by (no Slack, nothing resumed or posted) and takes over at once when the first stops gracefully',
  async () => {
    const { config } = await environment('lease-handover');
    const ttl = { DR_LEASE_TTL_MS: '9000' };
    const a = startBot(config, 'xoxb-lease-a', ttl);
    const aPort = (await started(a)).port!;
    const { opId } = await requestFailover(a, aPort);
    const versionBefore = await redis.hget(`dr:op:${opId}`, 'version');

    // Two more instances, started together: B over HTTP, C in Socket Mode, where a standby
    // opens no Socket Mode session either (apps.connections.open).
    const b = startBot(config, 'xoxb-lease-b', ttl);
    const c = startBot(config, 'xoxb-lease-c', {
      ...ttl,
      SLACK_APP_TOKEN: 'xapp-lease-c',
      SLACK_SIGNING_SECRET: '',
    });
    const [waiting] = await Promise.all([standingBy(b), standingBy(c)]);
    expect(waiting.level).toBe('warn');
    expect(waiting.msg).toMatch(
      new RegExp(
        `^standing by: dr-bot on host ${hostname()} \\(pid ${a.child.pid}\\) is running environment lease-handover since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\. No Slack connection`,
      ),
    );

    // Alive for the orchestrator, closed to Slack (which retries).
    const health = await fetch(`http://127.0.0.1:${waiting.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      ok: true,
      role: 'standby',
      active: expect.stringContaining(`(pid ${a.child.pid}) is running environment lease-handover`),
    });
    const events = await postToSlackApp(
      `http://127.0.0.1:${waiting.port}/slack/events`,
      SECRET,
      slashCommandBody({
        text: 'status',
        userId: OPERATOR,
        responseUrl: slack.responseUrl('to-standby'),
      }),
    );
    expect(events.status).toBe(503);
    // Not ready, so a Service sends it nothing; scraped, it says it stands by.
    expect((await fetch(`http://127.0.0.1:${waiting.port}/readyz`)).status).toBe(503);
    const metrics = await scrape(waiting.port!);
    expect(metricValue(metrics, 'dr_instance_active', { environment: 'lease-handover' })).toBe(0);

    // Several of A's renewals and B's attempts later: B has done nothing at all.
    await new Promise((r) => setTimeout(r, 3000));
    expect(callsBy('xoxb-lease-b')).toEqual([]);
    expect(callsBy('xoxb-lease-c')).toEqual([]);
    expect(callsBy('xapp-lease-c')).toEqual([]);
    expect(slack.responses('to-standby')).toEqual([]);
    expect(await redis.hget(`dr:op:${opId}`, 'version')).toBe(versionBefore);
    expect(b.lines.map((l) => l.msg)).not.toContain('dr-bot started');
    expect((await leaseOwner('lease-handover'))?.pid).toBe(a.child.pid);

    // A standby stops on SIGTERM like the bot does, and leaves the lease alone.
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(c.stderr()).toContain(
      'dr start: SIGTERM received while standing by, stopping (the active instance keeps the environment)',
    );

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const stoppedAt = Date.now();
    expect(a.lines.map((l) => l.msg)).toContain('instance lease released');
    const tookOver = await b.line(
      (l) => l.msg.startsWith('took over the instance lease'),
      'the takeover',
    );
    // Released, not expired: A's last renewal left at least 6 s of the 9 s lease.
    expect(tookOver.seenAt - stoppedAt).toBeLessThan(4000);
    const bPort = (await started(b)).port!;
    expect((await leaseOwner('lease-handover'))?.pid).toBe(b.child.pid);
    // B resumed the operation A left awaiting approval.
    expect(await command(bPort, 'status', OPERATOR)).toContain(opId);

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(await leaseOwner('lease-handover')).toBeNull();
  },
  TEST_TIMEOUT_MS,
);

test(
  'SIGKILL of the active bot mid-step: the standby takes over within the TTL and finishes the operation, each step effect once',
  async () => {
    // Five pods at 800 ms each: the scale step waits seconds for them, long enough to be cut off.
    const { config, primary, secondary, effects } = await environment('lease-crash', 800);
    const ttl = { DR_LEASE_TTL_MS: '2000' };
    const a = startBot(config, 'xoxb-crash-a', ttl);
    const aPort = (await started(a)).port!;
    const b = startBot(config, 'xoxb-crash-b', ttl);
    await standingBy(b);

    const { opId, approve } = await requestFailover(a, aPort);
    await click(aPort, approve);
    await until('A to scale the secondary', () => scalePatches(secondary).length > 0);
    await until(
      'the first pods to come up',
      () => (secondary.workload('Deployment', 'shop', 'api')?.readyReplicas ?? 0) >= 2,
    );
    expect(secondary.workload('Deployment', 'shop', 'api')!.readyReplicas).toBeLessThan(6);
    expect(callsBy('xoxb-crash-b')).toEqual([]);

    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    const tookOver = await b.line(
      (l) => l.msg.startsWith('took over the instance lease'),
      'the takeover',
    );
    expect(tookOver.seenAt - killedAt).toBeLessThan(2000 + 1500);

    const summary = await slack.waitFor(
      () =>
        callsBy('xoxb-crash-b').find(
          (c) => c.method === 'chat.postMessage' && String(c.args.text).startsWith('🏁'),
        ),
      'the summary from B',
      60_000,
    );
    expect(String(summary.args.text)).toContain(`${opId} completed`);
    expect(await redis.hget(`dr:op:${opId}`, 'status')).toBe('finished');
    // Each effect once: one PATCH of the scale (B re-checked the cut-off step, found the count
    // set and only waited for the pods), one verification run (by B), nothing on the primary.
    expect(scalePatches(secondary)).toHaveLength(1);
    expect(secondary.workload('Deployment', 'shop', 'api')).toEqual({
      replicas: 6,
      readyReplicas: 6,
    });
    expect(scalePatches(primary)).toHaveLength(0);
    expect(readFileSync(effects, 'utf8')).toBe('verified\n');
    // A posted nothing after its death, B nothing before its takeover.
    expect(callsBy('xoxb-crash-a').length).toBeGreaterThan(0);

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  },
  TEST_TIMEOUT_MS,
);

test(
  'a lease taken by another owner: the active bot logs that it lost it and exits 1 at once',
  async () => {
    const { config, effects } = await environment('lease-stolen');
    const a = startBot(config, 'xoxb-stolen-a', { DR_LEASE_TTL_MS: '1500' });
    await started(a);
    const thief = JSON.stringify({
      id: 'thief',
      host: 'elsewhere',
      pid: 7,
      command: 'dr start',
      since: '2026-01-01T00:00:00.000Z',
    });
    await redis.set('dr:lease:lease-stolen', thief, 'PX', 30_000);
    const stolenAt = Date.now();
    expect(await a.exited).toBe(1);
    expect(Date.now() - stolenAt).toBeLessThan(3000);
    expect(a.stderr()).toContain(
      'dr start: lost the instance lease for environment lease-stolen: dr-bot on host elsewhere (pid 7) holds it now. Stopping at once: another instance may be acting on it',
    );
    const fatal = a.lines.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/^lost the instance lease for environment lease-stolen: /);
    // The thief's lease is left alone, and nothing ran.
    expect(await redis.get('dr:lease:lease-stolen')).toBe(thief);
    expect(existsSync(effects)).toBe(false);
    await redis.del('dr:lease:lease-stolen');
  },
  TEST_TIMEOUT_MS,
);

test(
  'a state Redis that stops answering: the active bot gives the lease up before it can expire, and exits 1',
  async () => {
    const { config } = await environment('lease-unreachable');
    const proxy = await startLossyProxy({ port: Number(new URL(redisUrl).port) });
    try {
      const a = startBot(config, 'xoxb-unreachable-a', {
        DR_LEASE_TTL_MS: '1500',
        REDIS_URL: proxy.url,
      });
      await started(a);
      const cutAt = Date.now();
      void proxy.outage(5000);
      expect(await a.exited).toBe(1);
      // The last renewal was at most 500 ms before the cut; the lease expires 1500 ms after it.
      expect(Date.now() - cutAt).toBeLessThan(1500 + 1000);
      expect(a.stderr()).toMatch(
        /dr start: lost the instance lease for environment lease-unreachable: no renewal succeeded for \d+ ms \(the state Redis does not answer\)/,
      );
    } finally {
      await proxy.close();
    }
  },
  TEST_TIMEOUT_MS,
);

test(
  'dr console is refused while a bot holds the environment, naming it, and runs once the bot stopped',
  async () => {
    const { config } = await environment('lease-console');
    const a = startBot(config, 'xoxb-console-a', { DR_LEASE_TTL_MS: '2000' });
    await started(a);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'silent',
    };
    const refused = await runDr(['console', '--config', config, '--as', APPROVER], {
      env,
      cwd: dir,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^dr console: dr-bot on host ${hostname()} \\(pid ${a.child.pid}\\) is running environment lease-console since \\S+Z: use Slack, or stop it first\\n$`,
      ),
    );
    expect(refused.stdout).toBe('');
    expect((await leaseOwner('lease-console'))?.pid).toBe(a.child.pid);

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const ran = await runDr(['console', '--config', config, '--as', APPROVER], { env, cwd: dir });
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('dr console — environment lease-console');
    expect(await leaseOwner('lease-console')).toBeNull();
  },
  TEST_TIMEOUT_MS,
);
