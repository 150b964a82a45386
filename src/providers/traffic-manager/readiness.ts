/**
 * The pre-approval readiness of the Traffic Manager switch: what users are sent to now, how long
 * a failover takes against the RTO target, and what would make the switch not hold.
 */
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { failoverTime, failoverWarning, type FailoverDetection } from '../dns-resolve.js';
import { NAME, UNHEALTHY, type TrafficManagerContext } from './context.js';
import { describe, endpointLine, readState, type ProfileState } from './profile.js';
import { alreadySet, heldOn, interruptedSwap } from './swap.js';

/**
 * How long Traffic Manager keeps handing out a failed endpoint: it tolerates
 * toleratedNumberOfFailures failed probes and marks the endpoint Degraded on the next one,
 * probing every intervalInSeconds.
 */
function detection(st: ProfileState): FailoverDetection {
  const e = st.endpoints[st.servedBy === 'unknown' ? 'primary' : st.servedBy];
  if (e.alwaysServe === 'Enabled')
    return {
      known: false,
      why: `endpoint "${e.name}" has Always Serve enabled, so Traffic Manager does not probe it and does not fail over by itself`,
    };
  const interval = st.profile.monitorConfig?.intervalInSeconds;
  const tolerated = st.profile.monitorConfig?.toleratedNumberOfFailures;
  if (interval === undefined || tolerated === undefined)
    return {
      known: false,
      why: 'the profile reports no monitor intervalInSeconds or toleratedNumberOfFailures',
    };
  return {
    known: true,
    seconds: (tolerated + 1) * interval,
    how: `probes ${tolerated + 1} × ${interval} s (${tolerated} tolerated failures + 1)`,
    watcher: 'the monitor',
  };
}

/** What readiness warns about the target endpoint's health, a stopped swap and the priorities. */
function endpointWarnings(
  ctx: TrafficManagerContext,
  st: ProfileState,
  target: RegionRole,
): string[] {
  const { method, names } = ctx;
  const warnings: string[] = [];
  if (
    UNHEALTHY.has(st.endpoints[target].endpointMonitorStatus ?? '') &&
    st.endpoints[target].endpointStatus === 'Enabled'
  )
    warnings.push(
      `the ${target} endpoint "${names[target]}" is ${st.endpoints[target].endpointMonitorStatus}: Traffic Manager may not route to it after the switch.`,
    );
  const swap = interruptedSwap(ctx, st);
  if (swap)
    warnings.push(
      `a priority swap toward the ${swap.parked} stopped after PATCH ${swap.step} of 3 (${endpointLine(st.endpoints.primary)}; ${endpointLine(st.endpoints.secondary)}): the next switch finishes or undoes it with the original priorities ${swap.o} and ${swap.t}.`,
    );
  if (
    method === 'disable-endpoint' &&
    (st.endpoints.primary.priority ?? 0) > (st.endpoints.secondary.priority ?? 0)
  )
    warnings.push(
      `the primary endpoint has the higher priority number (${st.endpoints.primary.priority} > ${st.endpoints.secondary.priority}): enabling it will not route users back to it.`,
    );
  return warnings;
}

export async function readiness(
  ctx: TrafficManagerContext,
  target: RegionRole,
): Promise<ComponentReadiness> {
  const { opts, method, names } = ctx;
  const planFacts = {
    provider: NAME,
    subscription: opts.subscriptionId,
    resourceGroup: opts.resourceGroup,
    profile: opts.profileName,
    method,
  };
  let st: ProfileState;
  try {
    st = await readState(ctx);
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
  const time = failoverTime(st.ttl, detection(st));
  const details = {
    fqdn: st.fqdn ?? null,
    ttl: st.ttl ?? null,
    failoverSeconds: time.seconds ?? null,
    failoverText: time.text,
    servedBy: st.servedBy,
    heldOn: heldOn(ctx, st),
    primary: endpointLine(st.endpoints.primary),
    secondary: endpointLine(st.endpoints.secondary),
    method,
  };
  const head = `${opts.profileName} (${st.fqdn ?? '?'}, TTL ${st.ttl ?? '?'} s): users go to the ${describe(st, st.servedBy)}, failover time ${time.text}`;
  if (
    st.endpoints[target].endpointStatus !== 'Enabled' &&
    !(method === 'disable-endpoint' && target === 'primary')
  )
    return {
      component: 'dns',
      status: 'blocked',
      summary: `${head}; the ${target} endpoint "${names[target]}" is disabled, enable it first`,
      details,
      planFacts,
    };
  const warnings: string[] = [];
  const timeWarn = failoverWarning(
    time,
    opts.rtoMinutes,
    "Lower the profile's DNS TTL (or the monitor's interval or tolerated failures) well before a drill.",
  );
  if (timeWarn) warnings.push(timeWarn);
  warnings.push(...endpointWarnings(ctx, st, target));
  const already = alreadySet(ctx, st, target) && st.servedBy === target;
  const how =
    method === 'disable-endpoint'
      ? `${target === 'secondary' ? 'disable' : 'enable'} endpoint "${names.primary}"`
      : 'swap the endpoint priorities';
  return {
    component: 'dns',
    status: warnings.length > 0 ? 'warning' : 'ready',
    summary: `${head}; ${already ? `already on the ${target}, nothing to switch` : `switch: ${how}`}`,
    details,
    planFacts: { ...planFacts, servedBy: st.servedBy, ttl: st.ttl ?? null },
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
