/**
 * The readiness monitor on a real lab (PostgreSQL primary + standby, Redis primary + replica):
 * stopping the Redis replica posts ONE "degraded" message into the channel however many runs see
 * it, a restarted bot does not repeat it, and bringing the replica back posts ONE "recovered".
 * Posts go through the real Slack Web API client to the fake Slack.
 */
import { applyRedisAcl } from '../../src/lab/permissions.js';
import { Redis } from 'ioredis';
import { createReadinessNotifier, createSlackClient } from '../../src/bot/index.js';
import { configSchema, type DrConfig } from '../../src/config/schema.js';
import {
  findRedisServer,
  labConfig,
  startRedis,
  stopRedis,
  type LabInfo,
} from '../../src/lab/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import {
  createReadinessChecks,
  createReadinessMonitor,
  createReadinessState,
  recordDrillAt,
  type ReadinessMonitor,
  type ReadinessState,
} from '../../src/readiness/index.js';
import { startFakeSlack, type ApiCall, type FakeSlack } from '../support/fake-slack.js';
import { silentLog, startLab, stopLabs } from '../support/lab.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

const DAY = 86_400_000;
let lab: LabInfo;
let config: DrConfig;
let providers: Providers;
let slack: FakeSlack;
let redis: Redis;
let state: ReadinessState;
const prefix = uniquePrefix('readiness-lab');

beforeAll(async () => {
  lab = await startLab();
  config = configSchema.parse({ ...labConfig(lab), readiness: { intervalMinutes: 15 } });
  providers = createProviders(config, process.env, silentLog);
  slack = await startFakeSlack();
  redis = new Redis(REDIS_URL);
  state = createReadinessState({ redis, prefix });
  await recordDrillAt(state, config.environment, Date.now() - 10 * DAY);
}, 120_000);

afterAll(async () => {
  await closeProviders(providers, silentLog);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await slack.close();
  await stopLabs();
});

/** A bot's monitor as app.ts builds it; a second call plays a restarted bot on the same Redis. */
function monitor(): ReadinessMonitor {
  const client = createSlackClient('xoxb-readiness', { SLACK_API_URL: slack.apiUrl }, silentLog);
  // The readiness state lives in the tests' shared Redis, which keeps no AOF: the lab opt-in says so.
  const { checks } = createReadinessChecks({
    config,
    providers,
    env: { ...process.env, DR_ALLOW_VOLATILE_STATE: 'yes' },
    drills: state,
  });
  return createReadinessMonitor({
    env: config.environment,
    checks,
    state,
    notify: createReadinessNotifier({
      client,
      channel: config.slack.incidentChannel,
      log: silentLog,
    }),
    intervalMs: 0,
    log: silentLog,
  });
}

const posts = (): ApiCall[] => slack.api('chat.postMessage');

test('a stopped Redis replica posts once while it is down, and once when it is back', async () => {
  const first = monitor();
  const healthy = await first.runOnce();
  expect(healthy.results.map((r) => [r.id, r.status])).toEqual([
    ['postgres', 'ok'],
    ['redis', 'ok'],
    ['drill', 'ok'],
    ['state-store', 'ok'],
  ]);
  expect(healthy.results.find((r) => r.id === 'redis')!.measured).toMatch(
    /^link up, offset gap \d/,
  );
  expect(posts()).toHaveLength(0);

  await stopRedis(lab.redis.secondary);
  for (let i = 0; i < 3; i++) {
    const report = await first.runOnce();
    expect(report.results.find((r) => r.id === 'redis')!.status).toBe('degraded');
  }
  expect(posts()).toHaveLength(1);
  const degraded = posts()[0]!;
  expect(degraded.args.channel).toBe(config.slack.incidentChannel);
  expect(String(degraded.args.text)).toMatch(
    /^Readiness degraded: Redis replication \(lab\): .*unreachable/,
  );
  // The other checks stayed quiet: none degraded. (PostgreSQL may read 'unknown' for a moment: a
  // standby that has replayed no transaction since it started has no replay time to age.)
  expect(
    (await first.lastReport())!.results.filter((r) => r.status === 'degraded').map((r) => r.id),
  ).toEqual(['redis']);

  // A restarted bot reads the alert from Redis and does not post it again.
  const restarted = monitor();
  await restarted.runOnce();
  expect(posts()).toHaveLength(1);

  const s = lab.redis.secondary;
  const restartedReplica = await startRedis({
    redisServer: findRedisServer(),
    name: s.name,
    port: s.port,
    dir: s.dir,
    replicaOf: { host: '127.0.0.1', port: lab.redis.primary.port },
  });
  // As dr lab restore does: the bot's ACL user lives in memory and left with the old server.
  await applyRedisAcl(restartedReplica.url);
  const back = await restarted.runOnce();
  expect(back.results.find((r) => r.id === 'redis')!.status).toBe('ok');
  await restarted.runOnce();
  expect(posts()).toHaveLength(2);
  expect(String(posts()[1]!.args.text)).toMatch(/^Readiness recovered: Redis replication \(lab\)/);
  const blocks = JSON.stringify(posts()[1]!.args.blocks);
  expect(blocks).toContain('is ok again after');
}, 120_000);
