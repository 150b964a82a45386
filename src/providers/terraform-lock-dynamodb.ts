/**
 * The lock of an S3-backend Terraform state kept in a DynamoDB table (`dynamodb_table`): Terraform
 * puts an item with LockID "<bucket>/<key>" and the lock's JSON in `Info` while it holds the lock,
 * and deletes it on unlock. A GetItem with a consistent read tells whether it is held and since
 * when; the bot needs dynamodb:GetItem on the table and nothing else.
 */
import { DynamoDBClient, DynamoDBServiceException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DrError, ProviderError } from '../errors.js';
import { lockInfoCreated, type StateLock } from './terraform-state.js';

interface DynamoDbLockOptions {
  table: string;
  /** The state's bucket and key: Terraform's LockID is "<bucket>/<key>". */
  bucket: string;
  key: string;
  region?: string;
  endpoint?: string;
}

function mapError(err: unknown, table: string): DrError {
  if (err instanceof DrError) return err;
  const doing = `reading the Terraform lock in DynamoDB table ${table}`;
  if (err instanceof DynamoDBServiceException) {
    const status = err.$metadata.httpStatusCode;
    if (err.name === 'ResourceNotFoundException')
      return new ProviderError(
        'terraform-state',
        `${doing}: the table does not exist; check components.terraformState lockTable and region`,
        { code: 'not-found', cause: err },
      );
    if (err.name === 'AccessDeniedException' || status === 403)
      return new ProviderError(
        'terraform-state',
        `${doing}: access denied; give the bot dynamodb:GetItem on the table`,
        { code: 'forbidden', cause: err },
      );
    return new ProviderError('terraform-state', `${doing}: ${err.name} (HTTP ${status ?? '?'})`, {
      retryable: (status ?? 500) >= 500 || err.name === 'ThrottlingException',
      cause: err,
    });
  }
  const e = err as { code?: string; message?: string };
  return new ProviderError(
    'terraform-state',
    `${doing}: cannot reach DynamoDB: ${e.code ?? ''} ${e.message ?? String(err)}`.replace(
      /\s+/g,
      ' ',
    ),
    { retryable: true, cause: err },
  );
}

export function createDynamoDbLockReader(opts: DynamoDbLockOptions): {
  read(): Promise<StateLock>;
  close(): void;
} {
  const client = new DynamoDBClient({
    region: opts.region ?? 'us-east-1',
    maxAttempts: 3,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
  });
  return {
    async read() {
      try {
        const res = await client.send(
          new GetItemCommand({
            TableName: opts.table,
            Key: { LockID: { S: `${opts.bucket}/${opts.key}` } },
            // Terraform's own lock reads are consistent: an eventual read could miss a fresh lock.
            ConsistentRead: true,
          }),
        );
        if (!res.Item) return { held: false, since: null };
        const info = res.Item.Info?.S;
        return { held: true, since: info ? lockInfoCreated(info) : null };
      } catch (err) {
        throw mapError(err, opts.table);
      }
    },
    close: () => client.destroy(),
  };
}
