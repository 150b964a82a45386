/**
 * The monitor's rules with checks whose answer the test sets, the real Slack client against the
 * fake Slack and the real Redis: unknown changes nothing, a post Slack refused is tried again on
 * the next run (never lost, never doubled), and start() runs the checks without being asked.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createReadinessNotifier, createSlackClient } from '../../src/bot/index.js';
import { createReadinessMonitor, createReadinessState, type ReadinessCheckStatus, type ReadinessMonitor, type ReadinessState } from '../../src/readiness/index.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

const log = pino({ level: 'silent' });
const prefix = uniquePrefix('readiness-monitor');
let redis: Redis;
let slack: FakeSlack;
let state: ReadinessState;
let status: ReadinessCheckStatus = 'ok';
let env = 'm0';

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  state = createReadinessState({ redis, prefix });
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await slack.close();
});
beforeEach(() => {
  status = 'ok';
  env = `m${Math.random().toString(36).slice(2, 8)}`;
});

function monitor(intervalMs = 0): ReadinessMonitor {
  const client = createSlackClient('xoxb-monitor', { SLACK_API_URL: slack.apiUrl }, log);
  return createReadinessMonitor({
    env,
    state,
    intervalMs,
    log,
    notify: createReadinessNotifier({ client, channel: 'C0MONITOR', log }),
    checks: [{ id: 'redis', title: 'Redis replication', run: async () => ({ status, detail: `the check says ${status}`, measured: null, target: 'link up' }) }],
  });
}

/** Messages Slack accepted for this test's environment. */
const delivered = (kind: 'degraded' | 'recovered'): ApiCall[] =>
  slack.api('chat.postMessage').filter((c) => c.result.ok === true && String(c.args.text).startsWith(`Readiness ${kind}: Redis replication (${env})`));

test('unknown neither alerts nor clears an alert', async () => {
  const m = monitor();
  status = 'unknown';
  await m.runOnce();
  expect(delivered('degraded')).toHaveLength(0);
  status = 'degraded';
  await m.runOnce();
  status = 'unknown';
  await m.runOnce();
  status = 'degraded';
  await m.runOnce();
  expect(delivered('degraded')).toHaveLength(1);
  expect(delivered('recovered')).toHaveLength(0);
  status = 'ok';
  await m.runOnce();
  expect(delivered('recovered')).toHaveLength(1);
});

test('a post Slack refuses is sent on the next run, once', async () => {
  const m = monitor();
  status = 'degraded';
  slack.failMethod('chat.postMessage', 'channel_not_found');
  try {
    await m.runOnce();
  } finally {
    slack.failMethod('chat.postMessage', undefined);
  }
  expect(delivered('degraded')).toHaveLength(0);
  await m.runOnce();
  await m.runOnce();
  expect(delivered('degraded')).toHaveLength(1);
});

test('start() checks right away and keeps the report for /dr status', async () => {
  const m = monitor(60_000);
  status = 'degraded';
  m.start();
  try {
    await slack.waitFor(() => delivered('degraded').length > 0, 'the degraded message from the first scheduled run');
  } finally {
    await m.stop();
  }
  const report = await m.lastReport();
  expect(report?.results.map((r) => [r.id, r.status])).toEqual([['redis', 'degraded']]);
});

test('stop() does not wait for a canary stuck until its RPO, and that round posts nothing', async () => {
  let release: () => void = () => undefined;
  const client = createSlackClient('xoxb-monitor', { SLACK_API_URL: slack.apiUrl }, log);
  const m = createReadinessMonitor({
    env,
    state,
    intervalMs: 60_000,
    log,
    notify: createReadinessNotifier({ client, channel: 'C0MONITOR', log }),
    checks: [
      {
        id: 'redis',
        title: 'Redis replication',
        run: () => new Promise((resolve) => (release = () => resolve({ status: 'degraded', detail: 'late', measured: null, target: null }))),
      },
    ],
  });
  m.start();
  await m.stop();
  release();
  // The late round ends; nothing it found reaches the channel or the saved report.
  await m.runOnce().catch(() => undefined);
  expect(delivered('degraded')).toHaveLength(0);
  expect(await m.lastReport()).toBeNull();
});
