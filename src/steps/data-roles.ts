/**
 * Where a data component writes after its promotion step acted or failed, read from the real
 * servers: the step record a split data tier (one component switched, the other not) is shown
 * and undone from. Reading never fails the step: what cannot be read is said so.
 */
import type { DataComponent, DataTierRole, RegionRole, StepOutcome } from '../domain/types.js';
import { errorInfo, FailedWithRoles } from '../errors.js';
import type { StepContext } from './types.js';

async function writes(ctx: StepContext, component: DataComponent, side: RegionRole) {
  try {
    return await ctx.providers[component]!.isWriter(side);
  } catch (err) {
    return errorInfo(err).message;
  }
}

/** The roles of `component` now; `changed` against the approved state (the primary writing). */
async function readRoles(ctx: StepContext, component: DataComponent): Promise<DataTierRole> {
  const regions = ctx.regions ?? { primary: 'primary', secondary: 'secondary' };
  const [p, s] = [
    await writes(ctx, component, 'primary'),
    await writes(ctx, component, 'secondary'),
  ];
  const writer = s === true ? 'secondary' : p === true ? 'primary' : null;
  const unread = [p, s].find((a): a is string => typeof a === 'string');
  const note =
    p === true && s === true
      ? 'both sides take writes'
      : unread !== undefined
        ? `not readable: ${unread}`
        : writer === null
          ? 'neither side takes writes (the primary fenced?)'
          : undefined;
  const canUndo =
    component === 'cache' && writer === 'secondary' && ctx.providers.cache?.undoPromotion;
  return {
    component,
    writer,
    regions,
    // An unreadable primary is not shown as changed: the card says it could not read it.
    changed: writer !== 'primary' && unread === undefined,
    ...(note ? { note } : {}),
    ...(canUndo ? { undo: 'switch-back' as const } : {}),
  };
}

/** Run a promotion step and record where its component writes afterwards, failed or not. */
export async function withRoles(
  ctx: StepContext,
  component: DataComponent,
  run: () => Promise<StepOutcome>,
): Promise<StepOutcome> {
  let outcome: StepOutcome;
  try {
    outcome = await run();
  } catch (err) {
    throw new FailedWithRoles(err, await readRoles(ctx, component));
  }
  return { ...outcome, roles: await readRoles(ctx, component) };
}
