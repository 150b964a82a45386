/**
 * The Global Datastore as the control plane describes it: one client per member region (the
 * failover goes to the region that becomes primary, the one that must answer in an outage),
 * the datastore's status and each member's role, and the failover call.
 */
import {
  DescribeGlobalReplicationGroupsCommand,
  DisassociateGlobalReplicationGroupCommand,
  ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import type { RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';

export const NAME = 'elasticache-global';

interface GlobalMemberConfig {
  region: string;
  replicationGroupId: string;
  /** The node whose CloudWatch lag metric is read (lag-metric.ts). */
  cacheClusterId?: string;
}

export interface ElastiCacheGlobalOptions {
  globalReplicationGroupId: string;
  primary: GlobalMemberConfig;
  secondary: GlobalMemberConfig;
  pauseWrites: boolean;
  failoverTimeoutSeconds: number;
  endpoint?: string;
  cloudwatchEndpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

interface MemberState {
  replicationGroupId: string;
  region: string;
  /** PRIMARY or SECONDARY (API_GlobalReplicationGroupMember). */
  role: string;
  status: string;
}

export interface DatastoreState {
  status: string;
  members: MemberState[];
}

export class ElastiCacheApi {
  private readonly clients = new Map<string, ElastiCacheClient>();

  constructor(private readonly opts: ElastiCacheGlobalOptions) {}

  private client(region: string): ElastiCacheClient {
    let c = this.clients.get(region);
    if (!c) {
      c = new ElastiCacheClient({
        region,
        maxAttempts: 2,
        ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      });
      this.clients.set(region, c);
    }
    return c;
  }

  member(side: RegionRole): GlobalMemberConfig {
    return this.opts[side];
  }

  /** Read from `side`'s region: the target's region answers when the other is out. */
  async describe(side: RegionRole): Promise<DatastoreState> {
    const id = this.opts.globalReplicationGroupId;
    const out = await this.client(this.opts[side].region)
      .send(
        new DescribeGlobalReplicationGroupsCommand({
          GlobalReplicationGroupId: id,
          ShowMemberInfo: true,
        }),
      )
      .catch((err: unknown) => {
        throw apiError(`DescribeGlobalReplicationGroups ${id}`, err);
      });
    const g = out.GlobalReplicationGroups?.find((x) => x.GlobalReplicationGroupId === id);
    if (!g)
      throw new ProviderError(NAME, `global datastore ${id} is not in the answer`, {
        retryable: false,
      });
    return {
      status: g.Status ?? 'unknown',
      members: (g.Members ?? []).map((m) => ({
        replicationGroupId: m.ReplicationGroupId ?? '',
        region: m.ReplicationGroupRegion ?? '',
        role: m.Role ?? '',
        status: m.Status ?? '',
      })),
    };
  }

  /** FailoverGlobalReplicationGroup naming `target`'s region and group as the new primary. */
  async failover(target: RegionRole): Promise<void> {
    const m = this.opts[target];
    await this.client(m.region)
      .send(
        new FailoverGlobalReplicationGroupCommand({
          GlobalReplicationGroupId: this.opts.globalReplicationGroupId,
          PrimaryRegion: m.region,
          PrimaryReplicationGroupId: m.replicationGroupId,
        }),
      )
      .catch((err: unknown) => {
        throw apiError(`FailoverGlobalReplicationGroup to ${m.replicationGroupId}`, err);
      });
  }

  /**
   * DisassociateGlobalReplicationGroup of `side`'s group, sent to its own region (the one that
   * answers when the other is out): it leaves the datastore as a standalone cluster. One-way.
   */
  async disassociate(side: RegionRole): Promise<void> {
    const m = this.opts[side];
    await this.client(m.region)
      .send(
        new DisassociateGlobalReplicationGroupCommand({
          GlobalReplicationGroupId: this.opts.globalReplicationGroupId,
          ReplicationGroupId: m.replicationGroupId,
          ReplicationGroupRegion: m.region,
        }),
      )
      .catch((err: unknown) => {
        throw apiError(`DisassociateGlobalReplicationGroup of ${m.replicationGroupId}`, err);
      });
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}

/** The configured member of `side` as the datastore lists it, if it does. */
export function memberOf(state: DatastoreState, cfg: GlobalMemberConfig): MemberState | undefined {
  return state.members.find(
    (m) => m.replicationGroupId === cfg.replicationGroupId && m.region === cfg.region,
  );
}

function apiError(doing: string, err: unknown): ProviderError {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? 0;
  const code = e.name ?? 'Error';
  const retryable = status === 0 || status >= 500 || /Throttl|RateExceeded/i.test(code);
  return new ProviderError(
    NAME,
    `ElastiCache: ${doing} failed, ${code}: ${e.message ?? ''}. Check components.redis.elasticache against the account the bot's credentials belong to.`,
    {
      retryable,
      cause: err,
      ...(code === 'InvalidGlobalReplicationGroupStateFault'
        ? { code: 'precondition-failed' as const }
        : {}),
    },
  );
}
