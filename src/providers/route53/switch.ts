/**
 * Switching where Route 53 sends users: pinning or releasing the primary's health check
 * (invert-health-check) or swapping the failover records (rewrite-records), then waiting until
 * the answer or the change shows it took effect.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  UpdateHealthCheckCommand,
  type HealthCheck,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { RegionRole } from '../../domain/types.js';
import { DrError, PreconditionFailed, ProviderError } from '../../errors.js';
import type { ActionResult, Progress } from '../types.js';
import { backoffMs, sleep } from '../dns-resolve.js';
import { NAME, call, type Route53Context } from './context.js';
import { targetHealth, unhealthyTargetText } from './health.js';
import {
  describe,
  heldOn,
  pinLine,
  pinOf,
  readState,
  recordValues,
  servedBy,
  testAnswer,
  type HealthCheckPin,
  type RoutingState,
} from './records.js';

async function waitFor<T>(
  ctx: Route53Context,
  what: string,
  poll: () => Promise<T | undefined>,
  progress: Progress,
  onTimeout: (waitedS: number) => DrError,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const done = await poll();
    if (done !== undefined) return done;
    const waited = Date.now() - started;
    if (waited >= ctx.timeoutMs) throw onTimeout(Math.round(waited / 1000));
    progress(`${what} (${Math.round(waited / 1000)} s)`);
    await sleep(backoffMs(attempt, ctx.pollMs));
  }
}

async function waitForAnswer(
  ctx: Route53Context,
  target: RegionRole,
  records: Record<RegionRole, ResourceRecordSet>,
  progress: Progress,
): Promise<string[]> {
  return waitFor(
    ctx,
    `waiting for Route 53 to answer the ${target}`,
    async () => {
      if (records.primary.AliasTarget || records.secondary.AliasTarget) {
        const st = await readState(ctx);
        return st.servedBy === target ? st.answer : undefined;
      }
      const answer = await testAnswer(ctx);
      return servedBy(records, answer) === target ? answer : undefined;
    },
    progress,
    (s) =>
      new ProviderError(
        NAME,
        `the change was made, but after ${s} s TestDNSAnswer still does not answer the ${target} record (${recordValues(records[target]).join(', ')}) for ${ctx.where}. Route 53's health checkers may not have re-evaluated yet, or the ${target}'s own health check fails; look at the health checks in the Route 53 console, then retry (the step re-checks before acting).`,
        { code: 'timeout', retryable: true },
      ),
  );
}

async function waitInsync(
  ctx: Route53Context,
  changeId: string,
  progress: Progress,
): Promise<void> {
  await waitFor(
    ctx,
    `change ${changeId} is PENDING`,
    async () => {
      const out = await call(ctx, `reading change ${changeId}`, () =>
        ctx.client.send(new GetChangeCommand({ Id: changeId })),
      );
      return out.ChangeInfo?.Status === 'INSYNC' ? true : undefined;
    },
    progress,
    (s) =>
      new ProviderError(
        NAME,
        `change ${changeId} for ${ctx.where} is still PENDING after ${s} s: Route 53 accepted it but has not propagated it to its name servers. Retry the step later: it re-reads the records, finds them switched, and re-submits them unchanged to see them INSYNC (nothing is switched twice).`,
        { code: 'timeout', retryable: true },
      ),
  );
}

/** Both flags in one UpdateHealthCheck, so no reader ever sees the check inverted but still evaluated. */
async function setPinned(ctx: Route53Context, hc: HealthCheck, pinned: boolean): Promise<void> {
  await call(
    ctx,
    `${pinned ? 'pinning' : 'releasing'} health check ${hc.Id} (Disabled=${pinned}, Inverted=${pinned})`,
    () =>
      ctx.client.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: hc.Id!,
          HealthCheckVersion: hc.HealthCheckVersion,
          Disabled: pinned,
          Inverted: pinned,
        }),
      ),
  );
}

