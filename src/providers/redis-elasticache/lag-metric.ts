/**
 * The Global Datastore's lag as CloudWatch reports it: `GlobalDatastoreReplicationLag` in the
 * AWS/ElastiCache namespace, in seconds, "the lag between the secondary Region's primary node and
 * the primary Region's primary node" (dg CacheMetrics.Redis), published per cache node with the
 * CacheClusterId dimension every 60 s (dg CacheMetrics). Read from the secondary's region, which
 * is the one that answers when the primary's is out: the fallback where INFO replication cannot
 * be read on both endpoints, and shown beside it where it can.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { RegionRole } from '../../domain/types.js';
import type { ElastiCacheGlobalOptions } from './api.js';

const LAG_METRIC = 'GlobalDatastoreReplicationLag';
/** Standard resolution: ElastiCache publishes each node's metrics every 60 s (dg CacheMetrics). */
const PERIOD_SECONDS = 60;
/** How far back a datapoint is still worth showing (with its age). */
const LOOKBACK_MS = 15 * 60_000;

export type LagReading =
  | { seconds: number; at: Date; ageSeconds: number; cacheClusterId: string }
  | { error: string; cacheClusterId: string };

/**
 * The node whose metric is read: the configured one, else the member group's first cluster
 * (`<replicationGroupId>-001`, the name ElastiCache gives a replication group's first node).
 */
const lagClusterId = (m: { replicationGroupId: string; cacheClusterId?: string }): string =>
  m.cacheClusterId ?? `${m.replicationGroupId}-001`;

export class LagMetric {
  private readonly clients = new Map<string, CloudWatchClient>();

  constructor(private readonly opts: ElastiCacheGlobalOptions) {}

  private client(region: string): CloudWatchClient {
    let c = this.clients.get(region);
    if (!c) {
      const endpoint = this.opts.cloudwatchEndpoint;
      c = new CloudWatchClient({
        region,
        maxAttempts: 2,
        ...(endpoint ? { endpoint } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      });
      this.clients.set(region, c);
    }
    return c;
  }

  /** The newest datapoint of `secondary`'s lag (the member that replicates), or why there is none. */
  async read(secondary: RegionRole, now = new Date()): Promise<LagReading> {
    const m = this.opts[secondary];
    const cacheClusterId = lagClusterId(m);
    try {
      const out = await this.client(m.region).send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - LOOKBACK_MS),
          EndTime: now,
          ScanBy: 'TimestampDescending',
          MetricDataQueries: [
            {
              Id: 'lag',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/ElastiCache',
                  MetricName: LAG_METRIC,
                  Dimensions: [{ Name: 'CacheClusterId', Value: cacheClusterId }],
                },
                Period: PERIOD_SECONDS,
                Stat: 'Maximum',
              },
            },
          ],
        }),
      );
      const r = out.MetricDataResults?.find((x) => x.Id === 'lag');
      const points = (r?.Timestamps ?? [])
        .map((t, i) => ({ at: t, v: r?.Values?.[i] }))
        .filter((p): p is { at: Date; v: number } => typeof p.v === 'number')
        .sort((a, b) => b.at.getTime() - a.at.getTime());
      const newest = points[0];
      if (!newest)
        return {
          error: `no ${LAG_METRIC} datapoint for ${cacheClusterId} in the last ${LOOKBACK_MS / 60_000} min`,
          cacheClusterId,
        };
      return {
        seconds: newest.v,
        at: newest.at,
        ageSeconds: Math.max(0, Math.round((now.getTime() - newest.at.getTime()) / 1000)),
        cacheClusterId,
      };
    } catch (err) {
      const e = err as { name?: string; message?: string };
      return {
        error: `CloudWatch GetMetricData in ${m.region} failed, ${e.name ?? 'Error'}: ${e.message ?? ''}`,
        cacheClusterId,
      };
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}

/** "2 s (CloudWatch GlobalDatastoreReplicationLag of lab-001, datapoint 35 s old)". */
export function describeLag(r: LagReading): string {
  if ('error' in r) return `CloudWatch ${LAG_METRIC}: not readable (${r.error})`;
  const value = Number.isInteger(r.seconds) ? String(r.seconds) : r.seconds.toFixed(1);
  return `${value} s (CloudWatch ${LAG_METRIC} of ${r.cacheClusterId}, Maximum per minute, datapoint ${r.ageSeconds} s old)`;
}
