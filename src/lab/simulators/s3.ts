/**
 * Amazon S3 simulator speaking the REST wire format the AWS SDK uses with path-style addressing
 * (`forcePathStyle: true`): PutObject, GetObject (with a byte Range), HeadObject and ListObjectsV2,
 * with user metadata (x-amz-meta-*), ETags and S3's XML errors (NoSuchBucket, NoSuchKey).
 *
 * Cross-region replication is played by `replication` rules: an object written to `from` is
 * copied to `to` after `delayMs`, the way S3 replication lands a copy some time after the write.
 * `stallReplication()` holds every copy back (a broken replication role, a paused rule) until it
 * is resumed. Signatures are not checked; any credentials the SDK signs with are accepted, but
 * the region they are scoped to must be the bucket's, as S3 answers (S3 API Reference, "Error
 * responses": AuthorizationHeaderMalformed, "the region 'x' is wrong; expecting 'y'").
 */
import { createHash, randomBytes } from 'node:crypto';
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import { escapeXml } from './xml.js';

interface S3ReplicationRule {
  from: string;
  to: string;
  /** Time from a write to its copy appearing in `to` (default 0: on the next tick). */
  delayMs?: number;
}

/** An object present from the start (as if written and replicated before the lab came up). */
interface S3SeedObject {
  bucket: string;
  key: string;
  body: string;
  contentType?: string;
}

interface S3SimOptions {
  port?: number;
  buckets: string[];
  replication?: S3ReplicationRule[];
  objects?: S3SeedObject[];
  /** A bucket's region: a request signed for another region is refused (unlisted: not checked). */
  regions?: Record<string, string>;
}

interface StoredObject {
  body: Buffer;
  etag: string;
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
}

