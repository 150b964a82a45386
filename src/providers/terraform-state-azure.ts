/**
 * A Terraform state copy in Azure Blob (the `azurerm` backend), through @azure/storage-blob.
 * Reads the first STATE_HEADER_BYTES of the state blob (a ranged download) and its lease: the
 * azurerm backend locks state by leasing the blob and records the lock info, base64 JSON with
 * its `Created` time, in the blob's `terraformlockid` metadata. Needs blob read only.
 */
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { DrError, ProviderError } from '../errors.js';
import {
  STATE_HEADER_BYTES,
  lockInfoCreated,
  parseStateHeader,
  type StateLock,
  type StateRead,
  type TerraformStateCopy,
} from './terraform-state.js';

type AzureStateOptions = { container: string; key: string } & (
  { connectionString: string } | { accountUrl: string }
);

const NAME = 'terraform-state';

function mapError(err: unknown, where: string, doing: string): DrError {
  if (err instanceof DrError) return err;
  if (err instanceof RestError) {
    const status = err.statusCode;
    if (err.code === 'ContainerNotFound')
      return new ProviderError(
        NAME,
        `${doing} ${where}: the container does not exist; check components.terraformState container`,
        { code: 'not-found', cause: err },
      );
    if (status === 403 || status === 401)
      return new ProviderError(
        NAME,
        `${doing} ${where}: not authorized (${err.code ?? status}); give the bot Storage Blob Data Reader on the state container, or check the connection string`,
        { code: 'forbidden', cause: err },
      );
    return new ProviderError(
      NAME,
      `${doing} ${where}: ${err.code ?? 'error'} (HTTP ${status ?? '?'})`,
      {
        retryable: status === undefined || status >= 500 || status === 429,
        cause: err,
      },
    );
  }
  return new ProviderError(
    NAME,
    `${doing} ${where}: ${err instanceof Error ? err.message : String(err)}`,
    {
      retryable: true,
      cause: err,
    },
  );
}

const blobMissing = (err: unknown): boolean =>
  err instanceof RestError &&
  (err.code === 'BlobNotFound' || (err.statusCode === 404 && err.code !== 'ContainerNotFound'));

async function readText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** The `Created` time of the azurerm lock info (base64 JSON in the blob's metadata). */
function lockCreated(meta: Record<string, string> | undefined): number | null {
  const raw = meta?.terraformlockid;
  return raw ? lockInfoCreated(Buffer.from(raw, 'base64').toString('utf8')) : null;
}

export function createAzureStateCopy(opts: AzureStateOptions): TerraformStateCopy {
  const service =
    'connectionString' in opts
      ? BlobServiceClient.fromConnectionString(opts.connectionString, {
          retryOptions: { maxTries: 3 },
        })
      : new BlobServiceClient(opts.accountUrl, new DefaultAzureCredential(), {
          retryOptions: { maxTries: 3 },
        });
  const blob = service.getContainerClient(opts.container).getBlobClient(opts.key);
  const where = `azurerm://${service.accountName}/${opts.container}/${opts.key}`;
  return {
    where,
    async read(): Promise<StateRead> {
      try {
        const res = await blob.download(0, STATE_HEADER_BYTES);
        const prefix = await readText(res.readableStreamBody);
        return {
          found: true,
          header: parseStateHeader(prefix),
          modifiedAt: res.lastModified?.getTime() ?? null,
        };
      } catch (err) {
        if (blobMissing(err)) return { found: false };
        throw mapError(err, where, 'reading the state header of');
      }
    },
    async readLock(): Promise<StateLock> {
      try {
        const props = await blob.getProperties();
        if (props.leaseState !== 'leased') return { held: false, since: null };
        return { held: true, since: lockCreated(props.metadata) };
      } catch (err) {
        if (blobMissing(err)) return { held: false, since: null };
        throw mapError(err, where, 'reading the lease of');
      }
    },
    async close() {},
  };
}
