/**
 * What every PostgreSQL driver does over SQL alike, whoever runs the servers (the bot itself,
 * RDS, Aurora, Azure, CloudNativePG): reading a side's role, verifying the writer, the failback's
 * consistency check, closing the sessions. A driver extends it with what its platform does its
 * own way: readiness, promotion, resync.
 */
import type { CheckResult, RegionRole } from '../../domain/types.js';
import type { ConsistencyResult, Progress } from '../types.js';
import { consistency } from './consistency.js';
import type { PgContext } from './context.js';
import { isStreamingStandby, isWriter, verifyWriter } from './state.js';

export abstract class SqlDatabaseProvider {
  protected abstract readonly ctx: PgContext;

  isWriter(target: RegionRole): Promise<boolean> {
    return isWriter(this.ctx, target);
  }

  verifyWriter(target: RegionRole): Promise<CheckResult[]> {
    return verifyWriter(this.ctx, target);
  }

  isStreamingStandby(standby: RegionRole): Promise<boolean> {
    return isStreamingStandby(this.ctx, standby);
  }

  consistency(opts: { writer: RegionRole; progress: Progress }): Promise<ConsistencyResult> {
    return consistency(this.ctx, opts);
  }

  close(): Promise<void> {
    return this.ctx.close();
  }
}
