/**
 * The aurora-global driver's side of the RDS API: one client per region (each call goes to the
 * region it concerns), the global cluster and its members as DescribeGlobalClusters shows them,
 * what AWS would refuse about a switchover or failover, and the snapshot kept after a failover.
 */
import {
  DescribeDBClustersCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeGlobalClustersCommand,
  RDSClient,
  type DBCluster,
  type GlobalCluster,
  type GlobalClusterMember,
} from '@aws-sdk/client-rds';
import type { RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import {
  auroraClusterArn,
  auroraClusterId,
  type AuroraGlobalConfig,
} from '../../config/schema/aurora.js';
import { NAME, other } from './context.js';

export const SNAPSHOT_PREFIX = 'rds:unplanned-global-failover-';

export class AuroraApi {
  private readonly clients = new Map<string, RDSClient>();

  constructor(readonly aurora: AuroraGlobalConfig) {}

  region(side: RegionRole): string {
    return this.aurora[side].region;
  }

  id(side: RegionRole): string {
    return auroraClusterId(this.aurora[side]);
  }

  arn(side: RegionRole): string {
    return auroraClusterArn(this.aurora, this.aurora[side]);
  }

  client(side: RegionRole): RDSClient {
    const region = this.region(side);
    let c = this.clients.get(region);
    if (!c) {
      c = new RDSClient({
        region,
        ...(this.aurora.endpoint ? { endpoint: this.aurora.endpoint } : {}),
      });
      this.clients.set(region, c);
    }
    return c;
  }

  async send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const e = err as { name?: string; message?: string };
      throw new ProviderError(NAME, `RDS ${what} failed: ${e.name ?? ''} ${e.message ?? err}`, {
        retryable: !/^Invalid|NotFound/.test(e.name ?? ''),
        cause: err,
      });
    }
  }

  /** The global cluster, asked in `via`'s region (the target's during an outage of the other). */
  async global(via: RegionRole): Promise<GlobalCluster | null> {
    try {
      const out = await this.client(via).send(
        new DescribeGlobalClustersCommand({
          GlobalClusterIdentifier: this.aurora.globalClusterIdentifier,
        }),
      );
      return out.GlobalClusters?.[0] ?? null;
    } catch (err) {
      if ((err as { name?: string }).name === 'GlobalClusterNotFoundFault') return null;
      return this.send('DescribeGlobalClusters', () => Promise.reject(err));
    }
  }

  private async cluster(side: RegionRole): Promise<DBCluster | null> {
    try {
      const out = await this.client(side).send(
        new DescribeDBClustersCommand({ DBClusterIdentifier: this.id(side) }),
      );
      return out.DBClusters?.[0] ?? null;
    } catch (err) {
      if ((err as { name?: string }).name === 'DBClusterNotFoundFault') return null;
      return this.send(`DescribeDBClusters ${this.id(side)}`, () => Promise.reject(err));
    }
  }

  member(g: GlobalCluster | null, side: RegionRole): GlobalClusterMember | undefined {
    return g?.GlobalClusterMembers?.find((m) => m.DBClusterArn === this.arn(side));
  }

  /** What AWS would refuse about a switchover or failover to `target`, or null. */
  async refusal(g: GlobalCluster | null, target: RegionRole): Promise<string | null> {
    const name = this.aurora.globalClusterIdentifier;
    if (!g)
      return `AWS has no global cluster ${name} (asked in ${this.region(target)}): check components.postgres.aurora.`;
    const f = g.FailoverState;
    // API_FailoverState: empty unless a switchover or failover is scheduled or in progress.
    if (f?.Status)
      return `a ${f.IsDataLossAllowed ? 'failover' : 'switchover'} of ${name} is already ${f.Status} (to ${f.ToDbClusterArn ?? '?'}): AWS refuses another until it ends.`;
    if (g.Status !== 'available')
      return `global cluster ${name} is ${g.Status ?? 'in an unknown state'}, not available: AWS refuses a switchover or failover until it is.`;
    if (!this.member(g, target))
      return `${this.arn(target)} is not a member of global cluster ${name}: check components.postgres.aurora.${target}.`;
    const t = await this.cluster(target);
    if (!t)
      return `AWS has no DB cluster ${this.id(target)} in ${this.region(target)}: check components.postgres.aurora.${target}.`;
    // aurora-global-database-disaster-recovery: a headless secondary needs a DB instance first.
    if ((t.DBClusterMembers ?? []).length === 0)
      return `DB cluster ${this.id(target)} is headless (no DB instance): AWS refuses a switchover or failover to it; add an instance first.`;
    // The same: managed switchovers and failovers need matching engine versions.
    const o = await this.cluster(other(target)).catch(() => null);
    if (o?.EngineVersion && t.EngineVersion && o.EngineVersion !== t.EngineVersion)
      return `the clusters run different engine versions (${this.id(target)} ${t.EngineVersion}, ${this.id(other(target))} ${o.EngineVersion}): AWS refuses a managed switchover or failover; upgrade them to the same version first.`;
    return null;
  }

  /** The newest rds:unplanned-global-failover-… snapshot of `side`'s cluster, if any. */
  async keptSnapshot(side: RegionRole): Promise<string | undefined> {
    const out = await this.send('DescribeDBClusterSnapshots', () =>
      this.client(side).send(
        new DescribeDBClusterSnapshotsCommand({
          DBClusterIdentifier: this.id(side),
          SnapshotType: 'automated',
        }),
      ),
    );
    return (out.DBClusterSnapshots ?? [])
      .filter((s) => s.DBClusterSnapshotIdentifier?.startsWith(SNAPSHOT_PREFIX))
      .sort((a, b) => Number(b.SnapshotCreateTime ?? 0) - Number(a.SnapshotCreateTime ?? 0))[0]
      ?.DBClusterSnapshotIdentifier;
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
  }
}