/**
 * Where users go AND are held: the switch step takes a match as "done". When Route 53 answers a
 * region the controls do not hold it on (rewrite-records with a failing primary: the records
 * still say primary), this is 'unknown', so the switch still runs and pins the traffic there.
 */
export async function currentTarget(ctx: Route53Context): Promise<RegionRole | 'unknown'> {
  const st = await readState(ctx);
  // A change this provider saw PENDING last: not switched until it is INSYNC, even when a name
  // server TestDNSAnswer asked already has it.
  if (ctx.unconfirmed) {
    const id = ctx.unconfirmed;
    const out = await call(ctx, `reading change ${id}`, () =>
      ctx.client.send(new GetChangeCommand({ Id: id })),
    );
    if (out.ChangeInfo?.Status !== 'INSYNC') return 'unknown';
    ctx.unconfirmed = undefined;
  }
  return heldOn(ctx, st) === st.servedBy ? st.servedBy : 'unknown';
}

/** What every switch reports about the state it started from. */
interface SwitchEvidence {
  method: Route53Context['method'];
  record: string;
  before: RegionRole | 'unknown';
  answerBefore: string[];
  ttl: number | null;
}

/** invert-health-check: pin (to the secondary) or release (to the primary) the primary's check. */
async function switchByHealthCheck(
  ctx: Route53Context,
  st: RoutingState,
  target: RegionRole,
  progress: Progress,
  evidence: SwitchEvidence,
): Promise<ActionResult> {
  const { log, recordName } = ctx;
  const hc = st.healthCheck!;
  const pin = pinOf(hc);
  const hcEvidence = { ...evidence, healthCheckId: hc.Id ?? null, pinBefore: pin };
  const endpointText = `${hc.HealthCheckConfig?.FullyQualifiedDomainName ?? hc.HealthCheckConfig?.IPAddress ?? '?'}:${hc.HealthCheckConfig?.Port ?? '?'}${hc.HealthCheckConfig?.ResourcePath ?? ''}`;
  const wanted: HealthCheckPin = target === 'secondary' ? 'pinned' : 'released';
  if (pin === wanted && st.servedBy === target)
    return {
      noop: true,
      summary: `already switched: ${pinLine(hc)} and Route 53 answers the ${describe(st.records, target)}`,
      evidence: hcEvidence,
    };
  if (pin === 'released' && target === 'primary')
    throw new PreconditionFailed(
      `the primary's health check ${hc.Id} is released (not disabled, not inverted) but fails, so Route 53 keeps answering ${describe(st.records, st.servedBy)}. Make the primary's health endpoint (${endpointText}) pass, then retry.`,
      { code: 'precondition-failed' },
    );
  if (pin !== wanted) {
    // Also when the primary's check already fails on its own: unpinned, it would take the traffic back as soon as the endpoint answers.
    progress(
      target === 'secondary'
        ? `pinning health check ${hc.Id} unhealthy (Disabled and Inverted) so Route 53 answers the secondary whatever the primary's endpoint does`
        : `releasing health check ${hc.Id} (Disabled and Inverted back to false) so Route 53 follows the primary's endpoint again`,
    );
    await setPinned(ctx, hc, target === 'secondary');
  }
  const answer = await waitForAnswer(ctx, target, st.records, progress);
  log.info(
    { target, healthCheckId: hc.Id, answer, pinBefore: pin },
    'route53: switched by pinning the health check',
  );
  const how =
    pin === wanted
      ? `${pinLine(hc)} already`
      : target === 'secondary'
        ? `health check ${hc.Id} pinned unhealthy: Disabled=true, Inverted=true`
        : `health check ${hc.Id} released: Disabled=false, Inverted=false`;
  return {
    noop: false,
    summary: `Route 53 now answers the ${describe(st.records, target)} for ${recordName} (${how})`,
    evidence: { ...hcEvidence, pinAfter: wanted, after: target, answerAfter: answer },
  };
}

