/**
 * Switching where Traffic Manager sends users: disabling or enabling the primary endpoint, or
 * swapping priorities (finishing an interrupted swap first), then waiting until it routes there.
 */
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import type { ActionResult, Progress } from '../types.js';
import { backoffMs, sleep } from '../dns-resolve.js';
import { NAME, type TrafficManagerContext } from './context.js';
import { describe, endpointLine, patch, readState, type ProfileState } from './profile.js';
import { alreadySet, heldOn, interruptedSwap, settleSwap, swapPriorities } from './swap.js';

async function waitForRouting(
  ctx: TrafficManagerContext,
  target: RegionRole,
  progress: Progress,
): Promise<ProfileState> {
  const { opts, timeoutMs, pollMs, where } = ctx;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const st = await readState(ctx);
    if (st.servedBy === target) return st;
    const waited = Date.now() - started;
    if (waited >= timeoutMs)
      throw new ProviderError(
        NAME,
        `the change was made, but after ${Math.round(waited / 1000)} s ${where} still routes to ${describe(st, st.servedBy)}: ${endpointLine(st.endpoints.primary)}; ${endpointLine(st.endpoints.secondary)}. Check the ${target} endpoint's health probe in the portal, then retry (the step re-checks before acting).`,
        { code: 'timeout', retryable: true },
      );
    progress(
      `waiting for ${opts.profileName} to route to the ${target} (${Math.round(waited / 1000)} s)`,
    );
    await sleep(backoffMs(attempt, pollMs));
  }
}

/**
 * Where users go AND are held: the switch step takes a match as "done". A degraded but still
 * enabled primary sends users to the secondary only until it recovers, so that is 'unknown'
 * and the switch still runs and disables it (or swaps priorities).
 */
export async function currentTarget(ctx: TrafficManagerContext): Promise<RegionRole | 'unknown'> {
  const st = await readState(ctx);
  return heldOn(ctx, st) === st.servedBy ? st.servedBy : 'unknown';
}

export async function switchTo(
  ctx: TrafficManagerContext,
  { target, progress }: { target: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const { opts, method, log, names, where } = ctx;
  const st = await readState(ctx);
  const evidence = {
    method,
    profile: opts.profileName,
    before: st.servedBy,
    primary: endpointLine(st.endpoints.primary),
    secondary: endpointLine(st.endpoints.secondary),
    ttl: st.ttl ?? null,
  };
  if (
    st.endpoints[target].endpointStatus !== 'Enabled' &&
    !(method === 'disable-endpoint' && target === 'primary')
  )
    throw new PreconditionFailed(
      `the ${target} endpoint "${names[target]}" of ${where} is disabled: dr-bot will not send users to a disabled endpoint. Enable it (and check its health) first.`,
      { code: 'precondition-failed' },
    );
  const swap = interruptedSwap(ctx, st);
  const settled = swap ? await settleSwap(ctx, swap, target, progress) : undefined;
  if (!swap && alreadySet(ctx, st, target)) {
    if (st.servedBy !== target)
      throw new PreconditionFailed(
        `${where} is already set up for the ${target} (${endpointLine(st.endpoints[target])}) but routes to ${describe(st, st.servedBy)}: the ${target} endpoint is not healthy. Fix its health probe, then retry.`,
        { code: 'precondition-failed' },
      );
    return {
      noop: true,
      summary: `already switched: ${where} routes to the ${describe(st, target)}`,
      evidence,
    };
  }
  if (method === 'disable-endpoint') {
    const status = target === 'secondary' ? 'Disabled' : 'Enabled';
    progress(
      `${status === 'Disabled' ? 'disabling' : 'enabling'} the primary endpoint "${names.primary}"`,
    );
    await patch(ctx, 'primary', { endpointStatus: status });
  } else if (!settled) {
    await swapPriorities(ctx, st, target, progress);
  }
  const after = await waitForRouting(ctx, target, progress);
  log.info({ target, method }, 'traffic-manager: switched');
  return {
    noop: false,
    summary: `${where} now routes to the ${describe(after, target)} (${method === 'disable-endpoint' ? `primary endpoint ${target === 'secondary' ? 'disabled' : 'enabled'}` : (settled ?? 'priorities swapped')})`,
    evidence: {
      ...evidence,
      after: target,
      primaryAfter: endpointLine(after.endpoints.primary),
      secondaryAfter: endpointLine(after.endpoints.secondary),
    },
  };
}
