/**
 * The azure-flexible driver: Azure Database for PostgreSQL flexible server with a cross-region
 * read replica. SQL does what SQL can (readiness, the role fence, catch-up to the final LSN, loss,
 * consistency: the streaming code); Azure does the promotion (Servers - Update with
 * replica.promoteMode and promoteOption). With a virtual endpoint pair the promotion is a
 * switchover (roles swap, the old primary becomes the replica, failback is a switchover back);
 * without, it is standalone and final, and failback is a rebuild: a new read replica.
 */
import type { ComponentReadiness, Mode, RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import type { ActionResult, DatabaseProvider, Progress, PromotionResult } from '../types.js';
import {
  AzureFlexibleApi,
  DRIVER,
  isReplicaRole,
  type AzureFlexibleOptions,
  type FlexServer,
} from './azure-flexible-api.js';
import { SqlDatabaseProvider } from './sql-provider.js';
import { NAME, other, PgContext, type PostgresProviderOptions } from './context.js';
import { promote, waitForReplay } from './promote.js';
import { readiness } from './readiness.js';
import { withRights } from './rights.js';
import { inspect, isStreamingStandby, isWriter, writePosition } from './state.js';

type PromoteMode = 'switchover' | 'standalone';

const RIGHTS =
  'Servers - Get works; the rights to promote (Servers - Update) and to create a replica cannot be dry-run.';

/** What Azure will be asked for a promotion of the target, and what it would refuse. */
interface Plan {
  promoteMode: PromoteMode;
  server: FlexServer | null;
  refusal: string | null;
  /** Why the plan is a standalone one, or a read that failed: for the card. */
  notes: string[];
}

export function createAzureFlexibleProvider(
  pg: Omit<PostgresProviderOptions, 'promoter'>,
  az: AzureFlexibleOptions,
): DatabaseProvider {
  return new AzureFlexibleProvider(pg, az);
}

class AzureFlexibleProvider extends SqlDatabaseProvider implements DatabaseProvider {
  readonly name = NAME;
  protected readonly ctx: PgContext;
  private readonly api: AzureFlexibleApi;
  /** Set by promote() for the promoter it calls: the failover's mode and Azure's promoteMode. */
  private pending: { mode: Mode; promoteMode: PromoteMode } = {
    mode: 'planned',
    promoteMode: 'switchover',
  };
  /** How long the last rebuild took in this process, for the card. */
  private lastRebuildMs: number | null = null;

  constructor(
    pg: Omit<PostgresProviderOptions, 'promoter'>,
    private readonly az: AzureFlexibleOptions,
  ) {
    super();
    this.ctx = new PgContext({ ...pg, promoter: (t, p) => this.promoteReplica(t, p) });
    this.api = new AzureFlexibleApi(az);
  }

  private async plan(target: RegionRole): Promise<Plan> {
    const name = this.api.name(target);
    const src = other(target);
    const server = await this.api.get(target);
    const ve = this.az.virtualEndpoint;
    const plan: Plan = {
      promoteMode: ve ? 'switchover' : 'standalone',
      server,
      refusal: null,
      notes: [],
    };
    const refuse = (why: string): Plan => ({ ...plan, refusal: why });
    if (!server)
      return refuse(
        `Azure has no flexible server ${name} in ${this.api.group(target)}: check components.postgres.azureFlexible.`,
      );
    if (!isReplicaRole(server.role) || !server.source)
      return refuse(
        `${name} is not a read replica (role ${server.role}): Azure would refuse to promote it.`,
      );
    if (server.state !== 'Ready')
      return refuse(
        `${name} is ${server.state}, not Ready: Azure refuses a promotion until its current operation ends.`,
      );
    if (server.replicationState !== 'Active' && server.replicationState !== 'Catchup')
      return refuse(
        `${name}'s replication is ${server.replicationState ?? 'unknown'}: Azure promotes a replica once replication is Active.`,
      );
    if (!ve) {
      plan.notes.push(
        'no virtualEndpoint configured: a promotion is standalone and final (the old primary stays a separate server).',
      );
      return plan;
    }
    // The virtual endpoints live on the primary; its region may be down, its ARM resource rarely is.
    const [endpoints, source] = await Promise.all([
      this.api.virtualEndpoints(src).catch((err: Error) => err),
      this.api.get(src).catch(() => null),
    ]);
    if (endpoints instanceof Error) {
      plan.notes.push(
        `the virtual endpoints could not be read (${endpoints.message}): Azure checks them at the switchover.`,
      );
    } else {
      const found = endpoints.find((e) => e.name === ve);
      if (!found)
        return refuse(
          `virtual endpoint ${ve} is not on ${this.api.name(src)}: a switchover needs it (writer on the primary, reader on ${name}). Create it, or remove azureFlexible.virtualEndpoint for a standalone promotion.`,
        );
      if (!found.members.some((m) => m.toLowerCase() === name.toLowerCase()))
        return refuse(
          `the reader endpoint of ${ve} points at ${found.members.join(', ') || 'the primary'}, not ${name}: Azure promotes only the replica it names. Point it at ${name}.`,
        );
    }
    if (source && (source.tier !== server.tier || source.storageGB !== server.storageGB))
      return refuse(
        `a switchover swaps the roles, so both servers need the same compute tier and storage: ${source.name} is ${source.tier} ${source.storageGB} GB, ${name} is ${server.tier} ${server.storageGB} GB.`,
      );
    return plan;
  }

  private failbackText(promoteMode: PromoteMode): string {
    if (promoteMode === 'switchover')
      return `azure-flexible: a promotion is a switchover through virtual endpoint ${this.az.virtualEndpoint}: the roles swap and the old primary becomes the replica; failback is a switchover back.`;
    const last =
      this.lastRebuildMs === null
        ? 'No rebuild timed by this bot yet.'
        : `The last rebuild took ${Math.round(this.lastRebuildMs / 60000)} min.`;
    return `azure-flexible: a standalone promotion is final. Failback is a rebuild: a new read replica is created in the old primary's region, which copies the whole database. ${last}`;
  }

  async readiness(target: RegionRole): Promise<ComponentReadiness> {
    const r = await withRights(this.ctx, () => readiness(this.ctx, target), 'fence');
    let plan: Plan;
    try {
      plan = await this.plan(target);
    } catch (err) {
      return { ...r, status: 'warning', warnings: [...(r.warnings ?? []), (err as Error).message] };
    }
    // A switchover is the normal case: said in the summary. A standalone promotion is final and
    // its failback a rebuild: a warning, as a read that failed is.
    const about = `${this.failbackText(plan.promoteMode)} ${RIGHTS}`;
    const standalone = plan.promoteMode === 'standalone';
    const summary = standalone ? r.summary : `${r.summary}. ${about}`;
    const warnings = [
      ...(r.warnings ?? []),
      ...plan.notes.map((n) => `azure-flexible: ${n}`),
      ...(standalone ? [about] : []),
    ];
    const s = plan.server;
    const planFacts = {
      ...r.planFacts,
      azureServer: this.api.name(target),
      azureState: s?.state ?? 'not found',
      azureRole: s?.role ?? null,
      replicationState: s?.replicationState ?? null,
      promoteMode: plan.promoteMode,
    };
    if (plan.refusal && r.details.targetInRecovery !== false)
      return {
        ...r,
        status: 'blocked',
        summary: plan.refusal,
        warnings: standalone ? warnings : [...warnings, about],
        planFacts,
      };
    return {
      ...r,
      summary,
      ...(warnings.length > 0 ? { warnings } : { warnings: undefined }),
      planFacts,
      details: { ...r.details, azureState: planFacts.azureState },
    };
  }

  async promote(opts: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
  }): Promise<PromotionResult> {
    let promoteMode = this.pending.promoteMode;
    if (!(await isWriter(this.ctx, opts.target).catch(() => false))) {
      // Refuse what Azure would refuse before the fence stops the application.
      const plan = await this.plan(opts.target);
      if (plan.refusal) throw new PreconditionFailed(`${plan.refusal} Nothing was changed.`);
      promoteMode = plan.promoteMode;
    }
    this.pending = { mode: opts.mode, promoteMode };
    const result = await promote(this.ctx, opts);
    const promoteOption = opts.mode === 'planned' ? 'planned' : 'forced';
    return {
      ...result,
      summary: result.noop
        ? result.summary
        : `${result.summary} (Azure ${promoteMode}, ${promoteOption})`,
      evidence: {
        ...result.evidence,
        driver: DRIVER,
        promoteMode,
        promoteOption,
      },
    };
  }

  /** Servers - Update (replica.promoteMode, promoteOption), Azure's role for it, then SQL. */
  private async promoteReplica(target: RegionRole, progress: Progress): Promise<number> {
    const started = Date.now();
    const name = this.api.name(target);
    const { promoteMode } = this.pending;
    // Planned: Azure applies the pending WAL first; forced: at once, the lag is the loss.
    const promoteOption = this.pending.mode === 'planned' ? 'planned' : 'forced';
    progress(`Servers.update ${name}: promoteMode ${promoteMode}, promoteOption ${promoteOption}`);
    await this.api.promote(target, promoteMode, promoteOption);
    await this.waitForServer(
      target,
      this.az.promoteTimeoutSeconds * 1000,
      progress,
      (s) => !isReplicaRole(s.role) && s.state === 'Ready',
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

  private async waitForServer(
    side: RegionRole,
    timeoutMs: number,
    progress: Progress,
    done: (s: FlexServer) => boolean,
  ): Promise<FlexServer> {
    const deadline = Date.now() + timeoutMs;
    const name = this.api.name(side);
    let last = '';
    for (;;) {
      const s = await this.api.get(side);
      if (s && done(s)) return s;
      const shown = s
        ? `${s.state}, ${s.role}${s.replicationState ? `, replication ${s.replicationState}` : ''}`
        : 'not found';
      if (shown !== last) progress(`${name}: ${shown}`, { azureServer: shown });
      last = shown;
      if (Date.now() > deadline)
        throw new ProviderError(
          DRIVER,
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${name} (${shown})`,
          {
            code: 'timeout',
            retryable: true,
          },
        );
      await new Promise((r) => setTimeout(r, this.az.pollIntervalMs));
    }
  }

  /**
   * Failback's first half. After a switchover Azure made the old primary the replica (at once, or
   * when its region came back): wait for it. After a standalone promotion: a new read replica.
   */
  async resync({
    standby,
    progress,
  }: {
    standby: RegionRole;
    progress: Progress;
  }): Promise<ActionResult> {
    const name = this.api.name(standby);
    const src = other(standby);
    const srcName = this.api.name(src);
    if (await isStreamingStandby(this.ctx, standby).catch(() => false))
      return {
        noop: true,
        summary: `${name} is already a streaming replica of ${srcName}`,
        evidence: { driver: DRIVER },
      };
    if (!(await isWriter(this.ctx, src)))
      throw new PreconditionFailed(
        `${this.ctx.where(src)} is not a writer: there is nothing to make ${name} a replica of. Nothing was changed.`,
      );
    const started = Date.now();
    const timeoutMs = this.az.rebuildTimeoutMinutes * 60_000;
    const server = await this.api.get(standby);
    let rebuilt = false;
    if (server && isReplicaRole(server.role)) {
      progress(
        `${name} is a replica of ${server.source ?? srcName} for Azure: waiting until it replicates (Azure reconfigures it once it is up)`,
      );
    } else if (server) {
      throw new PreconditionFailed(
        `${name} is a standalone server (a standalone promotion left it): Azure cannot make it a replica again, nor create one under its name while it exists. Save what you need from it (writes made there after the failover are not in ${srcName}), delete it, then retry: the failback creates a new read replica named ${name}. Nothing was changed.`,
      );
    } else {
      progress(
        `creating ${name} as a new read replica of ${srcName} in ${this.az[standby].location}: a rebuild, the whole database is copied`,
      );
      await this.api.createReplica(standby, src);
      rebuilt = true;
    }
    await this.waitForServer(
      standby,
      timeoutMs,
      progress,
      (s) => s.state === 'Ready' && s.replicationState === 'Active',
    );
    await this.ctx.poll(timeoutMs, `${standby} to stream`, async () =>
      (await isStreamingStandby(this.ctx, standby).catch(() => false)) ? true : undefined,
    );
    const caughtUp = await waitForReplay(
      this.ctx,
      standby,
      await writePosition(this.ctx, src),
      progress,
    );
    const ms = Date.now() - started;
    if (rebuilt) this.lastRebuildMs = ms;
    return {
      noop: false,
      summary: rebuilt
        ? `rebuilt ${standby}: ${name} is a new read replica of ${srcName}, caught up in ${Math.round(ms / 1000)} s`
        : `${name} replicates from ${srcName} again (Azure reconfigured it), caught up in ${Math.round(ms / 1000)} s`,
      evidence: {
        driver: DRIVER,
        replica: name,
        source: srcName,
        rebuilt,
        ms,
        replayLsn: caughtUp.replayLsn,
      },
    };
  }
}
