/**
 * The object-storage canary against the S3 simulator through the real @aws-sdk/client-s3:
 * replicated within the RPO, stalled replication, a missing bucket, and the simulator's own
 * wire format (ListObjectsV2, GetObject) as the SDK reads it.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Simulator, type S3Sim } from '../../src/lab/simulators/index.js';
import {
  createObjectStorageProvider,
  type ObjectStorageProvider,
} from '../../src/providers/object-storage.js';
import { createS3Side } from '../../src/providers/s3.js';
import { ProviderError } from '../../src/errors.js';

const credentials = { accessKeyId: 'sim', secretAccessKey: 'sim' };
let sim: S3Sim;
const open: ObjectStorageProvider[] = [];

function provider(opts: { primary?: string; rpoSeconds?: number } = {}): ObjectStorageProvider {
  const side = (bucket: string, region: string) =>
    createS3Side({ bucket, region, endpoint: sim.url, forcePathStyle: true, credentials });
  const p = createObjectStorageProvider({
    name: 's3',
    primary: side(opts.primary ?? 'app-eu', 'eu-west-1'),
    secondary: side('app-us', 'us-east-1'),
    canaryKey: 'dr-bot-canary/test',
    rpoSeconds: opts.rpoSeconds ?? 5,
    pollMs: 50,
  });
  open.push(p);
  return p;
}

beforeAll(async () => {
  sim = await startS3Simulator({
    buckets: ['app-eu', 'app-us'],
    replication: [{ from: 'app-eu', to: 'app-us', delayMs: 300 }],
  });
});
afterEach(() => sim.stallReplication(false));
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
  await sim.stop();
});

test('a canary replicated within the RPO is ok, with the time it took', async () => {
  const r = await provider().checkReplication();
  expect(r.ok).toBe(true);
  expect(r.seconds).not.toBeNull();
  // The copy lands 300 ms after the write: the canary cannot have been seen before that.
  expect(r.seconds!).toBeGreaterThanOrEqual(0.3);
  expect(r.detail).toMatch(/appeared in s3:\/\/app-us \(us-east-1\) after [\d.]+ s \(RPO 5 s\)/);
  const copy = sim.object('app-us', 'dr-bot-canary/test');
  expect(copy?.metadata.drcanary).toBe(r.evidence.nonce);
  // The SDK really wrote it with the metadata as headers.
  const put = sim.requests.find(
    (q) => q.method === 'PUT' && q.path === '/app-eu/dr-bot-canary/test',
  );
  expect(put?.headers['x-amz-meta-drcanary']).toBe(r.evidence.nonce);
});

test('stalled replication is not ok after the RPO, and says what the secondary holds', async () => {
  await provider().checkReplication(); // a canary that did replicate
  sim.stallReplication(true);
  const r = await provider({ rpoSeconds: 1 }).checkReplication();
  expect(r.ok).toBe(false);
  expect(r.seconds).toBeNull();
  expect(r.detail).toMatch(
    /has not appeared in s3:\/\/app-us \(us-east-1\) within the RPO of 1 s; it holds an older canary, written [\d.]+ s ago/,
  );
  expect(sim.object('app-us', 'dr-bot-canary/test')?.metadata.drcanary).not.toBe(r.evidence.nonce);
  // Resumed, the held copy lands and the next check is ok again.
  sim.stallReplication(false);
  expect((await provider().checkReplication()).ok).toBe(true);
});

test('a missing primary bucket is a clear not-found error', async () => {
  const err = await provider({ primary: 'no-such-bucket' })
    .checkReplication()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code).toBe('not-found');
  expect((err as Error).message).toMatch(
    /s3:\/\/no-such-bucket .*the bucket does not exist; check components.objectStorage/,
  );
});

test('the simulator answers ListObjectsV2 and GetObject as S3 does', async () => {
  const client = new S3Client({
    region: 'eu-west-1',
    endpoint: sim.url,
    forcePathStyle: true,
    credentials,
  });
  try {
    await provider().checkReplication();
    const list = await client.send(
      new ListObjectsV2Command({ Bucket: 'app-us', Prefix: 'dr-bot-canary/' }),
    );
    expect(list.KeyCount).toBe(1);
    expect(list.Contents?.map((c) => c.Key)).toEqual(['dr-bot-canary/test']);
    const got = await client.send(
      new GetObjectCommand({ Bucket: 'app-us', Key: 'dr-bot-canary/test' }),
    );
    const body = JSON.parse(await got.Body!.transformToString()) as { nonce: string };
    expect(body.nonce).toBe(got.Metadata?.drcanary);
    const missing = await client
      .send(new GetObjectCommand({ Bucket: 'app-us', Key: 'nope' }))
      .catch((e: unknown) => e);
    expect((missing as Error).name).toBe('NoSuchKey');
  } finally {
    client.destroy();
  }
});