export interface S3Sim {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Hold back (true) or let through again (false) every replication copy; held copies land after their delay on resume. */
  stallReplication(stalled?: boolean): void;
  /** The stored object, for tests to look at directly. */
  object(
    bucket: string,
    key: string,
  ): { body: string; metadata: Record<string, string>; lastModified: Date } | undefined;
  /** Deny an IAM action (every bucket) until deny(action, false): 403 AccessDenied, as IAM answers. */
  deny(action: S3Action, denied?: boolean): void;
  /** Copies written or waiting; a test waits for 0 before asserting on the replica. */
  pendingReplications(): number;
  stop(): Promise<void>;
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The IAM actions the simulator can deny: the ones the canary's calls need. */
type S3Action = 's3:PutObject' | 's3:GetObject' | 's3:ListBucket';

function s3Error(
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
  head = false,
): SimResponse {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const fields = Object.entries({ Code: code, Message: message, ...extra, RequestId: requestId })
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  // HEAD answers carry no body; the SDK maps the status code (404 → NotFound).
  return {
    status,
    body: head ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}</Error>`,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
  };
}

/** The buckets and the replication in flight, shared by the request handlers and the handle. */
interface S3State {
  readonly buckets: Map<string, Map<string, StoredObject>>;
  readonly rules: S3ReplicationRule[];
  stalled: boolean;
  /** Copies on their way, each a timer that writes it. */
  readonly timers: Set<NodeJS.Timeout>;
  /** Copies held back while replication is stalled. */
  readonly held: { rule: S3ReplicationRule; key: string; obj: StoredObject }[];
  readonly regions: Record<string, string>;
  readonly denied: Set<S3Action>;
}

export async function startS3Simulator(opts: S3SimOptions): Promise<S3Sim> {
  const buckets = new Map<string, Map<string, StoredObject>>(
    opts.buckets.map((b) => [b, new Map()]),
  );
  const rules = opts.replication ?? [];
  for (const r of rules) {
    for (const b of [r.from, r.to])
      if (!buckets.has(b))
        throw new Error(`S3 simulator: replication names bucket "${b}", which is not in buckets`);
  }
  for (const o of opts.objects ?? []) {
    const objects = buckets.get(o.bucket);
    if (!objects)
      throw new Error(
        `S3 simulator: object ${o.key} names bucket "${o.bucket}", which is not in buckets`,
      );
    objects.set(
      o.key,
      storedObject(Buffer.from(o.body, 'utf8'), o.contentType ?? 'application/json', {}),
    );
  }
  const s: S3State = {
    buckets,
    rules,
    stalled: false,
    timers: new Set(),
    held: [],
    regions: opts.regions ?? {},
    denied: new Set(),
  };
  const http: HttpSim = await startHttpSim((req) => handleS3Request(s, req), {
    port: opts.port,
  });
  return {
    url: http.url,
    requests: http.requests,
    stallReplication: (stall = true) => stallReplication(s, stall),
    deny(action, on = true) {
      if (on) s.denied.add(action);
      else s.denied.delete(action);
    },
    object(bucket, key) {
      const o = buckets.get(bucket)?.get(key);
      return o
        ? {
            body: o.body.toString('utf8'),
            metadata: { ...o.metadata },
            lastModified: o.lastModified,
          }
        : undefined;
    },
    pendingReplications: () => s.timers.size + s.held.length,
    async stop() {
      for (const t of s.timers) clearTimeout(t);
      s.timers.clear();
      await http.close();
    },
  };
}

function stallReplication(s: S3State, stall: boolean): void {
  s.stalled = stall;
  if (!stall) for (const h of s.held.splice(0)) copyLater(s, h.rule, h.key, h.obj);
}

function copyLater(s: S3State, rule: S3ReplicationRule, key: string, obj: StoredObject): void {
  const timer = setTimeout(() => {
    s.timers.delete(timer);
    // A copy keeps its source's metadata and ETag, as S3 replication does.
    s.buckets.get(rule.to)!.set(key, { ...obj, lastModified: new Date() });
  }, rule.delayMs ?? 0);
  s.timers.add(timer);
}

function replicate(s: S3State, bucket: string, key: string, obj: StoredObject): void {
  for (const rule of s.rules) {
    if (rule.from !== bucket) continue;
    if (s.stalled) s.held.push({ rule, key, obj });
    else copyLater(s, rule, key, obj);
  }
}

function objectHeaders(obj: StoredObject): Record<string, string> {
  return {
    etag: obj.etag,
    'last-modified': obj.lastModified.toUTCString(),
    'content-length': String(obj.body.length),
    'content-type': obj.contentType,
    ...Object.fromEntries(Object.entries(obj.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
  };
}

/** A request's bucket (known to exist) and key, split from its path-style URL. */
interface ObjectRequest {
  req: RecordedRequest;
  bucket: string;
  key: string;
  objects: Map<string, StoredObject>;
  head: boolean;
}

/** What each method does to an object; others are refused. */
const OBJECT_HANDLERS = new Map<string, (s: S3State, r: ObjectRequest) => SimResponse>([
  ['PUT', putObject],
  ['GET', getObject],
  ['HEAD', getObject],
]);

function handleS3Request(s: S3State, req: RecordedRequest): SimResponse {
  const head = req.method === 'HEAD';
  const [, bucket = '', ...rest] = req.path.split('/');
  const key = rest.join('/');
  const objects = s.buckets.get(bucket);
  const denied = accessDenied(s, req, bucket, key);
  if (denied) return denied;
  if (!bucket)
    return s3Error(
      400,
      'InvalidRequest',
      'the simulator serves path-style requests only (forcePathStyle: true)',
      {},
      head,
    );
  if (!objects)
    return s3Error(
      404,
      'NoSuchBucket',
      'The specified bucket does not exist',
      { BucketName: bucket },
      head,
    );
  const region = s.regions[bucket];
  const signed = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(
    String(req.headers.authorization),
  )?.[1];
  if (region && signed && signed !== region)
    return s3Error(
      400,
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${signed}' is wrong; expecting '${region}'`,
      { Region: region },
      head,
    );
  const r: ObjectRequest = { req, bucket, key, objects, head };
  if (!key) return bucketRequest(r);
  const handler = OBJECT_HANDLERS.get(req.method);
  if (handler) return handler(s, r);
  return s3Error(
    405,
    'MethodNotAllowed',
    `${req.method} is not allowed against this resource by the simulator`,
  );
}

/**
 * IAM decides before S3 looks anything up ("Troubleshoot access denied (403 Forbidden) errors in
 * Amazon S3"): 403 AccessDenied, the message naming the principal, action and resource. HeadObject
 * is authorized by s3:GetObject; a HEAD answer has no body.
 */
