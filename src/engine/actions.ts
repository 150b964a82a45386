// People's actions on an operation (approve, reject, retry, skip, abort, undo, detach): each is sent to the
// operation's runner as an event, and the person gets the policy's answer.
import { FINAL_PHASES, type OperationView, type StepId } from '../domain/types.js';
import { DrError } from '../errors.js';
import { evaluateAction, type OperationAction, type OperationEvent } from '../machine/index.js';
import { closeUnrestorable } from './close-unrestorable.js';
import type { EngineContext } from './context.js';
import { refusalMessage, successMessage } from './messages.js';
import { UnrestorableOperation } from './restore.js';
import { abandonedCalls, stepList } from './step-calls.js';
import type { ActionOutcome, Engine } from './types.js';
import { getView, unrestorableWhy } from './views.js';
import { withdrawUnconfirmed } from './withdraw.js';

/**
 * Environments may share a state Redis (their keys are apart, operation ids unique across
 * them): an id typed here may name another environment's operation, which this engine never
 * drives, and which this environment's approvers must not approve, abort or close.
 */
function otherEnvironment(ctx: EngineContext, opId: string, other: string): ActionOutcome {
  return {
    ok: false,
    reason: 'other-environment',
    message: `${opId} is an operation of ${other}, not of ${ctx.env}: act on it with the bot (or dr console) of ${other}.`,
  };
}

function notOwned(opId: string): DrError {
  return new DrError(
    'conflict',
    `${opId} is active but not driven by this dr-bot process (another process saved it more recently). Act on it where it runs, or restart this bot to take it over.`,
  );
}

async function act(
  ctx: EngineContext,
  action: OperationAction,
  opId: string,
  userId: string,
  event: (authorized: boolean, at: number) => OperationEvent,
  planHash?: string,
  stepId?: StepId,
): Promise<ActionOutcome> {
  const runner = ctx.runners.get(opId);
  if (!runner || !runner.live) {
    const stored = await ctx.store.load(opId);
    if (stored && stored.env !== ctx.env) return otherEnvironment(ctx, opId, stored.env);
    let view: OperationView | null;
    try {
      view = await getView(ctx, opId);
    } catch (err) {
      if (err instanceof UnrestorableOperation)
        return { ok: false, reason: 'unrestorable', message: err.message };
      throw err;
    }
    if (!view)
      return {
        ok: false,
        reason: 'unknown-operation',
        message: refusalMessage('unknown-operation', opId),
      };
    if (FINAL_PHASES.includes(view.phase))
      return {
        ok: false,
        reason: 'finished',
        message: refusalMessage('finished', opId, view),
        op: view,
      };
    throw notOwned(opId);
  }
  const authorized = await ctx.authorizer.isAuthorized(userId);
  // One instant for the answer and the event, so both judge the deadline alike.
  const at = ctx.now();
  // The machine applies the same policy and records the refusal in the timeline; this answer is for the person.
  const refusal = evaluateAction(runner.liveView, action, userId, authorized, planHash, at, stepId);
  runner.send(event(authorized, at));
  await runner.idle();
  if (runner.lost) throw notOwned(opId);
  const op = runner.view;
  ctx.log.info({ opId, action, userId, authorized, refusal, phase: op.phase }, 'action handled');
  if (refusal)
    return { ok: false, reason: refusal, message: refusalMessage(refusal, opId, op), op };
  const left = action === 'abort' ? abandonedCalls(ctx, opId) : [];
  const still = left.length
    ? ` ${stepList(left)} was still running and cannot be interrupted: its outcome goes on the timeline when it settles, and no new operation starts before that.`
    : '';
  return { ok: true, message: successMessage(action, op, userId) + still, op };
}

export function approveOperation(
  ctx: EngineContext,
  { opId, userId, planHash }: Parameters<Engine['approve']>[0],
): Promise<ActionOutcome> {
  return act(
    ctx,
    'approve',
    opId,
    userId,
    (authorized, at) => ({ type: 'APPROVE', userId, planHash, authorized, at }),
    planHash,
  );
}

export function rejectOperation(
  ctx: EngineContext,
  { opId, userId, reason }: Parameters<Engine['reject']>[0],
): Promise<ActionOutcome> {
  return act(ctx, 'reject', opId, userId, (authorized, at) => ({
    type: 'REJECT',
    userId,
    authorized,
    at,
    ...(reason ? { reason } : {}),
  }));
}

export function retryOperation(
  ctx: EngineContext,
  { opId, userId }: Parameters<Engine['retry']>[0],
): Promise<ActionOutcome> {
  return act(ctx, 'retry', opId, userId, (authorized, at) => ({
    type: 'RETRY',
    userId,
    authorized,
    at,
  }));
}

/** With `stepId`: a waiting manual step; without: the failed stage, or the only manual step waiting. */
export function skipOperation(
  ctx: EngineContext,
  { opId, userId, stepId }: Parameters<Engine['skip']>[0],
): Promise<ActionOutcome> {
  return act(
    ctx,
    'skip',
    opId,
    userId,
    (authorized, at) => ({ type: 'SKIP', userId, authorized, at, ...(stepId ? { stepId } : {}) }),
    undefined,
    stepId,
  );
}

/** A manual step's Done; without `stepId`, the only one waiting. */
export function doneOperation(
  ctx: EngineContext,
  { opId, userId, stepId }: Parameters<Engine['done']>[0],
): Promise<ActionOutcome> {
  return act(
    ctx,
    'done',
    opId,
    userId,
    (authorized, at) => ({ type: 'DONE', userId, authorized, at, ...(stepId ? { stepId } : {}) }),
    undefined,
    stepId,
  );
}

export function undoOperation(
  ctx: EngineContext,
  { opId, userId }: Parameters<Engine['undo']>[0],
): Promise<ActionOutcome> {
  return act(ctx, 'undo', opId, userId, (authorized, at) => ({
    type: 'UNDO',
    userId,
    authorized,
    at,
  }));
}

/** A failed step's last resort: asked by one, approved by another, run by its step. */
export function detachOperation(
  ctx: EngineContext,
  { opId, userId }: Parameters<Engine['detach']>[0],
): Promise<ActionOutcome> {
  return act(ctx, 'detach', opId, userId, (authorized, at) => ({
    type: 'DETACH',
    userId,
    authorized,
    at,
  }));
}

/** Without opId, the environment's active operation; one this version cannot resume is closed. */
export async function abortOperation(
  ctx: EngineContext,
  { opId, userId, reason }: Parameters<Engine['abort']>[0],
): Promise<ActionOutcome> {
  const { store, env } = ctx;
  await withdrawUnconfirmed(ctx);
  const id = opId ?? (await store.activeFor(env));
  if (!id)
    return {
      ok: false,
      reason: 'unknown-operation',
      message: `There is no active operation in ${env} to abort.`,
    };
  if (!ctx.runners.get(id)?.live) {
    const stored = await store.load(id);
    if (stored && stored.env !== env) return otherEnvironment(ctx, id, stored.env);
    const why = await unrestorableWhy(ctx, id);
    if (why !== null) return closeUnrestorable(ctx, id, userId, why, reason);
  }
  return act(ctx, 'abort', id, userId, (authorized, at) => ({
    type: 'ABORT',
    userId,
    authorized,
    at,
    ...(reason ? { reason } : {}),
  }));
}
