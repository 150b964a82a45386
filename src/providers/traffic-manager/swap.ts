/**
 * The control state a switch sets and the priority swap's parking scheme: telling a swap
 * interrupted between its PATCHes from a deliberate setting, and finishing or undoing it.
 */
import type { RegionRole } from '../../domain/types.js';
import type { Progress } from '../types.js';
import { other, type TrafficManagerContext } from './context.js';
import { patch, type ProfileState } from './profile.js';

/** Original priorities up to this can be encoded in the parking priority. */
const MAX_ENCODED = 31;
const PARK_TOP = 997;

/**
 * Where a swap parks the endpoint that gains (priority t) before the other (priority o) takes t
 * and it takes o: PARK_TOP - ((t-1)*31 + (o-1)), 37..997. Both visible states of an interrupted
 * swap, (parked, o) and (parked, t), then say which endpoint was moving and both original
 * priorities. undefined when t or o is above 31: the swap parks on a free priority instead and an
 * interruption cannot be told from a deliberate setting.
 */
function parkingPriority(t: number, o: number): number | undefined {
  // A swap only ever moves the endpoint with the higher number (t) to the lower (o).
  if (t <= o || o < 1 || t > MAX_ENCODED) return undefined;
  return PARK_TOP - ((t - 1) * MAX_ENCODED + (o - 1));
}

function decodeParking(p: number): { t: number; o: number } | undefined {
  const code = PARK_TOP - p;
  if (code < 0 || code >= MAX_ENCODED * MAX_ENCODED) return undefined;
  const t = Math.floor(code / MAX_ENCODED) + 1;
  const o = (code % MAX_ENCODED) + 1;
  return t > o ? { t, o } : undefined;
}

/** A swap stopped between PATCHes: `parked` was moving from t to o, the other from o to t. */
interface InterruptedSwap {
  parked: RegionRole;
  t: number;
  o: number;
  /** 1: only the parked endpoint moved; 2: the other has taken t too. */
  step: 1 | 2;
}

export function interruptedSwap(
  ctx: TrafficManagerContext,
  st: ProfileState,
): InterruptedSwap | undefined {
  if (ctx.method !== 'swap-priorities') return undefined;
  const taken = (p: number): boolean => (st.profile.endpoints ?? []).some((e) => e.priority === p);
  for (const parked of ['primary', 'secondary'] as RegionRole[]) {
    const code = decodeParking(st.endpoints[parked].priority ?? 0);
    if (!code) continue;
    const rest = st.endpoints[other(parked)].priority ?? 0;
    if (rest === code.o && !taken(code.t)) return { parked, ...code, step: 1 };
    if (rest === code.t && !taken(code.o)) return { parked, ...code, step: 2 };
  }
  return undefined;
}

/** Is the control state already what a switch to `target` sets? */
export function alreadySet(
  ctx: TrafficManagerContext,
  st: ProfileState,
  target: RegionRole,
): boolean {
  const { primary, secondary } = st.endpoints;
  if (ctx.method === 'disable-endpoint')
    return target === 'secondary'
      ? primary.endpointStatus === 'Disabled'
      : primary.endpointStatus === 'Enabled';
  if (interruptedSwap(ctx, st)) return false;
  const [t, o] = target === 'primary' ? [primary, secondary] : [secondary, primary];
  return (t.priority ?? 0) < (o.priority ?? 0);
}

/** Where the controls hold users; 'partial' for a swap interrupted between its PATCHes. */
export function heldOn(ctx: TrafficManagerContext, st: ProfileState): RegionRole | 'partial' {
  if (interruptedSwap(ctx, st)) return 'partial';
  return alreadySet(ctx, st, 'secondary') ? 'secondary' : 'primary';
}

/**
 * Finish (toward `target`) or undo (toward the other) an interrupted swap, with its original
 * priorities. Either way `target` ends preferred: undoing a swap toward the other restores the
 * priorities from before it, when `target` was preferred.
 */
export async function settleSwap(
  ctx: TrafficManagerContext,
  swap: InterruptedSwap,
  target: RegionRole,
  progress: Progress,
): Promise<string> {
  const { names } = ctx;
  const moving = swap.parked;
  const rest = other(moving);
  if (moving === target) {
    progress(
      `finishing an interrupted priority swap: "${names[rest]}" takes ${swap.t}, "${names[moving]}" takes ${swap.o}`,
    );
    if (swap.step === 1) await patch(ctx, rest, { priority: swap.t });
    await patch(ctx, moving, { priority: swap.o });
    return `finished an interrupted priority swap (it had stopped after PATCH ${swap.step} of 3)`;
  }
  progress(
    `undoing an interrupted priority swap toward the ${moving}: "${names[rest]}" back to ${swap.o}, "${names[moving]}" back to ${swap.t}`,
  );
  if (swap.step === 2) await patch(ctx, rest, { priority: swap.o });
  await patch(ctx, moving, { priority: swap.t });
  return `undid an interrupted priority swap toward the ${moving} (it had stopped after PATCH ${swap.step} of 3)`;
}

/** swap-priorities: the target takes the other's lower priority number, in three PATCHes. */
export async function swapPriorities(
  ctx: TrafficManagerContext,
  st: ProfileState,
  target: RegionRole,
  progress: Progress,
): Promise<void> {
  const { names } = ctx;
  const t = st.endpoints[target].priority ?? 0;
  const o = st.endpoints[other(target)].priority ?? 0;
  const used = new Set((st.profile.endpoints ?? []).map((e) => e.priority));
  const encoded = parkingPriority(t, o);
  let park = encoded !== undefined && !used.has(encoded) ? encoded : 1000;
  while (used.has(park)) park -= 1;
  progress(`swapping priorities: the ${target} endpoint "${names[target]}" takes priority ${o}`);
  // Priorities are unique per profile: park the target (on a priority that records t and o), then swap.
  await patch(ctx, target, { priority: park });
  await patch(ctx, other(target), { priority: t });
  await patch(ctx, target, { priority: o });
}
