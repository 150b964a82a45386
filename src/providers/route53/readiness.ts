/**
 * The pre-approval readiness of the Route 53 switch: what users are sent to now, how long a
 * failover takes against the RTO target, and what would make the switch not hold.
 */
import { GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { failoverTime, failoverWarning } from '../dns-resolve.js';
import { NAME, call, type Route53Context } from './context.js';
import { detection } from './detection.js';
import { targetHealth, unhealthyTargetText, type RecordHealth } from './health.js';
import {
  describe,
  heldOn,
  pinLine,
  pinOf,
  readState,
  recordValues,
  type RoutingState,
} from './records.js';

/** What readiness warns about the pin, the answer and the record's health check. */
function routingWarnings(
  ctx: Route53Context,
  st: RoutingState,
  held: RegionRole | 'partial',
  target: RegionRole,
): string[] {
  const { opts, method } = ctx;
  const warnings: string[] = [];
  if (method === 'invert-health-check' && held === 'partial')
    warnings.push(
      st.healthCheck?.HealthCheckConfig?.Inverted === true
        ? `the primary's ${pinLine(st.healthCheck)}: inverted but still evaluated, so a primary whose endpoint fails passes it and gets the traffic back. A switch sets both (to the secondary) or clears both (to the primary).`
        : `the primary's ${pinLine(st.healthCheck)}: a disabled check counts as healthy, so Route 53 sends users to the primary whatever its endpoint says. A switch sets both (to the secondary) or clears both (to the primary).`,
    );
  if (
    method === 'invert-health-check' &&
    held === 'primary' &&
    st.servedBy === 'secondary' &&
    target === 'secondary'
  )
    warnings.push(
      `the primary's health check ${st.healthCheck?.Id} is failing, so Route 53 already answers the secondary, but only until the primary's endpoint answers again; the switch pins it on the secondary.`,
    );
  if (
    method === 'invert-health-check' &&
    st.records.primary.HealthCheckId !== opts.primaryHealthCheckId
  )
    warnings.push(
      `the primary record is associated with health check ${st.records.primary.HealthCheckId ?? '(none)'}, not the configured ${opts.primaryHealthCheckId}: inverting the configured one will not move traffic.`,
    );
  if (st.servedBy === 'unknown')
    warnings.push(
      st.records.primary.AliasTarget || st.records.secondary.AliasTarget
        ? `which alias record Route 53 answers cannot be told: ${[st.health?.primary, st.health?.secondary].map((h) => h?.why ?? '?').join('; ')}. Associate a health check with each alias record so its health can be read.`
        : `TestDNSAnswer returns ${st.answer.join(', ') || 'nothing'}, which matches neither failover record.`,
    );
  return warnings;
}

/** The records' health and the primary's check, as the preflight details show them. */
function healthDetails(
  st: RoutingState,
  target: RecordHealth | undefined,
): Record<string, unknown> {
  return {
    primaryHealth: st.health?.primary.state ?? null,
    secondaryHealth: st.health?.secondary.state ?? null,
    ...(target ? { targetHealth: target.why } : {}),
    ...(st.healthCheck
      ? {
          healthCheckId: st.healthCheck.Id ?? null,
          healthCheckInverted: st.healthCheck.HealthCheckConfig?.Inverted === true,
          healthCheckDisabled: st.healthCheck.HealthCheckConfig?.Disabled === true,
        }
      : {}),
  };
}

/** What the target's health means for the switch: refused when unhealthy, unless allowed. */
function targetHealthVerdict(
  ctx: Route53Context,
  st: RoutingState,
  target: RegionRole,
  already: boolean,
): { blocked?: string; warning?: string; health?: RecordHealth } {
  if (!st.health || already) return {};
  const h = targetHealth(ctx, st.health, pinOf(st.healthCheck) === 'pinned', target);
  if (h.state === 'unknown')
    return { health: h, warning: `the ${target}'s health cannot be read: ${h.why}.` };
  if (h.state === 'healthy') return { health: h };
  if (ctx.opts.allowUnhealthyTarget)
    return {
      health: h,
      warning: `${target} unhealthy (${h.why}): Route 53 keeps answering the other region until it passes; switching anyway because allowUnhealthyTarget is set.`,
    };
  return { health: h, blocked: unhealthyTargetText(target, h) };
}

export async function readiness(
  ctx: Route53Context,
  target: RegionRole,
): Promise<ComponentReadiness> {
  const { opts, client, method, recordName, recordType } = ctx;
  const planFacts = {
    provider: NAME,
    zone: opts.hostedZoneId,
    record: recordName,
    type: recordType,
    method,
  };
  let st: RoutingState;
  let zoneName: string | undefined;
  try {
    const zone = await call(ctx, `reading hosted zone ${opts.hostedZoneId}`, () =>
      client.send(new GetHostedZoneCommand({ Id: opts.hostedZoneId })),
    );
    zoneName = zone.HostedZone?.Name;
    st = await readState(ctx, { withHealth: true });
  } catch (err) {
    const info = errorInfo(err);
    return {
      component: 'dns',
      status: 'blocked',
      summary: info.message,
      details: { error: info.message, code: info.code },
      planFacts,
    };
  }
  const warnings: string[] = [];
  const time = failoverTime(st.ttl, await detection(ctx, st));
  const timeWarn = failoverWarning(
    time,
    opts.rtoMinutes,
    "Lower the records' TTL (or the health check's FailureThreshold) well before a drill.",
  );
  if (timeWarn) warnings.push(timeWarn);
  const held = heldOn(ctx, st);
  warnings.push(...routingWarnings(ctx, st, held, target));
  const already = st.servedBy === target && held === target;
  const verdict = targetHealthVerdict(ctx, st, target, already);
  if (verdict.warning) warnings.push(verdict.warning);
  const summary =
    verdict.blocked ??
    `${recordName} ${recordType}: users go to the ${describe(st.records, st.servedBy)}, failover time ${time.text}; ${already ? `already on the ${target}, nothing to switch` : method === 'invert-health-check' ? `switch by ${target === 'secondary' ? 'pinning' : 'releasing'} health check ${opts.primaryHealthCheckId} (Disabled and Inverted ${target === 'secondary' ? 'true' : 'false'})` : 'switch by swapping the failover records'}`;
  return {
    component: 'dns',
    status: verdict.blocked ? 'blocked' : warnings.length > 0 ? 'warning' : 'ready',
    summary,
    details: {
      zone: opts.hostedZoneId,
      zoneName: zoneName ?? null,
      record: recordName,
      type: recordType,
      method,
      servedBy: st.servedBy,
      heldOn: held,
      answer: st.answer,
      ttl: st.ttl ?? null,
      failoverSeconds: time.seconds ?? null,
      failoverText: time.text,
      primaryValues: recordValues(st.records.primary),
      secondaryValues: recordValues(st.records.secondary),
      ...healthDetails(st, verdict.health),
    },
    planFacts: {
      ...planFacts,
      servedBy: st.servedBy,
      ttl: st.ttl ?? null,
      ...(verdict.blocked ? { targetUnhealthy: true } : {}),
    },
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