function accessDenied(
  s: S3State,
  req: RecordedRequest,
  bucket: string,
  key: string,
): SimResponse | null {
  const action: S3Action = !key
    ? 's3:ListBucket'
    : req.method === 'PUT'
      ? 's3:PutObject'
      : 's3:GetObject';
  if (!s.denied.has(action)) return null;
  return s3Error(
    403,
    'AccessDenied',
    `User: arn:aws:iam::123456789012:user/dr-bot is not authorized to perform: ${action} on resource: "arn:aws:s3:::${bucket}${key ? `/${key}` : ''}" because no identity-based policy allows the ${action} action`,
    {},
    req.method === 'HEAD',
  );
}

function bucketRequest({ req, bucket, objects, head }: ObjectRequest): SimResponse {
  if (req.method === 'GET' && req.query['list-type'] === '2')
    return listObjects(bucket, objects, req.query);
  return s3Error(
    501,
    'NotImplemented',
    `${req.method} on a bucket is not implemented by the simulator (only ListObjectsV2)`,
    {},
    head,
  );
}

function putObject(s: S3State, { req, bucket, key, objects }: ObjectRequest): SimResponse {
  if (req.headers['x-amz-copy-source'])
    return s3Error(501, 'NotImplemented', 'CopyObject is not implemented by the simulator');
  const body = Buffer.from(req.body, 'utf8');
  const metadata: Record<string, string> = {};
  for (const [h, v] of Object.entries(req.headers))
    if (h.startsWith('x-amz-meta-') && typeof v === 'string')
      metadata[h.slice('x-amz-meta-'.length)] = v;
  const contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
  const obj = storedObject(body, contentType, metadata);
  objects.set(key, obj);
  replicate(s, bucket, key, obj);
  return { status: 200, headers: { etag: obj.etag } };
}

function storedObject(
  body: Buffer,
  contentType: string,
  metadata: Record<string, string>,
): StoredObject {
  const etag = `"${createHash('md5').update(body).digest('hex')}"`;
  return { body, etag, lastModified: new Date(), contentType, metadata };
}

function getObject(_s: S3State, { req, key, objects, head }: ObjectRequest): SimResponse {
  const obj = objects.get(key);
  if (!obj)
    return s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }, head);
  const range = typeof req.headers.range === 'string' ? req.headers.range : undefined;
  if (range && !head) return rangedObject(obj, range);
  return { status: 200, body: head ? '' : obj.body.toString('utf8'), headers: objectHeaders(obj) };
}

/**
 * GetObject with a Range header (S3 API reference, GetObject "Range": one byte range per request,
 * RFC 9110 section 14): 206 with Content-Range; a range starting past the end is 416 InvalidRange.
 * A form S3 does not serve (several ranges) is ignored and the whole object returned, as HTTP allows.
 */
function rangedObject(obj: StoredObject, range: string): SimResponse {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  const size = obj.body.length;
  if (!m || (m[1] === '' && m[2] === ''))
    return { status: 200, body: obj.body.toString('utf8'), headers: objectHeaders(obj) };
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end)
    return s3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: range,
      ActualObjectSize: String(size),
    });
  // The handler answers with text; a range cutting a multi-byte character is sent as re-encoded.
  const part = obj.body.subarray(start, end + 1).toString('utf8');
  return {
    status: 206,
    body: part,
    headers: {
      ...objectHeaders(obj),
      'content-length': String(Buffer.byteLength(part)),
      'content-range': `bytes ${start}-${end}/${size}`,
      'accept-ranges': 'bytes',
    },
  };
}

function listObjects(
  bucket: string,
  objects: Map<string, StoredObject>,
  query: Record<string, string>,
): SimResponse {
  const prefix = query.prefix ?? '';
  const maxKeys = Math.min(1000, Number(query['max-keys'] ?? 1000));
  const after = query['continuation-token'] ?? query['start-after'] ?? '';
  const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
  const page = keys.slice(0, maxKeys);
  const truncated = keys.length > page.length;
  const contents = page
    .map((k) => {
      const o = objects.get(k)!;
      return `<Contents><Key>${escapeXml(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${escapeXml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    })
    .join('');
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${NS}"><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
    `<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
    (truncated
      ? `<NextContinuationToken>${escapeXml(page[page.length - 1]!)}</NextContinuationToken>`
      : '') +
    `${contents}</ListBucketResult>`;
  return { status: 200, body, headers: { 'content-type': 'application/xml' } };
}