/** rewrite-records: one batch of two UPSERTs swaps the Failover roles, then waits for INSYNC. */
async function switchByRecords(
  ctx: Route53Context,
  st: RoutingState,
  target: RegionRole,
  progress: Progress,
  evidence: SwitchEvidence,
): Promise<ActionResult> {
  const { opts, client, log, recordName, where } = ctx;
  const targetRec = st.records[target];
  const otherRole: RegionRole = target === 'primary' ? 'secondary' : 'primary';
  // Records already switched (an earlier change that timed out PENDING, or a crash after the
  // submit): the change id is gone, and there is no API that lists a zone's pending changes.
  // Re-submitting the same records is a no-op change that Route 53 applies after every earlier
  // one, so seeing it INSYNC proves the earlier change has propagated too.
  const already = targetRec.Failover === 'PRIMARY';
  const upsert = (r: ResourceRecordSet, failover: 'PRIMARY' | 'SECONDARY') => ({
    Action: 'UPSERT' as const,
    ResourceRecordSet: { ...r, Failover: failover },
  });
  progress(
    already
      ? `the ${target} record "${targetRec.SetIdentifier}" is already PRIMARY; re-submitting the records unchanged to see them propagated (INSYNC)`
      : `swapping failover roles: ${target} record "${targetRec.SetIdentifier}" becomes PRIMARY`,
  );
  const out = await call(ctx, `changing ${where}`, () =>
    client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: opts.hostedZoneId,
        ChangeBatch: {
          Comment: already
            ? `dr-bot: confirm ${recordName} routes to the ${target} (unchanged)`
            : `dr-bot: route ${recordName} to the ${target}`,
          Changes: [upsert(targetRec, 'PRIMARY'), upsert(st.records[otherRole], 'SECONDARY')],
        },
      }),
    ),
  );
  const changeId = out.ChangeInfo?.Id ?? '';
  ctx.unconfirmed = changeId || undefined;
  progress(`change ${changeId} submitted, waiting for INSYNC`);
  await waitInsync(ctx, changeId, progress);
  ctx.unconfirmed = undefined;
  log.info(
    { target, changeId, already },
    already
      ? 'route53: switched failover records confirmed propagated'
      : 'route53: failover records rewritten',
  );
  if (already)
    return {
      noop: true,
      summary: `already switched: the ${target} record "${targetRec.SetIdentifier}" is the PRIMARY failover record of ${recordName}, and change ${changeId} (the same records, re-submitted) is INSYNC, so it has propagated`,
      evidence: { ...evidence, changeId, after: target },
    };
  return {
    noop: false,
    summary: `the ${target} record "${targetRec.SetIdentifier}" is now PRIMARY for ${recordName}; change ${changeId} is INSYNC`,
    evidence: { ...evidence, changeId, after: target },
  };
}

/** A switch to a region Route 53 sees unhealthy would not move users: refused before any change. */
function refuseUnhealthyTarget(ctx: Route53Context, st: RoutingState, target: RegionRole): void {
  if (ctx.opts.allowUnhealthyTarget || !st.health) return;
  // Failback with the pin: a released primary that fails is refused below, naming its endpoint.
  if (ctx.method === 'invert-health-check' && target === 'primary') return;
  if (st.servedBy === target && heldOn(ctx, st) === target) return;
  const h = targetHealth(ctx, st.health, pinOf(st.healthCheck) === 'pinned', target);
  if (h.state === 'unhealthy') throw new PreconditionFailed(unhealthyTargetText(target, h));
}

export async function switchTo(
  ctx: Route53Context,
  { target, progress }: { target: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const st = await readState(ctx, { withHealth: true });
  refuseUnhealthyTarget(ctx, st, target);
  const evidence: SwitchEvidence = {
    method: ctx.method,
    record: ctx.where,
    before: st.servedBy,
    answerBefore: st.answer,
    ttl: st.ttl ?? null,
  };
  if (ctx.method === 'invert-health-check')
    return switchByHealthCheck(ctx, st, target, progress, evidence);
  return switchByRecords(ctx, st, target, progress, evidence);
}
