/**
 * The `elasticache-global` cache driver (CacheProvider): ElastiCache Global Datastore switched by
 * its control plane (FailoverGlobalReplicationGroup), with the data plane (the two endpoints) used
 * where the service allows it: write pause, lag, the write probe and the consistency check.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CheckResult, ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import {
  other,
  poll,
  release,
  type RedisConsistencyOptions,
  type RedisCtx,
} from '../redis/connection.js';
import { consistency, verifyWriter } from '../redis/consistency.js';
import { inspect } from '../redis/state.js';
import type {
  ActionResult,
  CacheProvider,
  ConsistencyResult,
  Progress,
  PromotionResult,
} from '../types.js';
import { ElastiCacheApi, memberOf, NAME, type ElastiCacheGlobalOptions } from './api.js';
import { detach } from './detach.js';
import { LagMetric } from './lag-metric.js';
import { detachedNote } from './last-resort.js';
import { readiness } from './readiness.js';
import { isPrimary, promote } from './switch.js';

interface ElastiCacheDriverOptions extends ElastiCacheGlobalOptions {
  /** The primary endpoints of each member's cluster (config: components.redis.<side>). */
  primaryUrl: string;
  secondaryUrl: string;
  /** Catch-up wait while writes are paused. */
  promoteTimeoutSeconds: number;
  log: Logger;
  connectTimeoutMs?: number;
  /** The failback's consistency check (config `consistency`), as for Redis replication. */
  consistency?: Partial<RedisConsistencyOptions>;
}

export function createElastiCacheGlobalProvider(opts: ElastiCacheDriverOptions): CacheProvider {
  return new ElastiCacheGlobalProvider(opts);
}

class ElastiCacheGlobalProvider implements CacheProvider {
  readonly name = NAME;
  private readonly ctx: RedisCtx;
  private readonly api: ElastiCacheApi;
  private readonly metric: LagMetric;

  constructor(private readonly opts: ElastiCacheDriverOptions) {
    this.ctx = {
      opts: { ...opts, useFailoverCommand: false },
      open: new Set<Redis>(),
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
    };
    this.api = new ElastiCacheApi(opts);
    this.metric = new LagMetric(opts);
  }

  readiness(target: RegionRole): Promise<ComponentReadiness> {
    return readiness(this.ctx, this.api, this.metric, target, this.opts.pauseWrites);
  }

  /**
   * PRIMARY in the datastore and the datastore available: the failover that made it so is over.
   * A secondary the last resort detached is a standalone cluster: a writer once its endpoint is.
   */
  async isWriter(target: RegionRole): Promise<boolean> {
    const st = await this.api.describe(target);
    if (target === 'secondary' && detachedNote(this.api, st)) {
      const s = await inspect(this.ctx, target);
      return s.reachable && s.role === 'master';
    }
    return st.status === 'available' && isPrimary(this.api, st, target);
  }

  promote(opts: { target: RegionRole; mode: Mode; progress: Progress }): Promise<PromotionResult> {
    return promote(this.ctx, this.api, this.metric, {
      ...opts,
      pause: this.opts.pauseWrites,
      timeoutSeconds: this.opts.failoverTimeoutSeconds,
    });
  }

  /** The last resort (detach.ts): only after its own two-person confirmation on the card. */
  detach(opts: { target: RegionRole; progress: Progress }): Promise<PromotionResult> {
    return detach(this.ctx, this.api, this.metric, {
      ...opts,
      timeoutSeconds: this.opts.failoverTimeoutSeconds,
    });
  }

  verifyWriter(target: RegionRole): Promise<CheckResult[]> {
    return verifyWriter(this.ctx, target);
  }

  /** A SECONDARY member, associated, and (where INFO answers) its link up. */
  async isStreamingStandby(standby: RegionRole): Promise<boolean> {
    const st = await this.api.describe(standby);
    const m = memberOf(st, this.api.member(standby));
    if (m?.role.toUpperCase() !== 'SECONDARY' || m.status !== 'associated') return false;
    const s = await inspect(this.ctx, standby);
    return !s.reachable || s.role !== 'replica' || s.linkUp === true;
  }

  /** AWS makes the old primary a secondary itself after a failover: wait for it, call nothing. */
  async resync(opts: { standby: RegionRole; progress: Progress }): Promise<ActionResult> {
    // After the last resort nothing re-attaches by itself: a person re-links (it wipes a side).
    const detached = detachedNote(this.api, await this.api.describe(other(opts.standby)));
    if (detached) throw new PreconditionFailed(detached);
    if (await this.isStreamingStandby(opts.standby))
      return {
        noop: true,
        summary: `${opts.standby} is already an associated SECONDARY`,
        evidence: {},
      };
    opts.progress(`waiting for AWS to re-attach ${opts.standby} as SECONDARY`);
    const ok = await poll(this.opts.failoverTimeoutSeconds * 1000, async () =>
      (await this.isStreamingStandby(opts.standby)) ? true : undefined,
    );
    if (!ok)
      throw new ProviderError(
        NAME,
        `${opts.standby} is not an associated SECONDARY after ${this.opts.failoverTimeoutSeconds} s: the global datastore re-attaches it once its region is healthy; check the console`,
        { code: 'timeout', retryable: true },
      );
    return {
      noop: false,
      summary: `${opts.standby} is an associated SECONDARY again`,
      evidence: {},
    };
  }

  consistency(opts: { writer: RegionRole; progress: Progress }): Promise<ConsistencyResult> {
    return consistency(this.ctx, opts);
  }

  async close(): Promise<void> {
    this.api.close();
    this.metric.close();
    await Promise.all([...this.ctx.open].map(release));
    this.ctx.open.clear();
  }
}
