/**
 * The Terraform state row through the real SDKs: the S3 backend against the lab's S3 simulator
 * (state objects seeded as `dr lab up` seeds them, overwritten with the AWS SDK as a user would
 * with `aws s3 cp`), the azurerm backend against Azurite (a leased blob is a held lock). Every
 * red case names what differs; no finding ever carries state content past the header.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { configSchema, type DrConfigInput } from '../../src/config/schema.js';
import {
  startDynamoDbSimulator,
  startS3Simulator,
  type S3Sim,
} from '../../src/lab/simulators/index.js';
import {
  LAB_STATE_BUCKETS as B,
  LAB_STATE_KEY as KEY,
  LAB_STATE_SECRET,
  labStateFile,
} from '../../src/lab/simulators/terraform-state.js';
import {
  createReadinessChecks,
  runReadinessCheck,
  type ReadinessCheck,
  type ReadinessChecks,
} from '../../src/readiness/index.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { silentLog } from '../support/lab.js';
import { REDIS_URL } from '../support/redis.js';
import { Redis } from 'ioredis';

const LINEAGE = '3f2c1b9e-0d7a-4c55-9a61-2b7f0e8d4c10';
let s3: S3Sim;
let client: S3Client;
let azurite: Azurite;
let redis: Redis;
const built: ReadinessChecks[] = [];

function base(components: NonNullable<DrConfigInput['components']>): DrConfigInput {
  return {
    environment: 'tfstate',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'us-east-1' } },
    slack: { incidentChannel: 'C0READY' },
    approvals: { approvers: ['U0APPROVER'] },
    components,
  };
}

function stateCheck(input: DrConfigInput, env: NodeJS.ProcessEnv = process.env): ReadinessCheck {
  const b = createReadinessChecks({
    config: configSchema.parse(input),
    providers: {},
    env,
    drills: { redis, prefix: 'tfstate-test' },
  });
  built.push(b);
  const c = b.checks.find((x) => x.id === 'terraform-state');
  if (!c) throw new Error(`no terraform-state check built; have ${b.checks.map((x) => x.id)}`);
  return c;
}

const s3Side = (region: 'primary' | 'secondary', key: string) => ({
  backend: 's3' as const,
  bucket: B[region],
  key,
  region: 'us-east-1',
  endpoint: s3.url,
  forcePathStyle: true,
});

async function put(bucket: string, key: string, body: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** The check over `key` in both state buckets, with what each holds (undefined: nothing). */
async function s3Case(
  key: string,
  primary: string | undefined,
  secondary: string | undefined,
  extra: { maxSerialLag?: number; staleLockMinutes?: number } = {},
): Promise<ReadinessCheck> {
  if (primary !== undefined) await put(B.primary, key, primary);
  if (secondary !== undefined) await put(B.secondary, key, secondary);
  return stateCheck(
    base({
      terraformState: {
        primary: s3Side('primary', key),
        secondary: s3Side('secondary', key),
        ...extra,
      },
    }),
  );
}

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'lab-simulator',
    AWS_SECRET_ACCESS_KEY: 'lab-simulator',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  s3 = await startS3Simulator({ buckets: [B.primary, B.secondary] });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true });
  redis = new Redis(REDIS_URL, { lazyConnect: true });
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await Promise.all(built.map((b) => b.close()));
  client?.destroy();
  redis?.disconnect();
  await s3?.stop();
  await azurite?.stop();
});

/** Nothing of the state past its header reaches a finding: not its outputs, not its resources. */
function expectNoContent(f: unknown): void {
  expect(JSON.stringify(f)).not.toContain(LAB_STATE_SECRET);
  expect(JSON.stringify(f)).not.toMatch(/db_password|aws_db_instance/);
}

test('S3: both copies of one lineage at the same serial is ok, and shows serial and age of each', async () => {
  const state = labStateFile(LINEAGE, 12);
  const f = await (await s3Case('same/terraform.tfstate', state, state)).run();
  expect(f.status).toBe('ok');
  expect(f.measured).toMatch(/^primary serial 12 \(.* old\); secondary serial 12 \(.* old\)$/);
  expect(f.detail).toContain(`both copies of lineage ${LINEAGE} in step`);
  expect(f.evidence).toMatchObject({
    primary: { lineage: LINEAGE, serial: 12, locked: false },
    secondary: { lineage: LINEAGE, serial: 12, locked: false },
  });
  expectNoContent(f);
  // Only the header was asked for: a ranged GET, never the whole file.
  const gets = s3.requests.filter(
    (r) => r.method === 'GET' && r.path.endsWith('same/terraform.tfstate'),
  );
  expect(gets.length).toBeGreaterThan(0);
  expect(gets.every((r) => r.headers.range === 'bytes=0-4095')).toBe(true);
});

