/**
 * Readiness on the whole lab `dr lab up` starts (data tier plus the cloud simulators in their own
 * process), read through the lab's own config and env: every check is ok but the drill, which has
 * never run; stalling S3 replication through the lab's control API posts once and recovers once.
 */
import { Redis } from 'ioredis';
import { createReadinessNotifier, createSlackClient } from '../../src/bot/index.js';
import { configSchema, loadConfig, type DrConfig } from '../../src/config/index.js';
import { labCloud, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import {
  createReadinessChecks,
  createReadinessMonitor,
  createReadinessState,
  type ReadinessChecks,
  type ReadinessMonitor,
} from '../../src/readiness/index.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { silentLog, startLab, stopLabs } from '../support/lab.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

let lab: LabInfo;
let providers: Providers;
let built: ReadinessChecks;
let monitor: ReadinessMonitor;
let slack: FakeSlack;
let redis: Redis;
const prefix = uniquePrefix('readiness-full-lab');

beforeAll(async () => {
  lab = await startLab({ cloud: true });
  const labEnv = readLabEnv(lab.envFile);
  // The AWS SDK's credential chain reads the process environment (the lab's dummy keys).
  Object.assign(process.env, labEnv);
  const fromFile = loadConfig({ path: lab.configPath });
  // A short canary RPO keeps the stalled round quick; everything else is the lab's config as written.
  const config: DrConfig = configSchema.parse({
    ...fromFile,
    components: {
      ...fromFile.components,
      objectStorage: { ...fromFile.components.objectStorage!, rpoSeconds: 2 },
    },
  });
  providers = createProviders(config, process.env, silentLog);
  slack = await startFakeSlack();
  redis = new Redis(REDIS_URL);
  const state = createReadinessState({ redis, prefix });
  built = createReadinessChecks({ config, providers, env: process.env, drills: state });
  const client = createSlackClient('xoxb-lab', { SLACK_API_URL: slack.apiUrl }, silentLog);
  monitor = createReadinessMonitor({
    env: config.environment,
    checks: built.checks,
    state,
    notify: createReadinessNotifier({
      client,
      channel: config.slack.incidentChannel,
      log: silentLog,
    }),
    intervalMs: 0,
    log: silentLog,
  });
}, 180_000);

afterAll(async () => {
  await built?.close();
  if (providers) await closeProviders(providers, silentLog);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await slack.close();
  await stopLabs();
});

const texts = (): string[] => slack.api('chat.postMessage').map((c) => String(c.args.text));

async function s3Replication(action: 'stall' | 'resume'): Promise<void> {
  const res = await fetch(`${labCloud(lab)!.controlUrl}/s3/replication/${action}`, {
    method: 'POST',
  });
  expect(res.status).toBe(200);
}

test('a fresh lab is ready except for the drill; stalled S3 replication posts once, then recovers once', async () => {
  const first = await monitor.runOnce();
  expect(Object.fromEntries(first.results.map((r) => [r.id, r.status]))).toEqual({
    postgres: 'ok',
    redis: 'ok',
    dns: 'ok',
    'standby-workloads': 'ok',
    'object-storage': 'ok',
    velero: 'ok',
    drill: 'degraded',
  });
  expect(texts()).toEqual([
    expect.stringMatching(/^Readiness degraded: Last drill \(lab\): no drill recorded for lab/),
  ]);

  await s3Replication('stall');
  try {
    await monitor.runOnce();
    await monitor.runOnce();
  } finally {
    await s3Replication('resume');
  }
  expect(
    texts().filter((t) => t.startsWith('Readiness degraded: Object storage replication (lab)')),
  ).toHaveLength(1);
  const back = await monitor.runOnce();
  expect(back.results.find((r) => r.id === 'object-storage')!.status).toBe('ok');
  expect(
    texts().filter((t) => t.startsWith('Readiness recovered: Object storage replication (lab)')),
  ).toHaveLength(1);
  expect(texts()).toHaveLength(3);
}, 120_000);
