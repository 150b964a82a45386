/**
 * The CloudWatch part of the ElastiCache simulator: `GetMetricData` as @aws-sdk/client-cloudwatch
 * 3.1164 speaks it (AWS JSON 1.0: a POST with `X-Amz-Target: GraniteServiceVersion20100801.<Op>`
 * and an `application/x-amz-json-1.0` body, timestamps as epoch seconds; errors as `__type` plus
 * the `x-amzn-query-error` header, the service being awsQuery-compatible), serving
 * `GlobalDatastoreReplicationLag` measured on the lab's real pair: how long ago the primary first
 * wrote past what the secondary has applied, sampled from both nodes' replication offsets.
 */
import type { RecordedRequest, SimResponse } from './http-sim.js';

const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const METRIC = 'GlobalDatastoreReplicationLag';
const NAMESPACE = 'AWS/ElastiCache';
/** Kept as long as the lab needs; CloudWatch keeps 1-minute data 15 days (API_GetMetricData). */
const KEEP_MS = 30 * 60_000;

export interface LagPoint {
  /** ms since the epoch. */
  t: number;
  seconds: number;
  cacheClusterId: string;
}

/** A sample of the pair: the primary's written offset and the secondary's applied one. */
interface PairSample {
  primaryOffset: number;
  secondaryOffset: number;
  /** The secondary member's node, the one that publishes the metric (dg CacheMetrics.Redis). */
  cacheClusterId: string;
}

/**
 * Turns offset samples into lag datapoints. The lag in seconds is the age of the oldest write the
 * secondary has not applied: the time since the primary's offset first passed the secondary's.
 */
export class LagSeries {
  private history: { t: number; offset: number }[] = [];
  readonly points: LagPoint[] = [];

  /** The roles moved (a failover): offsets from before say nothing about the new pair. */
  reset(): void {
    this.history = [];
  }

  add(s: PairSample, now = Date.now()): void {
    this.history.push({ t: now, offset: s.primaryOffset });
    this.history = this.history.filter((h) => h.t >= now - KEEP_MS);
    let seconds = 0;
    if (s.secondaryOffset < s.primaryOffset) {
      const first = this.history.find((h) => h.offset > s.secondaryOffset) ?? this.history[0]!;
      seconds = (now - first.t) / 1000;
    }
    this.points.push({ t: now, seconds, cacheClusterId: s.cacheClusterId });
    while (this.points.length && this.points[0]!.t < now - KEEP_MS) this.points.shift();
  }
}

function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', ...headers },
    body: JSON.stringify(body),
  };
}

/** AWS JSON 1.0 error; the query-compatible code in x-amzn-query-error (Smithy awsQueryCompatible). */
function cwError(status: number, type: string, queryCode: string, message: string): SimResponse {
  return jsonAnswer(
    status,
    { __type: `com.amazonaws.cloudwatch#${type}`, message },
    { 'x-amzn-query-error': `${queryCode};Sender` },
  );
}

const validation = (message: string): SimResponse =>
  cwError(400, 'InvalidParameterValueException', 'InvalidParameterValue', message);

interface Query {
  Id?: string;
  MetricStat?: {
    Metric?: {
      Namespace?: string;
      MetricName?: string;
      Dimensions?: { Name: string; Value: string }[];
    };
    Period?: number;
    Stat?: string;
  };
  Expression?: string;
  ReturnData?: boolean;
}

const STATS: Record<string, (v: number[]) => number> = {
  Maximum: (v) => Math.max(...v),
  Minimum: (v) => Math.min(...v),
  Average: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  Sum: (v) => v.reduce((a, b) => a + b, 0),
  SampleCount: (v) => v.length,
};

