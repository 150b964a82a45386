/**
 * One Azure Blob container as a side of the object-storage replication check, through
 * @azure/storage-blob. Authenticated either by a connection string read from the environment
 * (account keys, SAS, Azurite) or, with only an account URL, by DefaultAzureCredential (workload
 * or managed identity, CLI). The bot needs blob write on the primary container and read on the
 * secondary; Azure's object replication policy is what copies between them.
 */
import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { DrError, ProviderError } from '../errors.js';
import { AZURE_BLOB_CALLS } from './azure-blob-api-calls.js';
import { describeAzureCredentialError, isAzureCredentialError } from './azure-credential.js';
import {
  stampFromMetadata,
  stampMetadata,
  type ListedObject,
  type ObjectStoreSide,
} from './object-storage.js';

type AzureBlobSideOptions = { container: string } & (
  { connectionString: string } | { accountUrl: string; credential: TokenCredential }
);

const NAME = 'azure-blob';

/** `call` is the blob call made: a 403 names its data action, the grant that fixes it. */
function mapAzureError(err: unknown, where: string, doing: string, call?: string): DrError {
  if (err instanceof DrError) return err;
  if (isAzureCredentialError(err))
    return new ProviderError(NAME, `${doing} ${where}: ${describeAzureCredentialError(err).line}`, {
      code: 'forbidden',
      cause: err,
    });
  if (err instanceof RestError) {
    const status = err.statusCode;
    if (err.code === 'ContainerNotFound')
      return new ProviderError(
        NAME,
        `${doing} ${where}: the container does not exist; check components.objectStorage container names`,
        { code: 'not-found', cause: err },
      );
    if (status === 403 || status === 401)
      return new ProviderError(
        NAME,
        status === 403 && call
          ? `${doing} ${where}: not authorized (${err.code ?? status}): the bot may not ${AZURE_BLOB_CALLS[call]!.join(', ')} there; add it to the DataActions of the role assigned to the bot on that account (deploy/permissions/azure-custom-role.json)`
          : `${doing} ${where}: not authorized (${err.code ?? status}); give the bot Storage Blob Data Contributor on the primary container and Reader on the secondary, or check the connection string`,
        { code: 'forbidden', cause: err },
      );
    if (status === undefined)
      return new ProviderError(
        NAME,
        `${doing} ${where}: cannot reach the storage account: ${err.message}`,
        { retryable: true, cause: err },
      );
    return new ProviderError(
      NAME,
      `${doing} ${where}: ${err.code ?? 'error'} (HTTP ${status}): ${err.message.split('\n')[0]}`,
      { retryable: status >= 500 || status === 429, cause: err },
    );
  }
  return new ProviderError(
    NAME,
    `${doing} ${where}: ${err instanceof Error ? err.message : String(err)}`,
    { retryable: true, cause: err },
  );
}

export function createAzureBlobSide(opts: AzureBlobSideOptions): ObjectStoreSide {
  const service =
    'connectionString' in opts
      ? BlobServiceClient.fromConnectionString(opts.connectionString, {
          retryOptions: { maxTries: 3 },
        })
      : new BlobServiceClient(opts.accountUrl, opts.credential, {
          retryOptions: { maxTries: 3 },
        });
  const container = service.getContainerClient(opts.container);
  const where = `azure-blob://${service.accountName}/${opts.container}`;
  return {
    where,
    async putCanary(key, stamp) {
      const body = JSON.stringify(stamp);
      try {
        await container.getBlockBlobClient(key).upload(body, Buffer.byteLength(body), {
          metadata: stampMetadata(stamp),
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
      } catch (err) {
        throw mapAzureError(err, where, 'writing the canary to', 'upload');
      }
    },
    async readCanary(key) {
      try {
        const props = await container.getBlobClient(key).getProperties();
        return stampFromMetadata(props.metadata);
      } catch (err) {
        if (err instanceof RestError && err.statusCode === 404 && err.code !== 'ContainerNotFound')
          return null;
        throw mapAzureError(err, where, 'reading the canary from', 'getProperties');
      }
    },
    async list(limit) {
      const objects: ListedObject[] = [];
      try {
        for await (const b of container.listBlobsFlat()) {
          if (objects.length >= limit) return { objects, truncated: true };
          const md5 = b.properties.contentMD5;
          objects.push({
            key: b.name,
            hash: md5 ? Buffer.from(md5).toString('base64') : null,
            lastModified: b.properties.lastModified.getTime(),
          });
        }
      } catch (err) {
        throw mapAzureError(err, where, 'listing the blobs of');
      }
      return { objects, truncated: false };
    },
    async close() {
      // The pipeline keeps no pooled connections that outlive a request.
    },
  };
}
