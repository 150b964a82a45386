/**
 * Redis replication provider (CacheProvider) on `ioredis`: the entry point. Each method hands its
 * work to the module that owns the concern (state, readiness, promotion, resync, consistency).
 */
import type { Redis } from 'ioredis';
import type { CheckResult, ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import type {
  ActionResult,
  CacheProvider,
  ConsistencyResult,
  Progress,
  PromotionResult,
} from '../types.js';
import { NAME, release, type RedisCtx, type RedisProviderOptions } from './connection.js';
import { consistency, verifyWriter } from './consistency.js';
import { promote } from './promotion.js';
import { readiness } from './readiness.js';
import { isStreamingStandby, resync } from './resync.js';
import { withAcl } from './rights.js';
import { isWriter } from './state.js';
import { undoPromotion } from './undo.js';

/**
 *   createRedisProvider({
 *     primaryUrl,             // redis://[:password@]host:port of the primary region's server
 *     secondaryUrl,           //   and of the secondary's (resolved from config url/urlEnv)
 *     promoteTimeoutSeconds,  // FAILOVER TIMEOUT / catch-up wait; config: redis.promoteTimeoutSeconds
 *     useFailoverCommand,     // planned: FAILOVER TO on Redis >= 6.2; else fence + wait + REPLICAOF NO ONE
 *     log,                    // pino logger (child with provider: 'redis')
 *     connectTimeoutMs?,      // default 3000: how long "is the other side reachable?" may take
 *     consistency?,           // { sampleKeys, pieceBytes, attempts, timeBudgetSeconds }: config `consistency`
 *     assumeVersion?,         // tests only: choose the switch path as for this Redis version
 *   })
 */
export function createRedisProvider(opts: RedisProviderOptions): CacheProvider {
  return new RedisProvider(opts);
}

class RedisProvider implements CacheProvider {
  readonly name = NAME;
  private readonly ctx: RedisCtx;

  constructor(opts: RedisProviderOptions) {
    this.ctx = { opts, open: new Set<Redis>(), connectTimeoutMs: opts.connectTimeoutMs ?? 3000 };
  }

  readiness(target: RegionRole): Promise<ComponentReadiness> {
    return withAcl(this.ctx, () => readiness(this.ctx, target));
  }

  /** Master, and the promotion that made it one is complete (the old master no longer a master too). */
  isWriter(target: RegionRole): Promise<boolean> {
    return isWriter(this.ctx, target);
  }

  promote(opts: { target: RegionRole; mode: Mode; progress: Progress }): Promise<PromotionResult> {
    return promote(this.ctx, opts);
  }

  verifyWriter(target: RegionRole): Promise<CheckResult[]> {
    return verifyWriter(this.ctx, target);
  }

  isStreamingStandby(standby: RegionRole): Promise<boolean> {
    return isStreamingStandby(this.ctx, standby);
  }

  /** Make `standby` a replica of the other side, then wait for the link and equal offsets. */
  resync(opts: { standby: RegionRole; progress: Progress }): Promise<ActionResult> {
    return resync(this.ctx, opts);
  }

  consistency(opts: { writer: RegionRole; progress: Progress }): Promise<ConsistencyResult> {
    return consistency(this.ctx, opts);
  }

  /** The promoted side becomes a replica of the old master again (zero loss), e.g. to mend a split data tier. */
  undoPromotion(opts: { promoted: RegionRole; progress: Progress }): Promise<ActionResult> {
    return undoPromotion(this.ctx, opts);
  }

  async close(): Promise<void> {
    await Promise.all([...this.ctx.open].map(release));
    this.ctx.open.clear();
  }
}
