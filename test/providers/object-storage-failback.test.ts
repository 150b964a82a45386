/**
 * Object storage on the failback approval card, through the real SDKs: the S3 simulator (one-way
 * replication, and both ways for the reverse canary) and Azurite. Objects written to the
 * secondary while it served are named before approval when the primary lacks them.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { configSchema, type DrConfigInput } from '../../src/config/schema.js';
import { runPreflight } from '../../src/engine/preflight.js';
import { startS3Simulator, type S3Sim } from '../../src/lab/simulators/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { silentLog } from '../support/lab.js';

let s3: S3Sim;
let client: S3Client;
let azurite: Azurite;
const open: Providers[] = [];

function providers(
  objectStorage: NonNullable<DrConfigInput['components']>['objectStorage'],
  env: NodeJS.ProcessEnv = process.env,
): Providers {
  const config = configSchema.parse({
    environment: 'fb',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'us-east-1' } },
    slack: { incidentChannel: 'C0READY' },
    approvals: { approvers: ['U0APPROVER'] },
    components: { objectStorage },
  });
  const p = createProviders(config, env, silentLog);
  open.push(p);
  return p;
}

const s3Storage = (primary: string, secondary: string, reverseReplication = false) => ({
  provider: 's3' as const,
  primary: { bucket: primary, region: 'us-east-1', endpoint: s3.url },
  secondary: { bucket: secondary, region: 'us-east-1', endpoint: s3.url },
  forcePathStyle: true,
  rpoSeconds: 2,
  reverseReplication,
});

async function card(p: Providers, kind: 'failback' | 'failover' = 'failback') {
  const report = await runPreflight(p, { kind, requestedMode: 'auto' }, Date.now);
  return report.components.find((c) => c.component === 'object-storage')!;
}

const put = (bucket: string, key: string, body: string) =>
  client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

async function settle(): Promise<void> {
  while (s3.pendingReplications() > 0) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'lab-simulator',
    AWS_SECRET_ACCESS_KEY: 'lab-simulator',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  s3 = await startS3Simulator({
    buckets: ['eu', 'us', 'eu2', 'us2'],
    replication: [
      { from: 'eu', to: 'us', delayMs: 50 },
      { from: 'eu2', to: 'us2', delayMs: 50 },
      { from: 'us2', to: 'eu2', delayMs: 50 },
    ],
  });
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true });
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((p) => closeProviders(p, silentLog)));
  client?.destroy();
  await s3?.stop();
  await azurite?.stop();
});

test('S3 without reverse replication: objects written to the secondary are named before approval', async () => {
  await put('eu', 'assets/logo.png', 'logo');
  await put('eu', 'assets/terms.txt', 'v1');
  await settle();
  const p = providers(s3Storage('eu', 'us'));
  // Replicated objects are on both sides: nothing to report.
  expect(await card(p)).toMatchObject({ status: 'ready', planFacts: { missingOnPrimary: 0 } });

  // While the secondary served: a new upload, and an edit of an existing object.
  await put('us', 'uploads/invoice-42.pdf', 'written during the failover');
  await put('us', 'assets/terms.txt', 'v2 edited in the secondary');
  const c = await card(p);
  expect(c.status).toBe('warning');
  expect(c.summary).toMatch(
    /^2 object\(s\) written to s3:\/\/us \(us-east-1\) are not on s3:\/\/eu \(us-east-1\): assets\/terms\.txt \(.*\), uploads\/invoice-42\.pdf \(/,
  );
  expect(c.details).toMatchObject({
    missingOnPrimary: ['assets/terms.txt', 'uploads/invoice-42.pdf'],
  });
  expect(c.warnings![0]).toContain('copy them to s3://eu (us-east-1) first');

  // Copied back (as an operator would with aws s3 sync): the card is clear again.
  await put('eu', 'uploads/invoice-42.pdf', 'written during the failover');
  await put('eu', 'assets/terms.txt', 'v2 edited in the secondary');
  await settle();
  expect((await card(p)).status).toBe('ready');
  // A failover shows the row without measuring anything.
  expect((await card(p, 'failover')).summary).toMatch(/^nothing to switch/);
});

test('S3 with reverse replication: a canary written to the secondary must reach the primary', async () => {
  const p = providers(s3Storage('eu2', 'us2', true));
  const ok = await card(p);
  expect(ok.status).toBe('ready');
  expect(ok.summary).toMatch(
    /^reverse replication: canary dr-bot-canary\/fb-reverse written to s3:\/\/us2 \(us-east-1\) appeared in s3:\/\/eu2 \(us-east-1\) after/,
  );
  s3.stallReplication(true);
  try {
    const stalled = await card(p);
    expect(stalled.status).toBe('warning');
    expect(stalled.warnings![0]).toMatch(/the reverse canary did not arrive within 2 s/);
  } finally {
    s3.stallReplication(false);
  }
}, 20_000);

test('Azure Blob without reverse replication: a blob only in the secondary container is named', async () => {
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const upload = async (c: string, key: string, body: string) => {
    await service.getContainerClient(c).createIfNotExists();
    await service
      .getContainerClient(c)
      .getBlockBlobClient(key)
      .upload(body, Buffer.byteLength(body));
  };
  await upload('app-eu', 'assets/logo.png', 'logo');
  await upload('app-us', 'assets/logo.png', 'logo');
  await upload('app-us', 'uploads/avatar-7.png', 'written during the failover');
  const env = { ...process.env, DR_BLOB: azurite.connectionString };
  const p = providers(
    {
      provider: 'azure-blob',
      primary: { container: 'app-eu', connectionStringEnv: 'DR_BLOB' },
      secondary: { container: 'app-us', connectionStringEnv: 'DR_BLOB' },
    },
    env,
  );
  const c = await card(p);
  expect(c.status).toBe('warning');
  expect(c.summary).toMatch(
    /^1 object\(s\) written to azure-blob:\/\/devstoreaccount1\/app-us are not on azure-blob:\/\/devstoreaccount1\/app-eu: uploads\/avatar-7\.png \(/,
  );
  await upload('app-eu', 'uploads/avatar-7.png', 'written during the failover');
  expect((await card(p)).status).toBe('ready');
}, 30_000);
