/**
 * The object-storage canary on Azure Blob through the real @azure/storage-blob SDK against
 * Azurite. Azurite does not emulate object replication, so the test plays it: a replicator copies
 * the canary blob (with its metadata) from the primary container to the secondary, or does not.
 * What the check measures is the same as in Azure: the canary's nonce showing up on the other side.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { createAzureBlobSide } from '../../src/providers/azure-blob.js';
import {
  createObjectStorageProvider,
  type ObjectStorageProvider,
} from '../../src/providers/object-storage.js';
import { ProviderError } from '../../src/errors.js';
import { startAzurite, type Azurite } from '../support/azurite.js';

const KEY = 'dr-bot-canary/azure';
let azurite: Azurite;
let service: BlobServiceClient;
let replicating = true;
let replicator: NodeJS.Timeout | undefined;
const open: ObjectStorageProvider[] = [];

function provider(
  opts: { primaryContainer?: string; rpoSeconds?: number } = {},
): ObjectStorageProvider {
  const p = createObjectStorageProvider({
    name: 'azure-blob',
    primary: createAzureBlobSide({
      container: opts.primaryContainer ?? 'app-primary',
      connectionString: azurite.connectionString,
    }),
    secondary: createAzureBlobSide({
      container: 'app-secondary',
      connectionString: azurite.connectionString,
    }),
    canaryKey: KEY,
    rpoSeconds: opts.rpoSeconds ?? 10,
    pollMs: 50,
  });
  open.push(p);
  return p;
}

/** Object replication, played: copy the primary's canary (body and metadata) when it changed. */
async function replicateOnce(): Promise<void> {
  const src = service.getContainerClient('app-primary').getBlobClient(KEY);
  const dst = service.getContainerClient('app-secondary').getBlockBlobClient(KEY);
  if (!(await src.exists())) return;
  const props = await src.getProperties();
  const have = (await dst.exists()) ? (await dst.getProperties()).metadata : undefined;
  if (have?.drcanary === props.metadata?.drcanary) return;
  const body = await src.downloadToBuffer();
  await dst.upload(body, body.length, { metadata: props.metadata ?? {} });
}

beforeAll(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await service.getContainerClient('app-primary').create();
  await service.getContainerClient('app-secondary').create();
  const loop = (): void => {
    replicator = setTimeout(() => {
      (replicating ? replicateOnce() : Promise.resolve()).catch(() => undefined).finally(loop);
    }, 100);
  };
  loop();
}, 30_000);
afterAll(async () => {
  clearTimeout(replicator);
  replicator = undefined;
  await Promise.all(open.map((p) => p.close()));
  await azurite?.stop();
});
afterEach(() => {
  replicating = true;
});

test('a canary copied to the secondary container within the RPO is ok', async () => {
  const r = await provider().checkReplication();
  expect(r.ok).toBe(true);
  expect(r.detail).toMatch(
    /written to azure-blob:\/\/devstoreaccount1\/app-primary appeared in azure-blob:\/\/devstoreaccount1\/app-secondary after [\d.]+ s \(RPO 10 s\)/,
  );
  const props = await service
    .getContainerClient('app-secondary')
    .getBlobClient(KEY)
    .getProperties();
  expect(props.metadata?.drcanary).toBe(r.evidence.nonce);
});

test('no copy within the RPO is not ok, and names the older canary the secondary holds', async () => {
  await provider().checkReplication();
  replicating = false;
  const r = await provider({ rpoSeconds: 1 }).checkReplication();
  expect(r.ok).toBe(false);
  expect(r.detail).toMatch(
    /has not appeared in azure-blob:\/\/devstoreaccount1\/app-secondary within the RPO of 1 s; it holds an older canary/,
  );
});

test('a missing container is a clear not-found error', async () => {
  const err = await provider({ primaryContainer: 'no-such-container' })
    .checkReplication()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code).toBe('not-found');
  expect((err as Error).message).toMatch(/no-such-container: the container does not exist/);
});
