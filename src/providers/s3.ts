/**
 * One S3 bucket as a side of the object-storage replication check, through @aws-sdk/client-s3.
 * Credentials come from the standard AWS chain (env, profile, IMDS, web identity); `endpoint`
 * with `forcePathStyle` points it at an S3-compatible server (the lab's simulator, MinIO).
 * The bot needs s3:PutObject on the primary's canary prefix and s3:GetObject on the secondary's.
 */
import { describeAwsCredentialError } from './aws-credential.js';
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { DrError, ProviderError } from '../errors.js';
import { S3_CALLS } from './s3-api-calls.js';
import {
  stampFromMetadata,
  stampMetadata,
  type ListedObject,
  type ObjectStoreSide,
} from './object-storage.js';

interface S3SideOptions {
  bucket: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const NAME = 's3';

/** `call` is the SDK command sent: an access denied names its IAM action, the grant that fixes it. */
function mapS3Error(err: unknown, where: string, doing: string, call: string): DrError {
  if (err instanceof DrError) return err;
  const credentials = describeAwsCredentialError(err);
  if (credentials)
    return new ProviderError(NAME, `${doing} ${where}: ${credentials}`, {
      code: 'forbidden',
      cause: err,
    });
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    if (err.name === 'NoSuchBucket')
      return new ProviderError(
        NAME,
        `${doing} ${where}: the bucket does not exist; check components.objectStorage bucket names and regions`,
        { code: 'not-found', cause: err },
      );
    if (status === 403 || err.name === 'AccessDenied')
      return new ProviderError(
        NAME,
        `${doing} ${where}: access denied: the bot may not ${S3_CALLS[call]} there; allow ${S3_CALLS[call]} on that bucket${call === 'ListObjectsV2Command' ? '' : ' (canary prefix)'} in its IAM policy (deploy/permissions/aws-iam-policy.json)`,
        { code: 'forbidden', cause: err },
      );
    return new ProviderError(
      NAME,
      `${doing} ${where}: ${err.name} (HTTP ${status ?? '?'}): ${err.message}`,
      { retryable: (status ?? 500) >= 500 || status === 429, cause: err },
    );
  }
  const e = err as { name?: string; code?: string; message?: string };
  return new ProviderError(
    NAME,
    `${doing} ${where}: cannot reach S3: ${e.code ?? ''} ${e.message ?? String(err)}`.replace(
      /\s+/g,
      ' ',
    ),
    { retryable: true, cause: err },
  );
}

export function createS3Side(opts: S3SideOptions): ObjectStoreSide {
  const client = new S3Client({
    region: opts.region ?? 'us-east-1',
    maxAttempts: 3,
    forcePathStyle: opts.forcePathStyle ?? false,
    // A canary is a few bytes; checksums only where S3 requires them keeps S3-compatible servers happy.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  const where = `s3://${opts.bucket}${opts.region ? ` (${opts.region})` : ''}`;
  return {
    where,
    async putCanary(key, stamp) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: opts.bucket,
            Key: key,
            Body: JSON.stringify(stamp),
            ContentType: 'application/json',
            Metadata: stampMetadata(stamp),
          }),
        );
      } catch (err) {
        throw mapS3Error(err, where, 'writing the canary to', 'PutObjectCommand');
      }
    },
    async readCanary(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: opts.bucket, Key: key }));
        return stampFromMetadata(head.Metadata);
      } catch (err) {
        // HEAD has no body: a missing key and a missing bucket both answer 404 NotFound.
        if (err instanceof S3ServiceException && err.name === 'NotFound') return null;
        throw mapS3Error(err, where, 'reading the canary from', 'HeadObjectCommand');
      }
    },
    async list(limit) {
      const objects: ListedObject[] = [];
      let token: string | undefined;
      try {
        do {
          const page = await client.send(
            new ListObjectsV2Command({
              Bucket: opts.bucket,
              MaxKeys: Math.min(1000, limit - objects.length),
              ...(token ? { ContinuationToken: token } : {}),
            }),
          );
          for (const o of page.Contents ?? [])
            if (o.Key)
              objects.push({
                key: o.Key,
                hash: o.ETag ?? null,
                lastModified: o.LastModified?.getTime() ?? 0,
              });
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token && objects.length < limit);
      } catch (err) {
        throw mapS3Error(err, where, 'listing the objects of', 'ListObjectsV2Command');
      }
      return { objects, truncated: token !== undefined };
    },
    async close() {
      client.destroy();
    },
  };
}
