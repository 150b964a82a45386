/**
 * A Terraform state copy in S3 (the `s3` backend), through @aws-sdk/client-s3. Reads the first
 * STATE_HEADER_BYTES of the state object with a Range GET, and the lockfile Terraform writes
 * beside it with `use_lockfile = true` (<key>.tflock) with a HEAD, or the lock item in a DynamoDB
 * table (terraform-lock-dynamodb.ts). The bot needs s3:GetObject on both keys (dynamodb:GetItem
 * on the table); nothing is written.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DrError, ProviderError } from '../errors.js';
import { createDynamoDbLockReader } from './terraform-lock-dynamodb.js';
import {
  STATE_HEADER_BYTES,
  parseStateHeader,
  type StateLock,
  type StateRead,
  type TerraformStateCopy,
} from './terraform-state.js';

interface S3StateOptions {
  bucket: string;
  key: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  lock: 'lockfile' | 'dynamodb' | 'none';
  /** lock dynamodb: the table (Terraform's dynamodb_table) and an API URL override. */
  lockTable?: string;
  lockEndpoint?: string;
}

const NAME = 'terraform-state';

function mapError(err: unknown, where: string, doing: string): DrError {
  if (err instanceof DrError) return err;
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    if (err.name === 'NoSuchBucket')
      return new ProviderError(
        NAME,
        `${doing} ${where}: the bucket does not exist; check components.terraformState bucket and region`,
        { code: 'not-found', cause: err },
      );
    if (status === 403 || err.name === 'AccessDenied')
      return new ProviderError(
        NAME,
        `${doing} ${where}: access denied; give the bot s3:GetObject on the state key and its .tflock`,
        { code: 'forbidden', cause: err },
      );
    return new ProviderError(NAME, `${doing} ${where}: ${err.name} (HTTP ${status ?? '?'})`, {
      retryable: (status ?? 500) >= 500 || status === 429,
      cause: err,
    });
  }
  const e = err as { code?: string; message?: string };
  return new ProviderError(
    NAME,
    `${doing} ${where}: cannot reach S3: ${e.code ?? ''} ${e.message ?? String(err)}`.replace(
      /\s+/g,
      ' ',
    ),
    { retryable: true, cause: err },
  );
}

/** A missing key: GET answers NoSuchKey, HEAD (no body) NotFound. */
const missing = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound');

export function createS3StateCopy(opts: S3StateOptions): TerraformStateCopy {
  const client = new S3Client({
    region: opts.region ?? 'us-east-1',
    maxAttempts: 3,
    forcePathStyle: opts.forcePathStyle ?? false,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
  });
  const where = `s3://${opts.bucket}/${opts.key}${opts.region ? ` (${opts.region})` : ''}`;
  const table =
    opts.lock === 'dynamodb'
      ? createDynamoDbLockReader({
          table: opts.lockTable!,
          bucket: opts.bucket,
          key: opts.key,
          ...(opts.region ? { region: opts.region } : {}),
          ...(opts.lockEndpoint ? { endpoint: opts.lockEndpoint } : {}),
        })
      : undefined;
  return {
    where,
    async read(): Promise<StateRead> {
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket: opts.bucket,
            Key: opts.key,
            Range: `bytes=0-${STATE_HEADER_BYTES - 1}`,
          }),
        );
        const prefix = (await res.Body?.transformToString('utf8')) ?? '';
        return {
          found: true,
          header: parseStateHeader(prefix),
          modifiedAt: res.LastModified?.getTime() ?? null,
        };
      } catch (err) {
        if (missing(err)) return { found: false };
        throw mapError(err, where, 'reading the state header of');
      }
    },
    async readLock(): Promise<StateLock> {
      if (opts.lock === 'none') return { held: false, since: null };
      if (table) return table.read();
      try {
        const head = await client.send(
          new HeadObjectCommand({ Bucket: opts.bucket, Key: `${opts.key}.tflock` }),
        );
        return { held: true, since: head.LastModified?.getTime() ?? null };
      } catch (err) {
        if (missing(err)) return { held: false, since: null };
        throw mapError(err, where, 'reading the lockfile of');
      }
    },
    async close() {
      client.destroy();
      table?.close();
    },
  };
}
