/**
 * The aurora-global driver: PostgreSQL in an Aurora Global Database of two regional DB clusters.
 * Aurora does the failover itself: SwitchoverGlobalCluster (planned: Aurora synchronizes the
 * target, makes the primary read-only, promotes, and keeps the old primary as a secondary: zero
 * loss, no fence or resync by the bot) and FailoverGlobalCluster with AllowDataLoss (unplanned,
 * sent to the target's region; the loss is the lag aurora_global_db_status() shows before).
 * Completion is DescribeGlobalClusters: FailoverState empty again and the target IsWriter. SQL
 * does readiness, the loss reading, verification and the consistency check.
 */
import {
  FailoverGlobalClusterCommand,
  SwitchoverGlobalClusterCommand,
  type GlobalCluster,
} from '@aws-sdk/client-rds';
import type { ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import type { AuroraGlobalConfig } from '../../config/schema/aurora.js';
import { formatBytes } from '../bytes.js';
import type { ActionResult, DatabaseProvider, Progress, PromotionResult } from '../types.js';
import { AuroraApi, SNAPSHOT_PREFIX } from './aurora-api.js';
import { SqlDatabaseProvider } from './sql-provider.js';
import { NAME, other, PgContext, type PostgresProviderOptions } from './context.js';
import { readiness } from './readiness.js';
import { withRights } from './rights.js';
import { inspect, isWriter } from './state.js';

/** The lag of a secondary as the card shows it, and where it was read. */
interface AuroraLag {
  source: 'aurora_global_db_status' | 'streaming';
  rpoMs: number | null;
  durabilityMs: number | null;
  bytes: number | null;
  text: string;
}

const REJOIN =
  'After a FailoverGlobalCluster, Aurora re-adds the old region as a secondary on a new storage volume once that region is healthy; this may take hours. Before that it tries to keep the old volume as a snapshot rds:unplanned-global-failover-<cluster>-<time> (a system snapshot, deleted after the old cluster’s backup retention period: copy it to keep the lost writes).';
const RIGHTS =
  'DescribeGlobalClusters and DescribeDBClusters work; the rights to SwitchoverGlobalCluster and FailoverGlobalCluster cannot be dry-run.';

export function createAuroraGlobalProvider(
  pg: Omit<PostgresProviderOptions, 'promoter'>,
  aurora: AuroraGlobalConfig,
): DatabaseProvider {
  return new AuroraGlobalProvider(pg, aurora);
}

class AuroraGlobalProvider extends SqlDatabaseProvider implements DatabaseProvider {
  readonly name = NAME;
  protected readonly ctx: PgContext;
  private readonly api: AuroraApi;
  private readonly pollMs: number;

  constructor(
    pg: Omit<PostgresProviderOptions, 'promoter'>,
    private readonly aurora: AuroraGlobalConfig,
  ) {
    super();
    this.ctx = new PgContext(pg);
    this.api = new AuroraApi(aurora);
    this.pollMs = aurora.pollIntervalMs;
  }

  /** The secondary's lag from aurora_global_db_status(), or the streaming views where it is absent. */
  private async lag(side: RegionRole): Promise<AuroraLag> {
    const region = this.api.region(side);
    try {
      const rows = await this.ctx.withClient(
        side,
        'reading aurora_global_db_status()',
        async (c) =>
          (
            await c.query<{ aws_region: string; rpo: string | null; durability: string | null }>(
              `SELECT aws_region, rpo_lag_in_msec::text AS rpo, durability_lag_in_msec::text AS durability
               FROM aurora_global_db_status()`,
            )
          ).rows,
      );
      const row = rows.find((r) => r.aws_region === region);
      const rpoMs = row?.rpo == null ? null : Number(row.rpo);
      const durabilityMs = row?.durability == null ? null : Number(row.durability);
      return {
        source: 'aurora_global_db_status',
        rpoMs,
        durabilityMs,
        bytes: null,
        text: `RPO lag ${rpoMs ?? '?'} ms, durability lag ${durabilityMs ?? '?'} ms (aurora_global_db_status() on ${region})`,
      };
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code !== '42883') throw err;
    }
    const s = await inspect(this.ctx, side);
    const bytes = s.reachable ? s.replayGapBytes : null;
    const seconds = s.reachable ? s.lastReplayAgeSeconds : null;
    return {
      source: 'streaming',
      rpoMs: seconds === null ? null : Math.round(seconds * 1000),
      durabilityMs: null,
      bytes,
      text: `aurora_global_db_status() is absent on ${side}: the streaming views instead, ${bytes === null ? '?' : formatBytes(bytes)} not replayed, last replayed commit ${seconds === null ? '?' : `${seconds.toFixed(1)} s`} ago`,
    };
  }

  async readiness(target: RegionRole): Promise<ComponentReadiness> {
    // Aurora fences and promotes: the role needs only the probe and consistency tables' rights.
    const r = await withRights(this.ctx, () => readiness(this.ctx, target), 'tables');
    const src = other(target);
    let g: GlobalCluster | null;
    let refusal: string | null;
    try {
      g = await this.api.global(target);
      refusal = await this.api.refusal(g, target);
    } catch (err) {
      return { ...r, status: 'warning', warnings: [...(r.warnings ?? []), (err as Error).message] };
    }
    const m = this.api.member(g, target);
    // What the approval binds: the cluster and Aurora's operation, not the servers' states, which
    // change while Aurora re-adds a region (a person approved that, not a state of the copy).
    const facts = (operation: string): ComponentReadiness['planFacts'] => ({
      globalCluster: this.aurora.globalClusterIdentifier,
      auroraCluster: this.api.id(target),
      operation,
    });
    const base = { ...r, planFacts: { ...r.planFacts, ...facts('none') }, warnings: [RIGHTS] };
    // Being re-added after a failover, the old region's server may be down or mid-copy: say so.
    if (m && !m.IsWriter && m.SynchronizationStatus === 'pending-resync')
      return {
        ...base,
        status: 'warning',
        summary: `Aurora is re-adding ${this.api.id(target)} as a secondary after a failover (pending-resync): the failback's resync waits until it has, then switches over back`,
        planFacts: facts('SwitchoverGlobalCluster'),
        warnings: [REJOIN, RIGHTS],
      };
    if (r.status === 'blocked' && r.details.targetInRecovery !== false) return base;
    if (m?.IsWriter || r.details.targetInRecovery === false) {
      if (!m?.IsWriter) return { ...base, status: 'warning', warnings: [REJOIN, RIGHTS] };
      return { ...base, status: r.status === 'blocked' ? 'blocked' : 'ready' };
    }
    if (refusal) return { ...base, status: 'blocked', summary: refusal };
    const lag = await this.lag(target);
    const details = { ...r.details, rpoLagMs: lag.rpoMs, durabilityLagMs: lag.durabilityMs };
    if (r.primaryReachable) {
      // After a failover and Aurora's re-adding: the snapshot of the lost writes, on the failback's card.
      const kept = await this.api.keptSnapshot(target).catch(() => undefined);
      return {
        ...base,
        ...(kept
          ? {
              warnings: [
                `Aurora kept the old volume of ${this.api.id(target)} as snapshot ${kept}: a system snapshot, deleted after the cluster's backup retention period; copy it to keep the writes the failover lost.`,
                RIGHTS,
              ],
            }
          : {}),
        status: 'ready',
        summary: `${this.api.id(target)} is an Aurora secondary of ${this.aurora.globalClusterIdentifier} (${m?.SynchronizationStatus ?? 'connected'}), ${lag.text}; ${src} reachable: SwitchoverGlobalCluster, zero loss`,
        details,
        planFacts: facts('SwitchoverGlobalCluster'),
      };
    }
    const description = `up to ${lag.rpoMs ?? '?'} ms of commits: ${lag.text}`;
    return {
      ...base,
      status: 'warning',
      summary: `${src} unreachable: FailoverGlobalCluster with AllowDataLoss to ${this.api.id(target)}, ${description}`,
      details,
      planFacts: facts('FailoverGlobalCluster'),
      expectedLoss: {
        bytes: lag.bytes,
        seconds: lag.rpoMs === null ? null : lag.rpoMs / 1000,
        description,
      },
      warnings: [
        `Aurora fences ${src} best effort only: make sure it cannot come back as a writer.`,
        REJOIN,
        RIGHTS,
      ],
    };
  }

  async promote(opts: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
  }): Promise<PromotionResult> {
    const { target, mode } = opts;
    const g = await this.api.global(target);
    const m = this.api.member(g, target);
    if (m?.IsWriter && !g?.FailoverState?.Status && (await isWriter(this.ctx, target))) {
      return {
        noop: true,
        mode,
        summary: `${this.api.id(target)} is already the writer of ${this.aurora.globalClusterIdentifier}: nothing to do`,
        evidence: { driver: 'aurora-global', isWriter: true },
        rpo: {
          component: 'database',
          bytes: 0,
          seconds: 0,
          description: 'no promotion by this step: the target was already the writer',
        },
      };
    }
    // Ours already under way (a reply lost, the bot restarted): wait for it, send nothing again.
    const underWay =
      !!m?.IsWriter ||
      (!!g?.FailoverState?.Status && g.FailoverState.ToDbClusterArn === this.api.arn(target));
    if (!underWay) {
      const refusal = await this.api.refusal(g, target);
      if (refusal) throw new PreconditionFailed(`${refusal} Nothing was changed.`);
    }
    return mode === 'planned'
      ? this.switchover(opts, underWay)
      : this.failover({ ...opts, mode: 'unplanned' }, underWay);
  }

  /** SwitchoverGlobalCluster, sent to the primary's region (switchover-global-cluster). */
  private async switchover(
    { target, progress }: { target: RegionRole; progress: Progress },
    underWay: boolean,
  ): Promise<PromotionResult> {
    const started = Date.now();
    const src = other(target);
    const name = this.aurora.globalClusterIdentifier;
    if (!underWay) {
      const o = await inspect(this.ctx, src);
      if (!o.reachable)
        throw new PreconditionFailed(
          `a switchover needs a healthy primary, but ${this.ctx.where(src)} is unreachable (${o.error.message}). Nothing was changed. Re-run preflight: the failover is unplanned and shows its expected loss before approval.`,
        );
      progress(
        `SwitchoverGlobalCluster ${name} to ${this.api.id(target)} (sent to ${this.api.region(src)})`,
      );
      await this.api.send('SwitchoverGlobalCluster', () =>
        this.api.client(src).send(
          new SwitchoverGlobalClusterCommand({
            GlobalClusterIdentifier: name,
            TargetDbClusterIdentifier: this.api.arn(target),
          }),
        ),
      );
    }
    const { seen, synchronization } = await this.waitDone(
      target,
      this.aurora.switchoverTimeoutMinutes,
      progress,
    );
    return {
      noop: false,
      mode: 'planned',
      summary: `Aurora switched ${name} over to ${this.api.id(target)} in ${Math.round((Date.now() - started) / 1000)} s: zero loss; ${this.api.id(src)} is now a secondary`,
      evidence: {
        driver: 'aurora-global',
        operation: 'SwitchoverGlobalCluster',
        globalCluster: name,
        failoverStatusesSeen: seen.join(' → '),
        synchronization,
        totalMs: Date.now() - started,
      },
      rpo: {
        component: 'database',
        bytes: 0,
        seconds: 0,
        description: `zero loss: SwitchoverGlobalCluster synchronizes ${this.api.id(target)} before it promotes it, and ${this.api.id(src)} was read-only meanwhile`,
      },
    };
  }

  /** FailoverGlobalCluster with AllowDataLoss, sent to the target's region; the lag read first is the loss. */
  private async failover(
    { target, progress }: { target: RegionRole; progress: Progress; mode: 'unplanned' },
    underWay: boolean,
  ): Promise<PromotionResult> {
    const started = Date.now();
    const src = other(target);
    const name = this.aurora.globalClusterIdentifier;
    const lag = await this.lag(target).catch((err: unknown): AuroraLag => ({
      source: 'streaming',
      rpoMs: null,
      durabilityMs: null,
      bytes: null,
      text: `lag not readable (${(err as Error).message})`,
    }));
    if (!underWay) {
      progress(
        `FailoverGlobalCluster ${name} to ${this.api.id(target)} with AllowDataLoss (sent to ${this.api.region(target)}); ${lag.text}`,
      );
      await this.api.send('FailoverGlobalCluster', () =>
        this.api.client(target).send(
          new FailoverGlobalClusterCommand({
            GlobalClusterIdentifier: name,
            TargetDbClusterIdentifier: this.api.arn(target),
            AllowDataLoss: true,
          }),
        ),
      );
    }
    const { seen, synchronization } = await this.waitDone(
      target,
      this.aurora.failoverTimeoutMinutes,
      progress,
    );
    const description = `up to ${lag.rpoMs ?? '?'} ms of commits lost: ${lag.text}, read before FailoverGlobalCluster`;
    return {
      noop: false,
      mode: 'unplanned',
      summary: `Aurora failed ${name} over to ${this.api.id(target)} (AllowDataLoss) in ${Math.round((Date.now() - started) / 1000)} s; ${description}. ${this.api.id(src)} is fenced best effort by Aurora and re-added as a secondary once its region is back`,
      evidence: {
        driver: 'aurora-global',
        operation: 'FailoverGlobalCluster',
        globalCluster: name,
        lagSource: lag.source,
        rpoLagMs: lag.rpoMs,
        durabilityLagMs: lag.durabilityMs,
        failoverStatusesSeen: seen.join(' → '),
        synchronization,
        totalMs: Date.now() - started,
      },
      rpo: {
        component: 'database',
        bytes: lag.bytes,
        seconds: lag.rpoMs === null ? null : lag.rpoMs / 1000,
        description,
      },
    };
  }

  /** DescribeGlobalClusters until FailoverState is empty and `target` IsWriter; then SQL agrees. */
  private async waitDone(
    target: RegionRole,
    timeoutMinutes: number,
    progress: Progress,
  ): Promise<{ seen: string[]; synchronization: string }> {
    const deadline = Date.now() + timeoutMinutes * 60_000;
    const seen: string[] = [];
    let synchronization = '';
    for (;;) {
      const g = await this.api.global(target);
      const status = g?.FailoverState?.Status;
      const m = this.api.member(g, target);
      if (status && seen.at(-1) !== status) {
        seen.push(status);
        progress(`${this.aurora.globalClusterIdentifier}: FailoverState ${status}`, {
          failoverState: status,
        });
      }
      if (!status && m?.IsWriter) {
        // Each member's SynchronizationStatus once done: the old primary's says whether it follows.
        synchronization = (g?.GlobalClusterMembers ?? [])
          .map((x) => `${x.DBClusterArn?.split(':').at(-1)} ${x.SynchronizationStatus ?? '?'}`)
          .join(', ');
        break;
      }
      if (Date.now() > deadline)
        throw new ProviderError(
          NAME,
          `timed out after ${timeoutMinutes} min waiting for ${this.api.id(target)} to be the writer of ${this.aurora.globalClusterIdentifier} (FailoverState ${status ?? 'empty'}, IsWriter ${m?.IsWriter ?? '?'})`,
          { code: 'timeout', retryable: true },
        );
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    await this.ctx.poll(
      this.aurora.switchoverTimeoutMinutes * 60_000,
      `${target} to accept writes`,
      async () => ((await isWriter(this.ctx, target).catch(() => false)) ? true : undefined),
    );
    return { seen, synchronization };
  }

  /** An Aurora secondary: in recovery, and the global cluster shows it a connected reader. */
  override async isStreamingStandby(standby: RegionRole): Promise<boolean> {
    const s = await inspect(this.ctx, standby);
    if (!s.reachable || !s.inRecovery) return false;
    const m = this.api.member(await this.api.global(other(standby)), standby);
    return !!m && !m.IsWriter && (m.SynchronizationStatus ?? 'connected') === 'connected';
  }

  /**
   * Failback's resync: after a switchover the old primary already is a secondary (a no-op); after
   * a failover, wait until Aurora has re-added it, and name the snapshot it kept.
   */
  async resync({
    standby,
    progress,
  }: {
    standby: RegionRole;
    progress: Progress;
  }): Promise<ActionResult> {
    const name = this.aurora.globalClusterIdentifier;
    if (await this.isStreamingStandby(standby)) {
      return {
        noop: true,
        summary: `${this.api.id(standby)} is already an Aurora secondary of ${name} (connected)`,
        evidence: { driver: 'aurora-global' },
      };
    }
    const writer = other(standby);
    const g = await this.api.global(writer);
    if (this.api.member(g, standby)?.IsWriter)
      throw new PreconditionFailed(
        `${this.api.id(standby)} is the writer of ${name}: there is nothing to resync. Nothing was changed.`,
      );
    const started = Date.now();
    const deadline = started + this.aurora.rejoinTimeoutMinutes * 60_000;
    let last = '';
    let lastReport = 0;
    for (;;) {
      const m = this.api.member(await this.api.global(writer), standby);
      const sync = m ? (m.SynchronizationStatus ?? 'connected') : 'not a member yet';
      const s = await inspect(this.ctx, standby);
      if (m && !m.IsWriter && sync === 'connected' && s.reachable && s.inRecovery) break;
      if (sync !== last || Date.now() - lastReport >= 60_000) {
        const waited = Math.round((Date.now() - started) / 60_000);
        progress(
          `Aurora is re-adding ${this.api.id(standby)} (${this.api.region(standby)}) as a secondary: ${sync}, waited ${waited} min. This may take hours.`,
          { synchronization: sync },
        );
        last = sync;
        lastReport = Date.now();
      }
      if (Date.now() > deadline)
        throw new ProviderError(
          NAME,
          `Aurora has not re-added ${this.api.id(standby)} as a secondary of ${name} within ${this.aurora.rejoinTimeoutMinutes} min (${sync}): check the region and the RDS events, then retry`,
          { code: 'timeout', retryable: true },
        );
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    const snapshot = await this.api.keptSnapshot(standby);
    const waitedMs = Date.now() - started;
    return {
      noop: false,
      summary: `Aurora re-added ${this.api.id(standby)} as a secondary of ${name} (waited ${Math.round(waitedMs / 1000)} s); ${snapshot ? `the old volume is kept as snapshot ${snapshot}: a system snapshot, deleted after the old cluster's backup retention period, so copy it to keep the writes lost in the failover` : `no ${SNAPSHOT_PREFIX}… snapshot found: Aurora could not keep the old volume`}`,
      evidence: { driver: 'aurora-global', snapshot: snapshot ?? null, waitedMs },
    };
  }

  override async close(): Promise<void> {
    this.api.close();
    await super.close();
  }
}
