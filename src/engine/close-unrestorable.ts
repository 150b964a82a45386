// Closing an operation this version cannot resume: an approver's abort writes it as aborted
// without a running machine, which releases the environment lock.
import { commandRef } from '../domain/commands.js';
import type { TimelineEntry } from '../domain/types.js';
import { DrError, StaleVersionError } from '../errors.js';
import { toView } from '../machine/index.js';
import type { EngineContext } from './context.js';
import { refusalMessage } from './messages.js';
import { closedSnapshot, restoreActor } from './restore.js';
import type { ActionOutcome } from './types.js';
import { notify, rememberFinished } from './views.js';

/**
 * An abort of an operation this version cannot resume: an approver closes it as aborted
 * without a running machine (a final compare-and-set save releases the lock). Nothing is
 * re-checked or undone; the answer says to check the components.
 */
export async function closeUnrestorable(
  ctx: EngineContext,
  id: string,
  userId: string,
  why: string,
  reason: string | undefined,
): Promise<ActionOutcome> {
  const { store, log, machine } = ctx;
  const authorized = await ctx.authorizer.isAuthorized(userId);
  const p = await store.load(id);
  if (!p)
    return {
      ok: false,
      reason: 'unknown-operation',
      message: refusalMessage('unknown-operation', id),
    };
  if (p.status !== 'active')
    return { ok: false, reason: 'finished', message: refusalMessage('finished', id) };
  const at = ctx.now();
  if (!authorized) {
    // The requester's own withdrawal needs to know the request is not approved yet, which an
    // unreadable operation cannot tell: closing it is for approvers.
    await store.append(id, [
      { type: 'ActionRefused', userId, action: 'abort', reason: 'unauthorized', opId: id, at },
    ]);
    log.info({ opId: id, userId }, 'abort of an unresumable operation refused: not an approver');
    return { ok: false, reason: 'unauthorized', message: refusalMessage('unauthorized', id) };
  }
  const snapshot = closedSnapshot(
    machine,
    { id, env: p.env, kind: p.kind, updatedAt: p.updatedAt, snapshot: p.snapshot },
    { userId, at },
  );
  const entry: TimelineEntry = {
    type: 'OperationAborted',
    userId,
    ...(reason ? { reason } : {}),
    notResumed: why,
    opId: id,
    at,
  };
  try {
    await store.save(id, p.version, snapshot, [entry], { final: true });
  } catch (err) {
    if (err instanceof StaleVersionError) {
      throw new DrError(
        'conflict',
        `${id} changed while it was being closed (another dr-bot process?), so nothing was written. Check ${commandRef('status')} and abort again if it is still active.`,
        { cause: err },
      );
    }
    throw err;
  }
  const view = toView(restoreActor(machine, snapshot).getSnapshot());
  rememberFinished(ctx, view);
  log.warn(
    { opId: id, userId, why },
    'operation this version could not resume closed as aborted; the environment is unlocked',
  );
  notify(ctx, { op: view, entries: [entry] });
  return {
    ok: true,
    message: `${id} closed as aborted by <@${userId}> without resuming it (${why}). The environment is unlocked. Nothing was re-checked or undone: check the components (database writer, DNS, replicas) before the next operation.`,
    op: view,
  };
}
