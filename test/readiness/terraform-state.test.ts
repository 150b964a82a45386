/**
 * The Terraform state row through the real SDKs: the S3 backend against the lab's S3 simulator
 * (state objects seeded as `dr lab up` seeds them, overwritten with the AWS SDK as a user would
 * with `aws s3 cp`), the azurerm backend against Azurite (a leased blob is a held lock). Every
 * red case names what differs; no finding ever carries state content past the header.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { configSchema, type DrConfigInput } from '../../src/config/schema.js';
import { startS3Simulator, type S3Sim } from '../../src/lab/simulators/index.js';
import {
  LAB_STATE_BUCKETS as B,
  LAB_STATE_KEY as KEY,
  LAB_STATE_SECRET,
  labStateFile,
} from '../../src/lab/simulators/terraform-state.js';
import {
  createReadinessChecks,
  type ReadinessCheck,
  type ReadinessChecks,
} from '../../src/readiness/index.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
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
