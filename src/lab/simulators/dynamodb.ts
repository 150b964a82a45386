/**
 * DynamoDB simulator for Terraform's state lock table: the awsJson1_0 API (POST / with
 * X-Amz-Target: DynamoDB_20120810.<Op>) for GetItem, PutItem and DeleteItem on tables with a
 * string hash key, as the S3 backend's `dynamodb_table` uses them (LockID = "<bucket>/<key>",
 * the lock's JSON in `Info`). Rules from the DynamoDB API Reference:
 * - "GetItem": an absent item answers `{}` (no Item); `ConsistentRead` is accepted.
 * - "Common Errors": an unknown table is 400 ResourceNotFoundException; a key that is not exactly
 *   the table's key schema is 400 ValidationException; no signature is 400
 *   MissingAuthenticationTokenException; a denied action (set by `deny`) is 400
 *   AccessDeniedException naming the action, as IAM answers.
 * - "PutItem" ConditionExpression `attribute_not_exists(<hash key>)` (how Terraform takes the
 *   lock) fails with 400 ConditionalCheckFailedException when the item exists.
 */
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';

const TARGET_PREFIX = 'DynamoDB_20120810.';
const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';

type Attr = { S?: string; N?: string; BOOL?: boolean };
type Item = Record<string, Attr>;

export interface DynamoDbSim {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The table's items, by hash key value (a test reads or seeds them directly). */
  items(table: string): Map<string, Item>;
  /** Refuse an action (e.g. "dynamodb:GetItem") as IAM would, until allowed again. */
  deny(action: string, denied?: boolean): void;
  stop(): Promise<void>;
}

function awsError(status: number, type: string, message: string): SimResponse {
  return {
    status,
    body: JSON.stringify({ __type: `${ERROR_PREFIX}${type}`, message }),
    headers: { 'content-type': 'application/x-amz-json-1.0' },
  };
}

const ok = (body: unknown): SimResponse => ({
  status: 200,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/x-amz-json-1.0' },
});

interface Input {
  TableName?: string;
  Key?: Item;
  Item?: Item;
  ConditionExpression?: string;
}

interface Table {
  hashKey: string;
  items: Map<string, Item>;
}

function keyOf(hashKey: string, key: Item | undefined): string | SimResponse {
  const names = Object.keys(key ?? {});
  const value = key?.[hashKey]?.S;
  if (names.length !== 1 || value === undefined)
    return awsError(
      400,
      'ValidationException',
      'The provided key element does not match the schema',
    );
  return value;
}

function handle(tables: Map<string, Table>, op: string, input: Input): SimResponse {
  const table = tables.get(input.TableName ?? '');
  if (!table) return awsError(400, 'ResourceNotFoundException', 'Requested resource not found');
  if (op === 'PutItem') {
    const id = keyOf(table.hashKey, { [table.hashKey]: input.Item?.[table.hashKey] ?? {} });
    if (typeof id !== 'string') return id;
    if (
      input.ConditionExpression === `attribute_not_exists(${table.hashKey})` &&
      table.items.has(id)
    )
      return awsError(400, 'ConditionalCheckFailedException', 'The conditional request failed');
    table.items.set(id, input.Item!);
    return ok({});
  }
  const id = keyOf(table.hashKey, input.Key);
  if (typeof id !== 'string') return id;
  if (op === 'GetItem') {
    const item = table.items.get(id);
    return ok(item ? { Item: item } : {});
  }
  table.items.delete(id);
  return ok({});
}

export async function startDynamoDbSimulator(opts: {
  /** Table name → its hash key attribute (Terraform's lock table: "LockID"). */
  tables: Record<string, string>;
  port?: number;
}): Promise<DynamoDbSim> {
  const tables = new Map<string, Table>(
    Object.entries(opts.tables).map(([name, hashKey]) => [
      name,
      { hashKey, items: new Map<string, Item>() },
    ]),
  );
  const denied = new Set<string>();

  const http: HttpSim = await startHttpSim(
    (req) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.slice(TARGET_PREFIX.length);
      if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX))
        return awsError(
          400,
          'UnknownOperationException',
          `unknown operation ${target || '(none)'}`,
        );
      if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256'))
        return awsError(
          400,
          'MissingAuthenticationTokenException',
          'Request is missing Authentication Token',
        );
      if (!['GetItem', 'PutItem', 'DeleteItem'].includes(op))
        return awsError(400, 'UnknownOperationException', `operation ${op} is not simulated`);
      let input: Input;
      try {
        input = JSON.parse(req.body || '{}') as Input;
      } catch {
        return awsError(400, 'SerializationException', 'The request body is not valid JSON.');
      }
      if (denied.has(`dynamodb:${op}`))
        return awsError(
          400,
          'AccessDeniedException',
          `User: arn:aws:iam::000000000000:user/dr-bot is not authorized to perform: dynamodb:${op} on resource: arn:aws:dynamodb:us-east-1:000000000000:table/${input.TableName ?? ''}`,
        );
      return handle(tables, op, input);
    },
    { port: opts.port },
  );

  return {
    url: http.url,
    requests: http.requests,
    items(name) {
      const table = tables.get(name);
      if (!table) throw new Error(`no simulated table ${name}`);
      return table.items;
    },
    deny(action, on = true) {
      if (on) denied.add(action);
      else denied.delete(action);
    },
    stop: () => http.close(),
  };
}
