/**
 * The cloudnative-pg driver: CloudNativePG 1.24+ replica clusters in two Kubernetes clusters
 * ("Distributed Topology", docs/src/replica_cluster.md). The operator owns PostgreSQL, so the
 * switch goes through the Cluster resources; SQL only reads (readiness, loss, consistency).
 * - Planned: demote the primary Cluster (spec.replica.primary = the other one: the operator
 *   fences and shuts it down cleanly), read its .status.demotionToken, then set primary and
 *   promotionToken on the target together: the operator promotes once the target has replayed
 *   the token's LSN. Zero loss; the old primary follows as a replica (no rebuild).
 * - Unplanned: promote the target without a token (primary = itself, or enabled: false for a
 *   standalone replica cluster): what was not replayed is lost, and the old primary must be
 *   re-cloned. A reachable old primary Cluster is demoted first so it cannot come back a writer.
 * Completion: .status.phase healthy, .status.lastPromotionToken = the token, the server out of
 * recovery.
 */
import type { ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import type { ActionResult, DatabaseProvider, Progress, PromotionResult } from '../types.js';
import {
  CNPG_PHASE,
  CnpgClusters,
  decodeToken,
  isReplicaCluster,
  label,
  promotionRefusal,
  type CnpgCluster,
  type CnpgSideRef,
} from './cnpg-clusters.js';
import { SqlDatabaseProvider } from './sql-provider.js';
import { NAME, other, PgContext, type PostgresProviderOptions } from './context.js';
import { expectedLoss } from './loss.js';
import { lsnDiff } from './lsn.js';
import { readiness } from './readiness.js';
import { withRights } from './rights.js';
import { inspect, inspectReachable, isStreamingStandby, isWriter, writerReading } from './state.js';

interface CloudNativePgOptions {
  primary: CnpgSideRef;
  secondary: CnpgSideRef;
  /** How long a demotion, a promotion or a replica's join may take. */
  operationTimeoutSeconds: number;
  /** Between Cluster reads (default 1000; tests use less). */
  pollMs?: number;
}

const REBUILD =
  'CloudNativePG cannot make a former primary follow after a promotion without its demotion token: it must be re-cloned ("Failover is identical in both strategies, requiring the former primary to be re-cloned", docs: replica_cluster.md).';

export function createCloudNativePgProvider(
  pg: Omit<PostgresProviderOptions, 'promoter'>,
  cnpg: CloudNativePgOptions,
): DatabaseProvider {
  return new CloudNativePgProvider(pg, cnpg);
}

type Outcome<T> = { done: T } | { failed: string } | undefined;

class CloudNativePgProvider extends SqlDatabaseProvider implements DatabaseProvider {
  readonly name = NAME;
  protected readonly ctx: PgContext;
  private readonly api: CnpgClusters;
  private readonly pollMs: number;

  constructor(
    pg: Omit<PostgresProviderOptions, 'promoter'>,
    private readonly cnpg: CloudNativePgOptions,
  ) {
    super();
    // The operator fences (demotion) and promotes: no SQL fence, so no ALTER SYSTEM right asked.
    this.ctx = new PgContext({
      ...pg,
      fence: { method: 'command', command: 'cloudnative-pg demotion' },
    });
    this.api = new CnpgClusters({ primary: cnpg.primary, secondary: cnpg.secondary });
    this.pollMs = cnpg.pollMs ?? 1000;
  }

  private name_(side: RegionRole): string {
    return this.cnpg[side].name;
  }

  async readiness(target: RegionRole): Promise<ComponentReadiness> {
    const src = other(target);
    const [r, t, o, crd, rights] = await Promise.all([
      withRights(this.ctx, () => readiness(this.ctx, target), 'tables'),
      this.api.get(target).catch((err: unknown) => err as Error),
      this.api.get(src).catch((err: unknown) => err as Error),
      this.api.versionProblem(target).catch((err: unknown) => (err as Error).message),
      Promise.all(
        (['primary', 'secondary'] as const).map((s) =>
          this.api.missingRights(s).catch(() => [] as string[]),
        ),
      ).then((x) => x.flat()),
    ]);
    const role = (c: CnpgCluster | Error): string =>
      c instanceof Error ? 'unreadable' : isReplicaCluster(c) ? 'replica' : 'primary';
    const phase = (c: CnpgCluster | Error): string | null =>
      c instanceof Error ? null : (c.status?.phase ?? null);
    const details = {
      ...r.details,
      cnpgTarget: `${label(this.cnpg[target])}: ${role(t)}, ${phase(t) ?? '?'}`,
      cnpgOther: `${label(this.cnpg[src])}: ${role(o)}, ${phase(o) ?? '?'}`,
    };
    const planFacts = {
      ...r.planFacts,
      cnpgTargetRole: role(t),
      cnpgOtherRole: role(o),
    };
    const warnings = [
      ...(r.warnings ?? []),
      ...(o instanceof Error ? [`the other side's Cluster: ${o.message}`] : []),
      `cloudnative-pg: a planned switch demotes ${label(this.cnpg[src])} and promotes ${label(this.cnpg[target])} with its demotion token (zero loss, no rebuild); an unplanned one promotes without a token, and ${label(this.cnpg[src])} must then be re-cloned.`,
      'The bot may get and patch both Clusters (SelfSubjectAccessReview); whether CloudNativePG admits a patch is known only when it is sent.',
      ...rights,
    ];
    const blocked = (summary: string): ComponentReadiness => ({
      ...r,
      status: 'blocked',
      summary,
      details,
      planFacts,
      warnings,
    });
    // Both Clusters are read and patched (demotion on one side, promotion on the other).
    if (rights.length > 0)
      return blocked(
        `the bot's Kubernetes identity lacks rights on the CloudNativePG Clusters: ${rights.join('; ')}`,
      );
    if (crd) return blocked(crd);
    if (t instanceof Error) return blocked(t.message);
    const refusal = promotionRefusal(this.cnpg, target, t, o instanceof Error ? null : o);
    if (refusal) return blocked(refusal);
    // The other Cluster unread is a warning; the rest of the list is what the card explains.
    const status = o instanceof Error && r.status === 'ready' ? 'warning' : r.status;
    return { ...r, status, details, planFacts, warnings };
  }

  async promote(opts: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
  }): Promise<PromotionResult> {
    const { target, mode } = opts;
    const t = await this.api.get(target);
    if (!isReplicaCluster(t) && (await isWriter(this.ctx, target).catch(() => false)))
      return {
        noop: true,
        mode,
        summary: `${label(this.cnpg[target])} is already the primary Cluster and accepts writes: nothing to do`,
        evidence: { driver: 'cloudnative-pg', cluster: this.name_(target) },
        rpo: {
          component: 'database',
          bytes: 0,
          seconds: 0,
          description: 'no promotion by this step: the target was already the writer',
        },
      };
    const versionProblem = await this.api.versionProblem(target);
    const o = await this.api.get(other(target)).catch(() => null);
    const refusal = versionProblem ?? promotionRefusal(this.cnpg, target, t, o);
    if (refusal) throw new PreconditionFailed(`${refusal} Nothing was changed.`);
    return mode === 'planned' ? this.planned(t, opts) : this.unplanned(t, o, opts);
  }

  private async planned(
    t: CnpgCluster,
    { target, progress }: { target: RegionRole; progress: Progress },
  ): Promise<PromotionResult> {
    const started = Date.now();
    const src = other(target);
    const targetName = this.name_(target);
    const r = t.spec.replica!;
    // "Standalone Replica Clusters ... No Controlled Switchover"; validatePromotionToken refuses minApplyDelay.
    if (r.enabled !== undefined)
      throw new PreconditionFailed(
        `${label(this.cnpg[target])} is a standalone replica cluster (spec.replica.enabled): CloudNativePG has no controlled switchover for it, only a one-way promotion. Choose an unplanned failover, or move both Clusters to replica.primary/source (1.24+). Nothing was changed.`,
      );
    if (r.minApplyDelay)
      throw new PreconditionFailed(
        `${label(this.cnpg[target])} has spec.replica.minApplyDelay: CloudNativePG refuses a promotion token with it, so no zero-loss switch. Remove the delay or choose an unplanned failover. Nothing was changed.`,
      );
    const s = await this.api.get(src); // a planned switch needs the other side's API
    const demoted = isReplicaCluster(s);
    if (demoted && s.spec.replica?.primary !== targetName)
      throw new PreconditionFailed(
        `${label(this.cnpg[src])} is not the primary Cluster either (spec.replica.primary ${s.spec.replica?.primary ?? 'unset'}): find the real primary first. Nothing was changed.`,
        { code: 'wrong-target' },
      );
    const before = s.status?.demotionToken;
    if (!demoted) {
      progress(`demoting ${label(this.cnpg[src])}: spec.replica.primary → ${targetName}`);
      // validatePromotionToken: a replica may not keep a promotion token, so the old one goes.
      await this.api.patchReplica(src, { primary: targetName, promotionToken: null });
    }
    const token = await this.waitCluster(
      src,
      'its demotion token (the operator shuts it down cleanly first)',
      progress,
      (c) => {
        const tok = c.status?.demotionToken;
        if (!tok || c.status?.switchReplicaClusterStatus?.inProgress) return undefined;
        return demoted || tok !== before ? { done: tok } : undefined;
      },
    );
    const facts = decodeToken(token);
    progress(
      `${label(this.cnpg[src])} demoted: shutdown checkpoint at ${facts.latestCheckpointREDOLocation} (timeline ${facts.latestCheckpointTimelineID})`,
      { finalLsn: facts.latestCheckpointREDOLocation },
    );
    progress(`promoting ${label(this.cnpg[target])} with the demotion token`);
    try {
      await this.api.patchReplica(target, { primary: targetName, promotionToken: token });
      await this.waitPromoted(target, progress, token);
    } catch (err) {
      // Nothing takes writes now: say how the demoted side becomes the primary again.
      if (err instanceof ProviderError || err instanceof PreconditionFailed)
        err.message = `${err.message}. ${label(this.cnpg[src])} stays demoted (its data ends at ${facts.latestCheckpointREDOLocation}); to make it the primary again, set its spec.replica.primary back to ${this.name_(src)}.`;
      throw err;
    }
    const totalMs = Date.now() - started;
    return {
      noop: false,
      mode: 'planned',
      summary: `CloudNativePG promoted ${targetName} after it replayed ${this.name_(src)}'s shutdown checkpoint ${facts.latestCheckpointREDOLocation} (${Math.round(totalMs / 1000)} s): zero loss; ${this.name_(src)} follows as a replica`,
      evidence: {
        driver: 'cloudnative-pg',
        demoted: this.name_(src),
        promoted: targetName,
        finalLsn: facts.latestCheckpointREDOLocation,
        timeline: facts.latestCheckpointTimelineID,
        systemId: facts.databaseSystemIdentifier,
        totalMs,
      },
      rpo: {
        component: 'database',
        bytes: 0,
        seconds: 0,
        description: `zero loss: CloudNativePG promoted ${targetName} only once it had replayed the demotion token's LSN ${facts.latestCheckpointREDOLocation}`,
      },
    };
  }

  private async unplanned(
    t: CnpgCluster,
    s: CnpgCluster | null,
    { target, progress }: { target: RegionRole; progress: Progress },
  ): Promise<PromotionResult> {
    const started = Date.now();
    const src = other(target);
    const targetName = this.name_(target);
    const standalone = t.spec.replica?.enabled !== undefined;
    const o = await inspect(this.ctx, src);
    const tState = await inspectReachable(this.ctx, target);
    let finalLsn: string | null = null;
    let demotedOld = false;
    if (s && !isReplicaCluster(s) && !standalone) {
      // Never two writers: the old primary's operator fences it now, or when its instance returns.
      progress(`demoting ${label(this.cnpg[src])} so it cannot come back as a writer`);
      const before = s.status?.demotionToken;
      await this.api.patchReplica(src, { primary: targetName, promotionToken: null });
      demotedOld = true;
      if (o.reachable && !o.inRecovery) {
        const token = await this.waitCluster(src, 'its demotion token', progress, (c) =>
          c.status?.demotionToken && c.status.demotionToken !== before
            ? { done: c.status.demotionToken }
            : undefined,
        );
        finalLsn = decodeToken(token).latestCheckpointREDOLocation;
      }
    }
    const received = tState.receiveLsn ?? tState.replayLsn;
    let bytes: number | null;
    let seconds: number | null;
    let description: string;
    let lossEvidence = {};
    if (finalLsn && received) {
      bytes = Math.max(0, lsnDiff(finalLsn, received));
      seconds = bytes === 0 ? 0 : tState.lastReplayAgeSeconds;
      description =
        bytes === 0
          ? `no loss: ${target} had received ${src}'s shutdown checkpoint ${finalLsn}`
          : `${formatBytes(bytes)} of WAL lost: ${src} ended at ${finalLsn}, ${target} received up to ${received}`;
    } else {
      const loss = expectedLoss(
        this.ctx,
        target,
        tState,
        o.reachable ? 'no final WAL position' : o.error.message,
        await writerReading(this.ctx, src, tState),
      );
      ({ bytes, seconds, description } = loss);
      lossEvidence = loss.evidence;
    }
    progress(
      `promoting ${label(this.cnpg[target])} without a token (${standalone ? 'replica.enabled: false' : `replica.primary → ${targetName}`})`,
    );
    await this.api.patchReplica(
      target,
      standalone ? { enabled: false } : { primary: targetName, promotionToken: null },
    );
    await this.waitPromoted(target, progress, null);
    return {
      noop: false,
      mode: 'unplanned',
      summary: `CloudNativePG promoted ${targetName} without a token in ${Math.round((Date.now() - started) / 1000)} s; ${bytes === null ? 'loss not measurable in bytes' : `loss ${formatBytes(bytes)}`}. ${this.name_(src)} must be re-cloned before a failback${demotedOld ? '' : ` (its Cluster could not be demoted: ${s ? 'standalone' : 'its API did not answer'}; make sure it cannot come back as a writer)`}.`,
      evidence: {
        driver: 'cloudnative-pg',
        promoted: targetName,
        oldPrimaryDemoted: demotedOld,
        finalLsn,
        receivedLsn: tState.receiveLsn,
        lostBytes: bytes,
        lostSeconds: seconds,
        oldPrimaryError: o.reachable ? null : o.error.message,
        ...lossEvidence,
        totalMs: Date.now() - started,
      },
      rpo: { component: 'database', bytes, seconds, description },
    };
  }

  /** .status.phase healthy (and lastPromotionToken = token), then the server out of recovery. */
  private async waitPromoted(
    target: RegionRole,
    progress: Progress,
    token: string | null,
  ): Promise<void> {
    await this.waitCluster(target, 'the promotion', progress, (c) => {
      if (c.status?.phase === CNPG_PHASE.unrecoverable)
        return { failed: `CloudNativePG: ${c.status.phaseReason ?? c.status.phase}` };
      if (token && c.status?.lastPromotionToken !== token) return undefined;
      // currentPrimary names the instance that now runs as the Cluster's primary.
      return c.status?.phase === CNPG_PHASE.healthy && c.status.currentPrimary
        ? { done: true }
        : undefined;
    });
    await this.ctx.poll(
      this.cnpg.operationTimeoutSeconds * 1000,
      `${target} to leave recovery`,
      async () => {
        const st = await inspect(this.ctx, target);
        return st.reachable && !st.inRecovery ? true : undefined;
      },
    );
  }

  private async waitCluster<T>(
    side: RegionRole,
    what: string,
    progress: Progress,
    check: (c: CnpgCluster) => Outcome<T>,
  ): Promise<T> {
    const deadline = Date.now() + this.cnpg.operationTimeoutSeconds * 1000;
    let last = '';
    for (;;) {
      const c = await this.api.get(side).catch((err: unknown) => {
        if (err instanceof ProviderError && err.retryable) return null;
        throw err;
      });
      const out = c ? check(c) : undefined;
      if (out && 'done' in out) return out.done;
      if (out && 'failed' in out)
        throw new ProviderError(NAME, `${label(this.cnpg[side])}: ${out.failed}`, {
          code: 'precondition-failed',
        });
      const phase = c?.status?.phase ?? 'unreadable';
      const reason = c?.status?.phaseReason ? ` (${c.status.phaseReason})` : '';
      if (`${phase}${reason}` !== last)
        progress(`${label(this.cnpg[side])}: ${phase}${reason}`, { cnpgPhase: phase });
      last = `${phase}${reason}`;
      if (Date.now() > deadline)
        throw new ProviderError(
          NAME,
          `timed out after ${this.cnpg.operationTimeoutSeconds} s waiting for ${label(this.cnpg[side])}: ${what} (phase ${phase}${reason})`,
          { code: 'timeout', retryable: true },
        );
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /**
   * After a planned switch the operator makes the old primary follow by itself: wait for it. After
   * an unplanned one it must be re-cloned, which the bot does not do (it deletes no Cluster).
   */
  async resync({
    standby,
    progress,
  }: {
    standby: RegionRole;
    progress: Progress;
  }): Promise<ActionResult> {
    if (await isStreamingStandby(this.ctx, standby).catch(() => false))
      return { noop: true, summary: `${standby} is already a streaming replica`, evidence: {} };
    const c = await this.api.get(standby);
    const w = this.name_(other(standby));
    if (!isReplicaCluster(c) || c.status?.phase === CNPG_PHASE.unrecoverable)
      throw new PreconditionFailed(
        `${label(this.cnpg[standby])} cannot follow ${w}${c.status?.phaseReason ? ` (${c.status.phaseReason})` : ''}. ${REBUILD} Re-create it as a replica cluster of ${w} (spec.replica.primary ${w}, bootstrap.pg_basebackup from ${w}), then run the failback again. Nothing was changed.`,
      );
    progress(`waiting for CloudNativePG to make ${label(this.cnpg[standby])} follow ${w}`);
    const started = Date.now();
    await this.ctx.poll(
      this.cnpg.operationTimeoutSeconds * 1000,
      `${standby} to stream from ${w}`,
      async () =>
        (await isStreamingStandby(this.ctx, standby).catch(() => false)) ? true : undefined,
    );
    return {
      noop: false,
      summary: `${label(this.cnpg[standby])} follows ${w} as a replica (no rebuild) after ${Math.round((Date.now() - started) / 1000)} s`,
      evidence: { driver: 'cloudnative-pg', replica: this.name_(standby), primary: w },
    };
  }
}
