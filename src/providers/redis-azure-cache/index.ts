/**
 * The `azure-cache` cache driver (CacheProvider): Azure Cache for Redis Premium with passive
 * geo-replication, switched by its control plane (LinkedServer delete to fail over, create to
 * fail back), with the data plane (the two caches) used where the service allows it: write pause,
 * lag, the write probe and the consistency check.
 */
import type { Redis } from 'ioredis';
import type { CheckResult, ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import { release, type RedisConsistencyOptions, type RedisCtx } from '../redis/connection.js';
import { consistency, verifyWriter } from '../redis/consistency.js';
import type {
  ActionResult,
  CacheProvider,
  ConsistencyResult,
  Progress,
  PromotionResult,
} from '../types.js';
import { AzureCacheApi, NAME, type AzureCacheOptions } from './api.js';
import { readiness } from './readiness.js';
import { isStreamingStandby, promote, refusal, resync, standing } from './switch.js';

interface AzureCacheDriverOptions extends AzureCacheOptions {
  /** The data-plane endpoints of each cache (config: components.redis.<side>). */
  primaryUrl: string;
  secondaryUrl: string;
  /** Catch-up wait while writes are paused. */
  promoteTimeoutSeconds: number;
  connectTimeoutMs?: number;
  consistency?: Partial<RedisConsistencyOptions>;
}

export function createAzureCacheProvider(opts: AzureCacheDriverOptions): CacheProvider {
  return new AzureCacheProvider(opts);
}

class AzureCacheProvider implements CacheProvider {
  readonly name = NAME;
  private readonly ctx: RedisCtx;
  private readonly api: AzureCacheApi;

  constructor(private readonly opts: AzureCacheDriverOptions) {
    this.ctx = {
      opts: { ...opts, useFailoverCommand: false },
      open: new Set<Redis>(),
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
    };
    this.api = new AzureCacheApi(opts);
  }

  readiness(target: RegionRole): Promise<ComponentReadiness> {
    return readiness(this.ctx, this.api, target, this.opts.pauseWrites);
  }

  /** Out of the link (or its geo-primary) and running: the unlink that made it so is over. */
  async isWriter(target: RegionRole): Promise<boolean> {
    const [c, link] = await Promise.all([this.api.get(target), this.api.link(target)]);
    return standing(link) !== 'geo-secondary' && refusal(this.api, c, null) === null;
  }

  promote(opts: { target: RegionRole; mode: Mode; progress: Progress }): Promise<PromotionResult> {
    return promote(this.ctx, this.api, {
      ...opts,
      pause: this.opts.pauseWrites,
      timeoutSeconds: this.opts.operationTimeoutSeconds,
    });
  }

  verifyWriter(target: RegionRole): Promise<CheckResult[]> {
    return verifyWriter(this.ctx, target);
  }

  isStreamingStandby(standby: RegionRole): Promise<boolean> {
    return isStreamingStandby(this.ctx, this.api, standby);
  }

  resync(opts: { standby: RegionRole; progress: Progress }): Promise<ActionResult> {
    return resync(this.ctx, this.api, {
      ...opts,
      timeoutSeconds: this.opts.operationTimeoutSeconds,
    });
  }

  consistency(opts: { writer: RegionRole; progress: Progress }): Promise<ConsistencyResult> {
    return consistency(this.ctx, opts);
  }

  async close(): Promise<void> {
    await Promise.all([...this.ctx.open].map(release));
    this.ctx.open.clear();
  }
}
