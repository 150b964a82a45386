import pino from 'pino';
import { createVerificationProvider, type RegionChecks } from '../../src/providers/verification.js';
import {
  json,
  startHealthServer,
  startHttpSim,
  type HealthServer,
  type HttpSim,
} from '../../src/lab/simulators/index.js';

const log = pino({ level: 'silent' });
let health: HealthServer;
let flaky: HttpSim;
let slow: HttpSim;
let flakyFailures = 0;

beforeAll(async () => {
  health = await startHealthServer({ region: 'secondary' });
  flaky = await startHttpSim(() =>
    flakyFailures-- > 0 ? json(503, { status: 'starting' }) : json(200, { status: 'ok' }),
  );
  slow = await startHttpSim(
    () => new Promise((resolve) => setTimeout(() => resolve(json(200, {})), 1500)),
  );
});

afterAll(async () => {
  await Promise.all([health.stop(), flaky.close(), slow.close()]);
});

function verifier(secondary: RegionChecks) {
  return createVerificationProvider({ primary: {}, secondary, retryDelayMs: 5, tailLines: 5, log });
}

const run = (secondary: RegionChecks, progress: (m: string) => void = () => {}) =>
  verifier(secondary).run({ region: 'secondary', progress });

describe('HTTP checks', () => {
  test('a healthy endpoint passes with its status, timing and body match', async () => {
    const messages: string[] = [];
    const [r] = await run(
      { http: [{ name: 'health', url: health.url, bodyMatch: '"status":"ok"' }] },
      (m) => messages.push(m),
    );
    expect(r).toMatchObject({ name: 'health', kind: 'http', ok: true });
    expect(r.detail).toMatch(/→ 200 in \d+ ms, body matches/);
    expect(messages).toEqual([expect.stringMatching(/^✓ health: /)]);
  });

  test('a status other than the expected one fails after the retries, saying what came back', async () => {
    health.setHealthy(false);
    try {
      const [r] = await run({ http: [{ name: 'health', url: health.url, retries: 1 }] });
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(/503 \(expected 200\).*\(2 attempts\)/);
    } finally {
      health.setHealthy(true);
    }
  });

  test('a body that does not match fails even with the right status', async () => {
    const [r] = await run({
      http: [{ name: 'health', url: health.url, bodyMatch: 'ready', retries: 0 }],
    });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/body does not match \/ready\/: \{"status":"ok"/);
  });

  test('a failing endpoint that recovers within the retries passes', async () => {
    flakyFailures = 2;
    const [r] = await run({ http: [{ name: 'api', url: `${flaky.url}/ready`, retries: 3 }] });
    expect(r.ok).toBe(true);
    expect(flaky.requests.length).toBeGreaterThanOrEqual(3);
  });

  test('an endpoint that does not answer in time fails with a timeout', async () => {
    const [r] = await run({
      http: [{ name: 'slow', url: slow.url, timeoutSeconds: 0.2, retries: 0 }],
    });
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('no answer within 0.2 s');
  });

  test('a region that is gone fails with the connection error', async () => {
    const gone = await startHealthServer({ region: 'primary' });
    await gone.stop();
    const [r] = await run({ http: [{ name: 'gone', url: gone.url, retries: 0 }] });
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('ECONNREFUSED');
  });
});

describe('command checks', () => {
  test('exit code and the tail of the output are the result', async () => {
    const [r] = await run({
      commands: [
        {
          name: 'smoke',
          command:
            'for i in $(seq 1 30); do echo "line $i"; done; echo "payment test failed" >&2; exit 3',
        },
      ],
    });
    expect(r).toMatchObject({ name: 'smoke', kind: 'command', ok: false });
    expect(r.detail).toMatch(/^exit 3 in /);
    expect(r.detail).toContain('payment test failed');
    expect(r.detail).toContain('line 30');
    expect(r.detail).not.toContain('line 1\n');
  });

  test('a passing command gets the region in DR_REGION', async () => {
    const [r] = await run({
      commands: [{ name: 'region', command: 'test "$DR_REGION" = secondary && echo ok' }],
    });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(/^exit 0 in .*\nok$/);
  });

  test("a command does not see the bot's Slack credentials, but keeps the rest of the environment", async () => {
    const saved = { token: process.env.SLACK_BOT_TOKEN, other: process.env.DR_TEST_VISIBLE };
    process.env.SLACK_BOT_TOKEN = 'xoxb-must-not-leak';
    process.env.DR_TEST_VISIBLE = 'visible';
    try {
      const [r] = await run({
        commands: [
          { name: 'env', command: 'echo "token=[$SLACK_BOT_TOKEN] other=[$DR_TEST_VISIBLE]"' },
        ],
      });
      expect(r.ok).toBe(true);
      expect(r.detail).toContain('token=[] other=[visible]');
    } finally {
      if (saved.token === undefined) delete process.env.SLACK_BOT_TOKEN;
      else process.env.SLACK_BOT_TOKEN = saved.token;
      if (saved.other === undefined) delete process.env.DR_TEST_VISIBLE;
      else process.env.DR_TEST_VISIBLE = saved.other;
    }
  });

  test('a command that runs too long is killed and fails', async () => {
    const [r] = await run({
      commands: [{ name: 'hang', command: 'echo started; sleep 30', timeoutSeconds: 0.3 }],
    });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^timed out after 0.3 s \(killed\)/);
    expect(r.detail).toContain('started');
  });
});

test('readiness counts the configured checks and warns when there are none', async () => {
  const v = createVerificationProvider({
    primary: {},
    secondary: {
      http: [
        { name: 'a', url: health.url },
        { name: 'b', url: health.url },
      ],
      commands: [{ name: 'c', command: 'true' }],
    },
    log,
  });
  const ready = await v.readiness('secondary');
  expect(ready).toMatchObject({
    component: 'verification',
    status: 'ready',
    summary: '2 HTTP checks and 1 command check for the secondary',
  });
  const none = await v.readiness('primary');
  expect(none.status).toBe('warning');
  expect(none.warnings?.[0]).toMatch(/no verification checks/);
});