function getMetricData(points: LagPoint[], body: Record<string, unknown>): SimResponse {
  const queries = body.MetricDataQueries as Query[] | undefined;
  // API_GetMetricData: MetricDataQueries, StartTime and EndTime are required; at most 500 queries.
  for (const p of ['MetricDataQueries', 'StartTime', 'EndTime'])
    if (body[p] === undefined)
      return cwError(
        400,
        'MissingRequiredParameterException',
        'MissingParameter',
        `The parameter ${p} is required.`,
      );
  if (!Array.isArray(queries) || queries.length === 0 || queries.length > 500)
    return validation('MetricDataQueries must hold 1 to 500 queries.');
  const start = Number(body.StartTime) * 1000;
  const end = Number(body.EndTime) * 1000;
  // API_GetMetricData: "The value of StartTime must be earlier than the value of EndTime."
  if (!(start < end))
    return validation('The parameter StartTime must be less than the parameter EndTime.');
  const results = [];
  for (const q of queries) {
    // API_MetricDataQuery: Id "The first character must be a lowercase letter"; letters, numbers, underscore.
    if (!q.Id || !/^[a-z][a-zA-Z0-9_]{0,254}$/.test(q.Id))
      return validation(`The Id ${q.Id ?? '(none)'} must start with a lowercase letter.`);
    // API_MetricDataQuery: "Within each MetricDataQuery object, you must specify either Expression or MetricStat but not both."
    if (!q.MetricStat === !q.Expression)
      return validation(`Query ${q.Id}: specify either Expression or MetricStat but not both.`);
    if (q.Expression)
      return validation(`Query ${q.Id}: this simulator serves MetricStat queries only.`);
    const stat = q.MetricStat!;
    const period = stat.Period ?? 0;
    // API_MetricStat: Period 1, 5, 10, 20, 30, 60 or any multiple of 60.
    if (![1, 5, 10, 20, 30].includes(period) && !(period >= 60 && period % 60 === 0))
      return validation(
        `Query ${q.Id}: the Period ${period} must be 1, 5, 10, 20, 30 or a multiple of 60.`,
      );
    const fn = stat.Stat ? STATS[stat.Stat] : undefined;
    if (!fn)
      return validation(`Query ${q.Id}: the statistic ${stat.Stat ?? '(none)'} is not valid.`);
    const m = stat.Metric ?? {};
    const dims = m.Dimensions ?? [];
    const clusterId =
      dims.length === 1 && dims[0]!.Name === 'CacheClusterId' ? dims[0]!.Value : undefined;
    // A metric nobody publishes answers no datapoints, not an error (CloudWatch has no metric registry).
    // ElastiCache metrics are standard resolution (published every 60 s, dg CacheMetrics): no
    // datapoints for a period under a minute.
    const matching =
      m.Namespace === NAMESPACE && m.MetricName === METRIC && clusterId && period >= 60
        ? points.filter((p) => p.cacheClusterId === clusterId && p.t >= start && p.t < end)
        : [];
    const buckets = new Map<number, number[]>();
    for (const p of matching) {
      const b = Math.floor(p.t / (period * 1000)) * period;
      buckets.set(b, [...(buckets.get(b) ?? []), p.seconds]);
    }
    const times = [...buckets.keys()].sort((a, b) =>
      body.ScanBy === 'TimestampAscending' ? a - b : b - a,
    );
    if (q.ReturnData === false) continue;
    results.push({
      Id: q.Id,
      Label: METRIC,
      Timestamps: times,
      Values: times.map((t) => fn(buckets.get(t)!)),
      StatusCode: 'Complete',
    });
  }
  return jsonAnswer(200, { MetricDataResults: results, Messages: [] });
}

/** Whether `req` is a CloudWatch call (by its target header) rather than an ElastiCache one. */
export const isCloudWatch = (req: RecordedRequest): boolean =>
  String(req.headers['x-amz-target'] ?? '').startsWith(CLOUDWATCH_TARGET_PREFIX);

export function handleCloudWatch(points: LagPoint[], req: RecordedRequest): SimResponse {
  const op = String(req.headers['x-amz-target']).slice(CLOUDWATCH_TARGET_PREFIX.length);
  // AWS JSON 1.0 protocol: a POST whose Content-Type is application/x-amz-json-1.0.
  if (
    req.method !== 'POST' ||
    !String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.0')
  )
    return cwError(
      400,
      'InvalidParameterValueException',
      'InvalidParameterValue',
      'expected a POST of application/x-amz-json-1.0',
    );
  if (op !== 'GetMetricData')
    return cwError(
      400,
      'UnknownOperationException',
      'InvalidAction',
      `${op} is not served by the lab`,
    );
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(req.body || '{}') as Record<string, unknown>;
  } catch {
    return cwError(400, 'SerializationException', 'InvalidParameterValue', 'the body is not JSON');
  }
  return getMetricData(points, body);
}
