/**
 * `dr start` as a real process: its own redis-server, the fake Slack Web API, a signed slash
 * command, /healthz, and a graceful SIGTERM. This is the start-up wiring a container runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findRedisServer,
  startRedis,
  stopRedis,
  type RedisServerInfo,
} from '../../src/lab/index.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startReplicatedState, type ReplicatedState } from '../support/sentinel.js';
import { metricValue, scrape } from '../support/metrics.js';
import { postToSlackApp, slashCommandBody } from '../support/slack-signing.js';
import { drEnv } from '../support/dr-cli.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SECRET = 'cli-start-test-signing-secret';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves after the process exited and its output was read to the end ('close', not 'exit'). */
function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (
      child.exitCode !== null &&
      child.stdout?.readableEnded !== false &&
      child.stderr?.readableEnded !== false
    )
      resolve(child.exitCode);
    else child.once('close', (code) => resolve(code));
  });
}

let dir: string;
let redis: RedisServerInfo | undefined;
let redisPort: number;
let slack: FakeSlack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dr-start-test-'));
  redisPort = await freePort();
  redis = await startRedis({
    redisServer: findRedisServer(),
    name: 'cli-start-test state',
    durable: true,
    port: redisPort,
    dir: join(dir, 'redis'),
  });
  slack = await startFakeSlack();
});

afterAll(async () => {
  await slack?.close();
  if (redis) await stopRedis(redis);
  rmSync(dir, { recursive: true, force: true });
});

const BASE_CONFIG =
  'environment: cli-test\nregions:\n  primary: { name: a }\n  secondary: { name: b }\nslack: { incidentChannel: C0INCIDENT }\napprovals: { approvers: [U0APPROVER] }\n';

function startBot(
  port: number,
  extra: { config?: string; env?: Record<string, string> } = {},
): ChildProcess {
  const config = join(dir, 'dr.config.yaml');
  writeFileSync(config, extra.config ?? BASE_CONFIG);
  return spawn(process.execPath, [join(ROOT, 'bin', 'dr.js'), 'start'], {
    cwd: dir,
    env: drEnv({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DR_CONFIG: config,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      SLACK_BOT_TOKEN: 'xoxb-cli-start-test',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...extra.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

it('says so and exits 1 when its port is taken', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, resolve));
  const { port } = taken.address() as { port: number };
  try {
    const child = startBot(port);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exited(child)).toBe(1);
    expect(stderr).toContain(
      `dr start: port ${port} is already in use: stop the other process or set PORT to a free port`,
    );
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});

/** Runs `dr start` to its exit; resolves with the exit code and stderr. */
async function startAndExit(env: Record<string, string> = {}): Promise<[number | null, string]> {
  const child = startBot(0, { env });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return [await exited(child), stderr];
}

it('exits 1 with what to fix when Slack refuses the bot token', async () => {
  slack.failMethod('auth.test', 'invalid_auth');
  try {
    const [code, stderr] = await startAndExit();
    expect(code).toBe(1);
    expect(stderr).toContain(
      "dr start: Slack refused SLACK_BOT_TOKEN (invalid_auth): set it to the app's Bot User OAuth Token",
    );
  } finally {
    slack.failMethod('auth.test', undefined);
  }
});

it('exits 1 naming the scope the manifest requests and the token lacks', async () => {
  slack.setScopes(['chat:write', 'chat:write.public', 'commands']);
  try {
    const [code, stderr] = await startAndExit();
    expect(code).toBe(1);
    expect(stderr).toContain("the Slack app's token lacks the scope files:write");
    expect(stderr).toContain('reinstall the app');
  } finally {
    slack.setScopes([
      'chat:write',
      'chat:write.public',
      'commands',
      'files:write',
      'usergroups:read',
    ]);
  }
});

it('refuses a state Redis without persistence, naming what to set, unless the lab opt-in is given', async () => {
  const volatilePort = await freePort();
  const volatile = await startRedis({
    redisServer: findRedisServer(),
    name: 'cli-start-test volatile state',
    port: volatilePort,
    dir: join(dir, 'redis-volatile'),
  });
  try {
    const env = { REDIS_URL: volatile.url };
    const refused = startBot(0, { env });
    let stderr = '';
    refused.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exited(refused)).toBe(1);
    expect(stderr).toContain(
      `dr start: the state Redis at redis://127.0.0.1:${volatilePort}: it keeps no append-only file (appendonly no)`,
    );
    expect(stderr).toContain('Set `appendonly yes` and `appendfsync always` (or `everysec`)');
    expect(stderr).toContain('DR_ALLOW_VOLATILE_STATE=yes');

    const lab = startBot(0, { env: { ...env, DR_ALLOW_VOLATILE_STATE: 'yes' } });
    let stdout = '';
    try {
      await new Promise<void>((resolve, reject) => {
        lab.stdout?.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('"msg":"dr-bot started"')) resolve();
        });
        lab.once('exit', (code) => reject(new Error(`exited with ${code}:\n${stdout}`)));
      });
      expect(stdout).toContain(
        'DR_ALLOW_VOLATILE_STATE=yes: the state Redis at redis://127.0.0.1:',
      );
    } finally {
      lab.kill('SIGTERM');
      await exited(lab);
    }
  } finally {
    await stopRedis(volatile);
  }
});

