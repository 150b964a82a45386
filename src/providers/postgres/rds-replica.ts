/**
 * The rds-replica driver: PostgreSQL on RDS with a cross-region read replica. SQL does what SQL
 * can (readiness, fence, catch-up to the final LSN, loss, consistency: the streaming code); RDS
 * does what only RDS may: PromoteReadReplica (one-way) and, for failback, a new replica built by
 * CreateDBInstanceReadReplica from the promoted instance. The card says failback is a rebuild.
 */
import {
  CreateDBInstanceReadReplicaCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  PromoteReadReplicaCommand,
  RDSClient,
  type DBInstance,
} from '@aws-sdk/client-rds';
import type { ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import type { ActionResult, DatabaseProvider, Progress, PromotionResult } from '../types.js';
import { SqlDatabaseProvider } from './sql-provider.js';
import { NAME, other, PgContext, type PostgresProviderOptions } from './context.js';
import { promote, waitForReplay } from './promote.js';
import { readiness } from './readiness.js';
import { withRights } from './rights.js';
import { inspect, isStreamingStandby, isWriter, writePosition } from './state.js';

interface RdsInstanceRef {
  instanceIdentifier: string;
  region: string;
}

interface RdsReplicaOptions {
  primary: RdsInstanceRef;
  secondary: RdsInstanceRef;
  accountId: string;
  endpoint?: string;
  promoteTimeoutSeconds: number;
  rebuildTimeoutMinutes: number;
  /** Between DescribeDBInstances polls (default 5000; tests use less). */
  pollMs?: number;
}

const FAILBACK_IS_A_REBUILD =
  'rds-replica: PromoteReadReplica is one-way. Failback is a rebuild: a new cross-region replica of the promoted instance is created (CreateDBInstanceReadReplica), which copies the whole database before the switch back.';

export function createRdsReplicaProvider(
  pg: Omit<PostgresProviderOptions, 'promoter'>,
  rds: RdsReplicaOptions,
): DatabaseProvider {
  return new RdsReplicaProvider(pg, rds);
}

class RdsReplicaProvider extends SqlDatabaseProvider implements DatabaseProvider {
  readonly name = NAME;
  protected readonly ctx: PgContext;
  private readonly clients = new Map<string, RDSClient>();
  private readonly pollMs: number;
  /** How long the last failback rebuild took in this process, for the card. */
  private lastRebuildMs: number | null = null;

  constructor(
    pg: Omit<PostgresProviderOptions, 'promoter'>,
    private readonly rds: RdsReplicaOptions,
  ) {
    super();
    this.ctx = new PgContext({ ...pg, promoter: (t, p) => this.promoteReplica(t, p) });
    this.pollMs = rds.pollMs ?? 5000;
  }

  private client(side: RegionRole): RDSClient {
    const region = this.rds[side].region;
    let c = this.clients.get(region);
    if (!c) {
      c = new RDSClient({ region, ...(this.rds.endpoint ? { endpoint: this.rds.endpoint } : {}) });
      this.clients.set(region, c);
    }
    return c;
  }

  private id(side: RegionRole): string {
    return this.rds[side].instanceIdentifier;
  }

  private async describe(side: RegionRole, id = this.id(side)): Promise<DBInstance | null> {
    try {
      const out = await this.client(side).send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }),
      );
      return out.DBInstances?.[0] ?? null;
    } catch (err) {
      if ((err as { name?: string }).name === 'DBInstanceNotFoundFault') return null;
      throw this.wrap(`DescribeDBInstances ${id}`, err);
    }
  }

  private wrap(what: string, err: unknown): ProviderError {
    const e = err as { name?: string; message?: string };
    return new ProviderError(NAME, `RDS ${what} failed: ${e.name ?? ''} ${e.message ?? err}`, {
      retryable: e.name !== 'InvalidDBInstanceStateFault',
      cause: err,
    });
  }

  async readiness(target: RegionRole): Promise<ComponentReadiness> {
    const r = await withRights(this.ctx, () => readiness(this.ctx, target), 'fence');
    let inst: DBInstance | null;
    try {
      inst = await this.describe(target);
    } catch (err) {
      return {
        ...r,
        status: 'warning',
        warnings: [...(r.warnings ?? []), (err as Error).message],
      };
    }
    const rebuilt =
      this.lastRebuildMs === null
        ? 'No rebuild timed by this bot yet.'
        : `The last rebuild took ${Math.round(this.lastRebuildMs / 60000)} min.`;
    const warnings = [
      ...(r.warnings ?? []),
      `${FAILBACK_IS_A_REBUILD} ${rebuilt}`,
      'DescribeDBInstances works; the rights to PromoteReadReplica and CreateDBInstanceReadReplica cannot be dry-run.',
    ];
    const rdsStatus = inst?.DBInstanceStatus ?? 'not found';
    const planFacts = { ...r.planFacts, rdsInstance: this.id(target), rdsStatus };
    const refusal = promotionRefusal(this.id(target), inst);
    if (refusal && r.details.targetInRecovery !== false)
      return { ...r, status: 'blocked', summary: refusal, warnings, planFacts };
    return { ...r, warnings, planFacts, details: { ...r.details, rdsStatus } };
  }

  async promote(opts: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
  }): Promise<PromotionResult> {
    if (!(await isWriter(this.ctx, opts.target).catch(() => false))) {
      // Refuse what RDS would refuse before the fence stops the application.
      const refusal = promotionRefusal(this.id(opts.target), await this.describe(opts.target));
      if (refusal) throw new PreconditionFailed(`${refusal} Nothing was changed.`);
    }
    const result = await promote(this.ctx, opts);
    return { ...result, evidence: { ...result.evidence, driver: 'rds-replica' } };
  }

  /** PromoteReadReplica, then DescribeDBInstances until standalone and available, then SQL. */
  private async promoteReplica(target: RegionRole, progress: Progress): Promise<number> {
    const started = Date.now();
    const id = this.id(target);
    progress(`PromoteReadReplica ${id} (${this.rds[target].region})`);
    try {
      await this.client(target).send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: id }));
    } catch (err) {
      throw this.wrap(`PromoteReadReplica ${id}`, err);
    }
    await this.waitFor(target, id, this.rds.promoteTimeoutSeconds * 1000, progress, (i) =>
      i.DBInstanceStatus === 'available' && !i.ReadReplicaSourceDBInstanceIdentifier
        ? true
        : undefined,
    );
    // Out of recovery, not yet a writer: the role fence replicated here is lifted after (unfence).
    await this.ctx.poll(
      this.ctx.opts.promoteTimeoutSeconds * 1000,
      `${target} to leave recovery`,
      async () => {
        const s = await inspect(this.ctx, target);
        return s.reachable && !s.inRecovery ? true : undefined;
      },
    );
    return Date.now() - started;
  }

  private async waitFor(
    side: RegionRole,
    id: string,
    timeoutMs: number,
    progress: Progress,
    done: (i: DBInstance) => true | undefined,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const i = await this.describe(side, id);
      if (i && done(i)) return;
      const status = i?.DBInstanceStatus ?? 'not found';
      if (status !== last) progress(`${id}: ${status}`, { rdsStatus: status });
      last = status;
      if (Date.now() > deadline)
        throw new ProviderError(
          NAME,
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for RDS instance ${id} (status ${status})`,
          { code: 'timeout', retryable: true },
        );
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /**
   * Failback's rebuild: keep the old instance under a new name (ModifyDBInstance), create the
   * replica under the configured name (its endpoint stays the same), wait until it is available
   * and has replayed the writer's position.
   */
  async resync({
    standby,
    progress,
  }: {
    standby: RegionRole;
    progress: Progress;
  }): Promise<ActionResult> {
    if (await isStreamingStandby(this.ctx, standby)) {
      return { noop: true, summary: `${standby} is already a streaming replica`, evidence: {} };
    }
    const src = other(standby);
    if (!(await isWriter(this.ctx, src)))
      throw new PreconditionFailed(
        `${this.ctx.where(src)} is not a writer: there is nothing to rebuild ${standby} from. Nothing was changed.`,
      );
    const started = Date.now();
    const id = this.id(standby);
    const kept = `${id}-pre-failback-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
    const old = await this.describe(standby);
    if (old) {
      progress(`renaming the old ${id} to ${kept} (kept, not deleted)`);
      await this.send(`ModifyDBInstance ${id}`, () =>
        this.client(standby).send(
          new ModifyDBInstanceCommand({
            DBInstanceIdentifier: id,
            NewDBInstanceIdentifier: kept,
            ApplyImmediately: true,
          }),
        ),
      );
      await this.waitFor(standby, kept, 600_000, progress, (i) =>
        i.DBInstanceStatus === 'available' ? true : undefined,
      );
    }
    const sourceArn = `arn:aws:rds:${this.rds[src].region}:${this.rds.accountId}:db:${this.id(src)}`;
    progress(`CreateDBInstanceReadReplica ${id} from ${sourceArn}`);
    await this.send(`CreateDBInstanceReadReplica ${id}`, () =>
      this.client(standby).send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: id,
          SourceDBInstanceIdentifier: sourceArn,
        }),
      ),
    );
    await this.waitFor(standby, id, this.rds.rebuildTimeoutMinutes * 60_000, progress, (i) =>
      i.DBInstanceStatus === 'available' && i.ReadReplicaSourceDBInstanceIdentifier
        ? true
        : undefined,
    );
    await this.ctx.poll(60_000, `${standby} to stream`, async () =>
      (await isStreamingStandby(this.ctx, standby).catch(() => false)) ? true : undefined,
    );
    const caughtUp = await waitForReplay(
      this.ctx,
      standby,
      await writePosition(this.ctx, src),
      progress,
    );
    this.lastRebuildMs = Date.now() - started;
    return {
      noop: false,
      summary: `rebuilt ${standby} as a new cross-region replica ${id} of ${this.id(src)} in ${Math.round(this.lastRebuildMs / 1000)} s; the old instance is kept as ${old ? kept : '(none)'}`,
      evidence: {
        driver: 'rds-replica',
        replica: id,
        source: sourceArn,
        keptOldInstance: old ? kept : null,
        rebuildMs: this.lastRebuildMs,
        replayLsn: caughtUp.replayLsn,
      },
    };
  }

  private async send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  override async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    await super.close();
  }
}

/** What RDS would refuse about promoting `inst` (API_PromoteReadReplica), or null. */
function promotionRefusal(id: string, inst: DBInstance | null | undefined): string | null {
  if (!inst) return `RDS has no DB instance ${id} in its region: check components.postgres.rds.`;
  if (!inst.ReadReplicaSourceDBInstanceIdentifier)
    return `RDS instance ${id} is not a read replica: PromoteReadReplica would be refused.`;
  if (inst.DBInstanceStatus === 'backing-up')
    return `RDS instance ${id} is backing-up: RDS refuses to promote a replica while it backs up; wait until the backup ends.`;
  if (inst.DBInstanceStatus !== 'available')
    return `RDS instance ${id} is ${inst.DBInstanceStatus ?? 'in an unknown state'}, not available: RDS would refuse the promotion.`;
  return null;
}
