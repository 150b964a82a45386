/**
 * Where a data component writes after its promotion step acted or failed, read from the real
 * servers: the step record a split data tier (one component switched, the other not) is shown
 * and undone from. Reading never fails the step: what cannot be read is said so.
 */
import type { DataComponent, DataTierRole, RegionRole, StepOutcome } from '../domain/types.js';
import { errorInfo, FailedWithRoles } from '../errors.js';
import type { CheckOutcome, StepContext } from './types.js';

async function writes(ctx: StepContext, component: DataComponent, side: RegionRole) {
  try {
    return await ctx.providers[component]!.isWriter(side);
  } catch (err) {
    return errorInfo(err).message;
  }
}

/**
 * What the bot can put back: a promoted Redis (switched back), or a PostgreSQL primary fenced
 * while its standby still streams from it, i.e. was never promoted (the fence lifted). Never a
 * promoted PostgreSQL: it may hold writes that a switch back would drop.
 */
async function undoFor(
  ctx: StepContext,
  component: DataComponent,
  writer: RegionRole | null,
): Promise<DataTierRole['undo']> {
  if (component === 'cache')
    return writer === 'secondary' && ctx.providers.cache?.undoPromotion ? 'switch-back' : undefined;
  const db = ctx.providers.database;
  if (writer !== null || !db?.undoPromotion) return undefined;
  try {
    return (await db.isStreamingStandby('secondary')) ? 'lift-fence' : undefined;
  } catch {
    return undefined;
  }
}

/** The roles of `component` now; `changed` against the approved state (the primary writing). */
async function readRoles(ctx: StepContext, component: DataComponent): Promise<DataTierRole> {
  const regions = ctx.regions ?? { primary: 'primary', secondary: 'secondary' };
  const [p, s] = await Promise.all([
    writes(ctx, component, 'primary'),
    writes(ctx, component, 'secondary'),
  ]);
  const writer = s === true ? 'secondary' : p === true ? 'primary' : null;
  const unread = [p, s].find((a): a is string => typeof a === 'string');
  const undo = unread === undefined ? await undoFor(ctx, component, writer) : undefined;
  const note =
    p === true && s === true
      ? 'both sides take writes'
      : unread !== undefined
        ? `not readable: ${unread}`
        : undo === 'lift-fence'
          ? 'primary fenced, standby not promoted'
          : writer === null
            ? 'neither side takes writes (the primary fenced?)'
            : undefined;
  return {
    component,
    writer,
    regions,
    // An unreadable primary is not shown as changed: the card says it could not read it.
    changed: writer !== 'primary' && unread === undefined,
    ...(note ? { note } : {}),
    ...(undo ? { undo } : {}),
  };
}

/**
 * A promotion step's check, with the roles recorded as run() records them: a step resumed after
 * a crash finds its promotion done (or fails before run()), and the split must still be seen.
 */
export async function checkWithRoles(
  ctx: StepContext,
  component: DataComponent,
  check: () => Promise<CheckOutcome>,
): Promise<CheckOutcome> {
  let outcome: CheckOutcome;
  try {
    outcome = await check();
  } catch (err) {
    throw new FailedWithRoles(err, await readRoles(ctx, component));
  }
  return outcome.done ? { ...outcome, roles: await readRoles(ctx, component) } : outcome;
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