describe('a state Redis whose sentinels and master require passwords', () => {
  const sentinelPassword = 'sentinel-p@ss/word';
  const masterPassword = 'master:p@ss/word';
  let st: ReplicatedState;
  let env: Record<string, string>;

  beforeAll(async () => {
    st = await startReplicatedState(join(dir, 'sentinel-auth'), {
      sentinelPassword,
      masterPassword,
    });
    env = {
      REDIS_URL: '',
      REDIS_SENTINELS: `127.0.0.1:${st.sentinelPort}`,
      REDIS_SENTINEL_MASTER: st.masterName,
      REDIS_SENTINEL_PASSWORD: sentinelPassword,
      REDIS_SENTINEL_MASTER_PASSWORD: masterPassword,
    };
  }, 60_000);

  afterAll(async () => {
    await st?.close();
  });

  /** `dr start` with `extra` until it says it started, then `whileUp`, then SIGTERM; its stdout. */
  async function startedOutput(
    extra: Record<string, string>,
    whileUp: () => Promise<void> = async () => undefined,
  ): Promise<string> {
    const bot = startBot(0, { env: { ...env, ...extra } });
    let stdout = '';
    try {
      await new Promise<void>((resolve, reject) => {
        bot.stdout?.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('"msg":"dr-bot started"')) resolve();
        });
        bot.once('exit', (code) => reject(new Error(`exited with ${code}:\n${stdout}`)));
      });
      await whileUp();
      return stdout;
    } finally {
      bot.kill('SIGTERM');
      await exited(bot);
    }
  }

  it('names the variables when the sentinels refuse their password, and starts with the right one', async () => {
    const [code, stderr] = await startAndExit({ ...env, REDIS_SENTINEL_PASSWORD: 'wrong' });
    expect(code).toBe(1);
    expect(stderr).toContain(
      `dr start: the state Redis at redis-sentinel://127.0.0.1:${st.sentinelPort}/${st.masterName} does not answer PING`,
    );
    expect(stderr).toContain('WRONGPASS');
    expect(stderr).toContain(
      'check REDIS_SENTINELS, REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD',
    );

    const stdout = await startedOutput({});
    // It found the primary through the sentinel and saw its AOF and its replica.
    const line = stdout.split('\n').find((l) => l.includes('"msg":"state store durability"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!).stateStore).toMatch(
      /^AOF on \(appendfsync always\), 1 replica online/,
    );
    for (const secret of [sentinelPassword, masterPassword])
      for (const form of [secret, encodeURIComponent(secret), 'p@ss'])
        expect(stdout).not.toContain(form);
  }, 60_000);

  it('names the master password when the master refuses it, and writes its state with the right one', async () => {
    const [code, stderr] = await startAndExit({
      ...env,
      REDIS_SENTINEL_MASTER_PASSWORD: 'wrong-master-secret',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('WRONGPASS');
    expect(stderr).toContain(
      'check REDIS_SENTINEL_MASTER_PASSWORD and REDIS_SENTINEL_MASTER_USERNAME, and that the server is up',
    );
    for (const form of [
      'wrong-master-secret',
      sentinelPassword,
      encodeURIComponent(sentinelPassword),
    ])
      expect(stderr).not.toContain(form);

    // While it runs, its instance lease is on the password-protected primary the sentinel names.
    const stdout = await startedOutput({ LOG_LEVEL: 'debug' }, async () => {
      const primary = new Redis(await st.masterPort(), '127.0.0.1', { password: masterPassword });
      try {
        expect(await primary.get('dr:lease:cli-test')).toContain('dr start');
      } finally {
        primary.disconnect();
      }
    });
    for (const form of [masterPassword, encodeURIComponent(masterPassword), 'p@ss'])
      expect(stdout).not.toContain(form);
  }, 60_000);
});

it('serves Slack and /healthz, and stops gracefully on SIGTERM', async () => {
  const child = startBot(0);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const started = await new Promise<{ port: number }>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        for (const line of stdout.split('\n')) {
          if (line.includes('"msg":"dr-bot started"'))
            resolve(JSON.parse(line) as { port: number });
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`dr start exited with ${code} before starting:\n${stderr}\n${stdout}`)),
      );
    });
    expect(started.port).toBeGreaterThan(0);
    expect(stdout).not.toContain('xoxb-cli-start-test');

    const health = await fetch(`http://127.0.0.1:${started.port}/healthz`);
    expect(health.status).toBe(200);
    // The active instance is ready for traffic and says so to Prometheus too.
    expect((await fetch(`http://127.0.0.1:${started.port}/readyz`)).status).toBe(200);
    const metrics = await scrape(started.port);
    expect(metricValue(metrics, 'dr_instance_active', { environment: 'cli-test' })).toBe(1);
    expect(metricValue(metrics, 'process_cpu_seconds_total')).toBeGreaterThan(0);

    // /dr status goes Slack → bot → engine → state Redis and back through the response_url.
    const body = slashCommandBody({
      text: 'status',
      userId: 'U0REQUESTER',
      responseUrl: slack.responseUrl('status'),
    });
    const ack = await postToSlackApp(`http://127.0.0.1:${started.port}/slack/events`, SECRET, body);
    expect(ack.status).toBe(200);
    const answer = await slack.waitFor((f) => f.responses()[0], 'the /dr status answer');
    expect(JSON.stringify(answer.body)).toContain('no operation in progress for *cli-test*');

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(stderr).toContain('SIGTERM received, stopping');
    expect(stdout).toContain('"msg":"dr-bot stopped"');
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
});

