// What the engine shows: operation views (live, recently finished, or restored read-only from
// the store), the status of an environment, and notifications to the adapters' listeners.
import type { OperationKind, OperationView } from '../domain/types.js';
import { toView } from '../machine/index.js';
import type { PersistedOperation } from '../store/types.js';
import type { EngineContext } from './context.js';
import { restoreChecked, restoreReadable, UnrestorableOperation } from './restore.js';
import type { Engine, EngineNotification } from './types.js';
import { withdrawUnconfirmed } from './withdraw.js';

const FINISHED_VIEWS_KEPT = 20;

export function notify(ctx: EngineContext, n: EngineNotification): void {
  for (const l of ctx.listeners) {
    try {
      l(n);
    } catch (err) {
      ctx.log.error({ err }, 'engine listener threw');
    }
  }
}

export function rememberFinished(ctx: EngineContext, view: OperationView): void {
  ctx.finishedViews.set(view.id, view);
  // Only recent ones are worth keeping in memory; older views are restored from the store.
  if (ctx.finishedViews.size > FINISHED_VIEWS_KEPT)
    ctx.finishedViews.delete(ctx.finishedViews.keys().next().value!);
}

/**
 * A stored operation's view without running it: the snapshot restored into an actor never
 * started. An active one must also be one this version can drive (its runbook unchanged);
 * a finished one only has to be readable. Throws UnrestorableOperation otherwise.
 */
function viewOfPersisted(ctx: EngineContext, p: PersistedOperation): OperationView {
  if (p.status === 'active')
    return toView(
      restoreChecked(ctx.machine, p.id, p.snapshot, p.snapshotError, ctx.runbooks).getSnapshot(),
    );
  if (p.snapshotError) throw new UnrestorableOperation(p.id, p.snapshotError);
  return toView(restoreReadable(ctx.machine, p.id, p.snapshot).getSnapshot());
}

export async function getView(ctx: EngineContext, opId: string): Promise<OperationView | null> {
  const live = ctx.runners.get(opId);
  if (live) return live.view;
  const done = ctx.finishedViews.get(opId);
  if (done) return done;
  const p = await ctx.store.load(opId);
  return p ? viewOfPersisted(ctx, p) : null;
}

/** Why this version cannot resume the active operation `id`, or null when it can (or it is not active). */
export async function unrestorableWhy(ctx: EngineContext, id: string): Promise<string | null> {
  const p = await ctx.store.load(id);
  if (!p || p.status !== 'active') return null;
  try {
    viewOfPersisted(ctx, p);
    return null;
  } catch (err) {
    if (err instanceof UnrestorableOperation) return err.why;
    throw err;
  }
}

/** The active operation for the refusal text: its kind, or why this version cannot resume it. */
export async function describeActive(
  ctx: EngineContext,
  id: string,
): Promise<{ kind?: OperationKind; unrestorable?: string }> {
  try {
    const kind = (await getView(ctx, id))?.kind;
    return kind ? { kind } : {};
  } catch (err) {
    return err instanceof UnrestorableOperation ? { unrestorable: err.why } : {};
  }
}

export async function engineStatus(ctx: EngineContext): ReturnType<Engine['status']> {
  await withdrawUnconfirmed(ctx);
  const { store, env } = ctx;
  const [activeId, lastId] = await Promise.all([store.activeFor(env), store.lastFinished(env)]);
  let active: OperationView | null = null;
  let unrestorable: { id: string; reason: string } | undefined;
  if (activeId) {
    try {
      active = await getView(ctx, activeId);
    } catch (err) {
      if (!(err instanceof UnrestorableOperation)) throw err;
      unrestorable = { id: activeId, reason: err.why };
    }
  }
  let last: OperationView | null = null;
  if (lastId) {
    try {
      last = await getView(ctx, lastId);
    } catch (err) {
      if (!(err instanceof UnrestorableOperation)) throw err;
      ctx.log.warn(
        { opId: lastId, why: err.why },
        'the last finished operation cannot be shown by this version',
      );
    }
  }
  return { active, last, ...(unrestorable ? { unrestorable } : {}) };
}
