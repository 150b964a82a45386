/**
 * Readiness on the whole lab `dr lab up` starts (data tier plus the cloud simulators in their own
 * process), read through the lab's own config and env: every check is ok but the drill, which has
 * never run; stalling S3 replication through the lab's control API posts once and recovers once;
 * the Terraform state and failback object-storage cases a user can repeat on the lab.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import {
  createReadinessNotifier,
  createSlackClient,
  readinessStatusLines,
} from '../../src/bot/index.js';
import { configSchema, loadConfig, type DrConfig } from '../../src/config/index.js';
import { runPreflight } from '../../src/engine/preflight.js';
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
let config: DrConfig;
const prefix = uniquePrefix('readiness-full-lab');

beforeAll(async () => {
  lab = await startLab({ cloud: true });
  const labEnv = readLabEnv(lab.envFile);
  // The AWS SDK's credential chain reads the process environment (the lab's dummy keys).
  Object.assign(process.env, labEnv);
  const fromFile = loadConfig({ path: lab.configPath });
  // A short canary RPO keeps the stalled round quick; everything else is the lab's config as written.
  config = configSchema.parse({
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
  // The readiness state lives in the tests' shared Redis, which keeps no AOF: the lab opt-in says so.
  built = createReadinessChecks({
    config,
    providers,
    env: { ...process.env, DR_ALLOW_VOLATILE_STATE: 'yes' },
    drills: state,
  });
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
    'standby-cost': 'ok',
    'object-storage': 'ok',
    velero: 'ok',
    'terraform-state': 'ok',
    'state-store': 'ok',
    drill: 'degraded',
  });
  expect(texts()).toEqual([
    expect.stringMatching(/^Readiness degraded: Last drill \(lab\): no drill recorded for lab/),
  ]);
  // /dr status names the green rows, the Terraform state and the standby footprint among them.
  const ok = readinessStatusLines(first).find((l) => l.startsWith('• ✅ ok: '))!;
  expect(ok).toContain('Terraform state');
  expect(ok).toContain('Standby footprint');

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

test("a stale lock in the lab's DynamoDB lock table turns the Terraform row red until it is released", async () => {
  const side = config.components.terraformState!.primary;
  expect(side).toMatchObject({ lock: 'dynamodb', lockTable: 'lab-terraform-locks' });
  // What `terraform apply` leaves behind when it dies holding the lock (here 2 h ago).
  const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: side.lockEndpoint });
  const Key = { LockID: { S: `${side.bucket}/${side.key}` } };
  const created = new Date(Date.now() - 2 * 3_600_000).toISOString();
  try {
    await ddb.send(
      new PutItemCommand({
        TableName: side.lockTable,
        Item: { ...Key, Info: { S: JSON.stringify({ ID: 'lab', Created: created }) } },
      }),
    );
    const locked = (await monitor.runOnce()).results.find((r) => r.id === 'terraform-state')!;
    expect(locked.status).toBe('degraded');
    expect(locked.detail).toMatch(/the primary's state has been locked for 2 h/);
    // `terraform force-unlock` deletes the item.
    await ddb.send(new DeleteItemCommand({ TableName: side.lockTable, Key }));
    const free = (await monitor.runOnce()).results.find((r) => r.id === 'terraform-state')!;
    expect(free.status).toBe('ok');
  } finally {
    ddb.destroy();
  }
}, 60_000);

test('the secondary Terraform state overwritten with another lineage turns the row red, named in /dr status', async () => {
  const side = config.components.terraformState!.secondary;
  // What a user would do on the lab: `aws s3 cp other.tfstate s3://<bucket>/<key> --endpoint-url <url>`.
  const s3 = new S3Client({ region: 'us-east-1', endpoint: side.endpoint, forcePathStyle: true });
  const lineage = '11111111-2222-3333-4444-555555555555';
  const other = JSON.stringify({ version: 4, serial: 1, lineage, outputs: {}, resources: [] });
  try {
    await s3.send(new PutObjectCommand({ Bucket: side.bucket, Key: side.key, Body: other }));
  } finally {
    s3.destroy();
  }
  const report = await monitor.runOnce();
  const row = report.results.find((r) => r.id === 'terraform-state')!;
  expect(row.status).toBe('degraded');
  expect(row.detail).toContain(`secondary ${lineage}`);
  expect(readinessStatusLines(report).join('\n')).toMatch(
    new RegExp(`Terraform state\\* degraded: the copies differ in lineage .*secondary ${lineage}`),
  );
  expect(texts()).toContainEqual(
    expect.stringMatching(/^Readiness degraded: Terraform state \(lab\)/),
  );
}, 60_000);

test("the failback card on the lab names an object written only to the secondary's bucket", async () => {
  const storage = config.components.objectStorage!;
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: storage.secondary.endpoint,
    forcePathStyle: true,
  });
  try {
    // What users wrote to the secondary while it served (here: straight into its bucket).
    await s3.send(
      new PutObjectCommand({
        Bucket: storage.secondary.bucket,
        Key: 'uploads/during-failover.txt',
        Body: 'x',
      }),
    );
  } finally {
    s3.destroy();
  }
  const report = await runPreflight(
    providers,
    { kind: 'failback', requestedMode: 'auto' },
    Date.now,
  );
  const line = report.components.find((c) => c.component === 'object-storage')!;
  expect(line.status).toBe('warning');
  expect(line.summary).toMatch(
    /^1 object\(s\) written to s3:\/\/lab-secondary-assets \(us-east-1\) are not on s3:\/\/lab-primary-assets \(us-east-1\): uploads\/during-failover\.txt/,
  );
}, 60_000);