it('with a detection section, needs the Alertmanager token, then serves the webhook and shows the signals', async () => {
  const config =
    BASE_CONFIG.replace(
      'primary: { name: a }',
      'primary: { name: a, healthUrl: "http://127.0.0.1:1/healthz" }',
    ) + 'detection: { minAlerts: 2 }\n';
  const refused = startBot(0, { config });
  let refusedErr = '';
  refused.stderr?.on('data', (d: Buffer) => (refusedErr += d.toString()));
  expect(await exited(refused)).toBe(1);
  expect(refusedErr).toContain('DR_ALERTMANAGER_TOKEN: not set; detection needs the bearer token');

  const child = startBot(0, { config, env: { DR_ALERTMANAGER_TOKEN: 'cli-am-token' } });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const started = await new Promise<{ port: number }>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        stdout += d.toString();
        for (const line of stdout.split('\n')) {
          if (line.includes('"msg":"dr-bot started"'))
            resolve(JSON.parse(line) as { port: number });
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`dr start exited with ${code} before starting:\n${stderr}\n${stdout}`)),
      );
    });
    const url = `http://127.0.0.1:${started.port}/webhooks/alertmanager`;
    const alerts = {
      version: '4',
      status: 'firing',
      receiver: 'dr-bot',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'ServiceDown', region: 'a', service: 'web' },
          annotations: {},
          startsAt: '2026-11-25T22:00:00Z',
          fingerprint: 'f00d',
        },
      ],
    };
    const post = (token: string) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
    expect((await post('wrong')).status).toBe(401);
    const res = await post('cli-am-token');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, accepted: 1, ignored: 0 });
    expect(stdout).not.toContain('cli-am-token');

    const body = slashCommandBody({
      text: 'status',
      userId: 'U0REQUESTER',
      responseUrl: slack.responseUrl('detection-status'),
    });
    expect(
      (await postToSlackApp(`http://127.0.0.1:${started.port}/slack/events`, SECRET, body)).status,
    ).toBe(200);
    const answer = await slack.waitFor(
      (f) => f.responses('detection-status')[0],
      'the /dr status answer',
    );
    expect(String(answer.body.text)).toContain(
      '*Signals:* no regional failure suspected in *a*: 1/2 alerts firing',
    );

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
});