test('S3: the secondary overwritten with another lineage is red and names both lineages', async () => {
  const other = '9b8a7c6d-1111-2222-3333-444455556666';
  const f = await (
    await s3Case('fork/terraform.tfstate', labStateFile(LINEAGE, 12), labStateFile(other, 12))
  ).run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toContain(`differ in lineage (primary ${LINEAGE}, secondary ${other}`);
  expectNoContent(f);
});

test('S3: a secondary behind beyond the tolerance is red with by how much; within it, ok', async () => {
  const key = 'behind/terraform.tfstate';
  const f = await (await s3Case(key, labStateFile(LINEAGE, 15), labStateFile(LINEAGE, 12))).run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toContain(
    "the secondary's serial 12 is 3 behind the primary's 15 (tolerance 0)",
  );
  const tolerant = await (await s3Case(key, undefined, undefined, { maxSerialLag: 3 })).run();
  expect(tolerant.status).toBe('ok');
});

test('S3: a missing secondary copy is red and says which', async () => {
  const f = await (
    await s3Case('lonely/terraform.tfstate', labStateFile(LINEAGE, 1), undefined)
  ).run();
  expect(f.status).toBe('degraded');
  expect(f.detail).toMatch(
    /^the secondary's state s3:\/\/lab-secondary-tfstate\/lonely\/terraform\.tfstate \(us-east-1\) is missing/,
  );
  expect(f.measured).toMatch(/; secondary missing$/);
});

test('S3: a lockfile held past staleLockMinutes is red; a fresh one is shown, not judged', async () => {
  const key = 'locked/terraform.tfstate';
  const state = labStateFile(LINEAGE, 4);
  await put(
    B.secondary,
    `${key}.tflock`,
    JSON.stringify({ ID: 'x', Operation: 'OperationTypeApply' }),
  );
  const fresh = await (await s3Case(key, state, state)).run();
  expect(fresh.status).toBe('ok');
  expect(fresh.detail).toContain("the secondary's state is locked");
  const strict = await s3Case(key, undefined, undefined, { staleLockMinutes: 0.001 });
  await new Promise((r) => setTimeout(r, 100));
  const stale = await strict.run();
  expect(stale.status).toBe('degraded');
  expect(stale.detail).toMatch(
    /the secondary's state has been locked for .*a stale lock that blocks the apply after a failover/,
  );
});

