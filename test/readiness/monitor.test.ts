/**
 * The monitor's rules with checks whose answer the test sets, the real Slack client against the
 * fake Slack and the real Redis: unknown changes nothing, a post Slack refused is tried again on
 * the next run (never lost, never doubled), and start() runs the checks without being asked.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createReadinessNotifier, createSlackClient } from '../../src/bot/index.js';
import {
  createReadinessMonitor,
  createReadinessState,
  type ReadinessCheckStatus,
  type ReadinessMonitor,
  type ReadinessState,
} from '../../src/readiness/index.js';
import { readinessTally } from '../../src/readiness/index.js';
import { createRedisStore } from '../../src/store/index.js';
import type { OperationStore } from '../../src/store/types.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

const log = pino({ level: 'silent' });
const prefix = uniquePrefix('readiness-monitor');
let redis: Redis;
let slack: FakeSlack;
let state: ReadinessState;
let ops: OperationStore;
let status: ReadinessCheckStatus = 'ok';
let env = 'm0';

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  slack = await startFakeSlack();
  state = createReadinessState({ redis, prefix });
  ops = createRedisStore({ redis, prefix });
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
    // As dr start wires it: the engine's one-active-operation lock of the environment.
    activeOperation: () => ops.activeFor(env),
    log,
    notify: createReadinessNotifier({ client, channel: 'C0MONITOR', log }),
    checks: [
      {
        id: 'redis',
        title: 'Redis replication',
        run: async () => ({
          status,
          detail: `the check says ${status}`,
          measured: null,
          target: 'link up',
        }),
      },
    ],
  });
}

/** Messages Slack accepted for this test's environment. */
const delivered = (kind: 'degraded' | 'recovered'): ApiCall[] =>
  slack
    .api('chat.postMessage')
    .filter(
      (c) =>
        c.result.ok === true &&
        String(c.args.text).startsWith(`Readiness ${kind}: Redis replication (${env})`),
    );

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
    await slack.waitFor(
      () => delivered('degraded').length > 0,
      'the degraded message from the first scheduled run',
    );
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
        run: () =>
          new Promise(
            (resolve) =>
              (release = () =>
                resolve({ status: 'degraded', detail: 'late', measured: null, target: null })),
          ),
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

test('while an operation is active, rounds are recorded (shown as held) but nothing is posted; the next round after it posts what really changed', async () => {
  const m = monitor();
  const opId = `DR-HELD-${env}`;
  const created = await ops.create({ id: opId, env, kind: 'failover', snapshot: {}, entries: [] });
  expect(created.ok).toBe(true);
  // Mid-failover the standby is being promoted: the check turns degraded, then ok, then degraded.
  for (const s of ['degraded', 'ok', 'degraded'] as const) {
    status = s;
    const report = await m.runOnce();
    expect(report.heldBy).toBe(opId);
  }
  expect(delivered('degraded')).toHaveLength(0);
  const held = await m.lastReport();
  expect(held).toMatchObject({ heldBy: opId, results: [{ id: 'redis', status: 'degraded' }] });
  expect(readinessTally(held!, held!.checkedAt)).toBe(
    `0 ok, 1 degraded, checked 0 ms ago, alerts held while ${opId} runs`,
  );

  // The operation ends with the check still degraded (the environment is failed over): one message now.
  await ops.save(opId, 1, {}, [], { final: true });
  const after = await m.runOnce();
  expect(after.heldBy).toBeUndefined();
  expect(delivered('degraded')).toHaveLength(1);
  expect((await m.lastReport())?.heldBy).toBeUndefined();
});

test('a check that was degraded before an operation and is ok after it: held during, one recovery after', async () => {
  const m = monitor();
  status = 'degraded';
  await m.runOnce();
  expect(delivered('degraded')).toHaveLength(1);
  const opId = `DR-HELD2-${env}`;
  expect(
    (await ops.create({ id: opId, env, kind: 'failback', snapshot: {}, entries: [] })).ok,
  ).toBe(true);
  status = 'ok';
  await m.runOnce();
  status = 'degraded';
  await m.runOnce();
  status = 'ok';
  await m.runOnce();
  expect(delivered('recovered')).toHaveLength(0);
  expect(delivered('degraded')).toHaveLength(1);
  await ops.save(opId, 1, {}, [], { final: true });
  await m.runOnce();
  expect(delivered('recovered')).toHaveLength(1);
  expect(delivered('degraded')).toHaveLength(1);
});