test('azurerm (Azurite): copies in step are ok; a leased blob with an old lock is red; a fork is red', async () => {
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const containers = { primary: 'tfstate-primary', secondary: 'tfstate-secondary' };
  for (const c of Object.values(containers))
    await service.getContainerClient(c).createIfNotExists();
  const upload = async (c: string, body: string) =>
    service.getContainerClient(c).getBlockBlobClient(KEY).upload(body, Buffer.byteLength(body));
  await upload(containers.primary, labStateFile(LINEAGE, 30));
  await upload(containers.secondary, labStateFile(LINEAGE, 30));
  const env = { ...process.env, DR_TFSTATE_CS: azurite.connectionString };
  const side = (r: 'primary' | 'secondary') => ({
    backend: 'azurerm' as const,
    container: containers[r],
    key: KEY,
    connectionStringEnv: 'DR_TFSTATE_CS',
  });
  const check = stateCheck(
    base({ terraformState: { primary: side('primary'), secondary: side('secondary') } }),
    env,
  );
  const ok = await check.run();
  expect(ok).toMatchObject({
    status: 'ok',
    evidence: { secondary: { serial: 30, lineage: LINEAGE } },
  });
  expectNoContent(ok);

  // The azurerm backend's lock: a lease on the state blob, its info (Created) in metadata.
  const blob = service.getContainerClient(containers.secondary).getBlobClient(KEY);
  const created = new Date(Date.now() - 3 * 3_600_000).toISOString();
  const info = Buffer.from(JSON.stringify({ ID: 'abc', Created: created })).toString('base64');
  await blob.setMetadata({ terraformlockid: info });
  const lease = blob.getBlobLeaseClient();
  await lease.acquireLease(-1);
  try {
    const locked = await check.run();
    expect(locked.status).toBe('degraded');
    expect(locked.detail).toMatch(/the secondary's state has been locked for 3 h/);
    expect(locked.evidence).toMatchObject({ secondary: { locked: true, lockedSince: created } });
  } finally {
    await lease.releaseLease();
  }
  await upload(containers.secondary, labStateFile('0000aaaa-bbbb-cccc-dddd-eeeeffff0000', 30));
  const forked = await check.run();
  expect(forked.status).toBe('degraded');
  expect(forked.detail).toContain('differ in lineage');
}, 30_000);

test('S3 with a DynamoDB lock table: no item is unlocked; an item held past staleLockMinutes is red; a denied read names the right', async () => {
  const dynamo = await startDynamoDbSimulator({ tables: { 'tf-locks': 'LockID' } });
  try {
    const key = 'dynamo/terraform.tfstate';
    const state = labStateFile(LINEAGE, 9);
    await put(B.primary, key, state);
    await put(B.secondary, key, state);
    const withTable = (table: string) =>
      stateCheck(
        base({
          terraformState: {
            primary: {
              ...s3Side('primary', key),
              lock: 'dynamodb',
              lockTable: table,
              lockEndpoint: dynamo.url,
            },
            secondary: s3Side('secondary', key),
          },
        }),
      );
    const check = withTable('tf-locks');
    const free = await check.run();
    expect(free.status).toBe('ok');
    expect(free.evidence).toMatchObject({ primary: { locked: false } });

    // What `terraform apply` puts while it runs: LockID "<bucket>/<key>", the lock info in Info,
    // with the condition Terraform uses so that a second apply cannot take it too.
    const created = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.url });
    const lockId = { LockID: { S: `${B.primary}/${key}` } };
    const take = new PutItemCommand({
      TableName: 'tf-locks',
      Item: { ...lockId, Info: { S: JSON.stringify({ ID: 'abc', Created: created }) } },
      ConditionExpression: 'attribute_not_exists(LockID)',
    });
    await ddb.send(take);
    await expect(ddb.send(take)).rejects.toThrow('The conditional request failed');
    const held = await check.run();
    expect(held.status).toBe('degraded');
    expect(held.detail).toMatch(/the primary's state has been locked for 2 h/);
    expect(held.evidence).toMatchObject({ primary: { locked: true, lockedSince: created } });
    // The read was the lock's own key, consistent, as Terraform reads it.
    const reads = dynamo.requests.filter((r) =>
      String(r.headers['x-amz-target']).endsWith('GetItem'),
    );
    const read = JSON.parse(reads.at(-1)!.body) as Record<string, unknown>;
    expect(read).toMatchObject({
      TableName: 'tf-locks',
      Key: { LockID: { S: `${B.primary}/${key}` } },
      ConsistentRead: true,
    });

    // As the monitor runs it: a check that cannot read is "unknown", with the reason.
    dynamo.deny('dynamodb:GetItem');
    const denied = await runReadinessCheck(check, silentLog);
    expect(denied.status).toBe('unknown');
    expect(denied.detail).toContain(
      'reading the Terraform lock in DynamoDB table tf-locks: access denied; give the bot dynamodb:GetItem on the table',
    );
    dynamo.deny('dynamodb:GetItem', false);

    // `terraform force-unlock` deletes the item: unlocked again.
    await ddb.send(new DeleteItemCommand({ TableName: 'tf-locks', Key: lockId }));
    expect((await check.run()).evidence).toMatchObject({ primary: { locked: false } });
    ddb.destroy();

    const missing = await runReadinessCheck(withTable('tf-lock'), silentLog);
    expect(missing.status).toBe('unknown');
    expect(missing.detail).toContain('DynamoDB table tf-lock: the table does not exist');
  } finally {
    await dynamo.stop();
  }
});

test('a DynamoDB lock is refused in config without its table, and on the azurerm backend', () => {
  const side = { backend: 's3' as const, bucket: 'b', key: 'k', lock: 'dynamodb' as const };
  const problems = (primary: Record<string, unknown>): string[] => {
    const r = configSchema.safeParse(
      base({ terraformState: { primary: primary as never, secondary: s3Side('secondary', 'k') } }),
    );
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };
  expect(problems(side)).toEqual(['lock dynamodb needs `lockTable` (Terraform: dynamodb_table)']);
  expect(problems({ ...side, lockTable: 'tf-locks' })).toEqual([]);
  expect(
    problems({
      backend: 'azurerm',
      key: 'k',
      container: 'c',
      accountUrl: 'https://a.blob.core.windows.net',
      lock: 'dynamodb',
    }),
  ).toEqual([
    'lock dynamodb (lockTable, lockEndpoint) is for backend s3; azurerm locks by a lease on the state blob, which is always read',
  ]);
});
