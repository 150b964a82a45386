// The undo of a split data tier: the actions and guards of the UNDO clicks that ask for and
// approve it (two people, like the plan) and of the undoing state's way out (aborted with the
// rollback recorded, or back to the pause when the undo failed). The states are in states.ts.
import type { OperationKind, StepId } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import { refusalForEvent } from './approval.js';
import { operationAction, type Clock } from './machine-action.js';
import { failedIn } from './records.js';
import { pendingUndo, splitOf } from './split.js';
import type { OperationContext, OperationEvent } from './types.js';

interface GuardArgs {
  context: OperationContext;
  event: OperationEvent;
}

/** Approvals an undo needs besides the person who asked: as many as the plan needed. */
function approvalsLeft(context: OperationContext): number {
  const asked = pendingUndo(context.undo);
  return asked ? context.requiredApprovals - asked.approvals.length : Infinity;
}

export const undoGuards = {
  /** This click is the approval that completes the undo's quorum. */
  undoCompletes: ({ context, event }: GuardArgs) =>
    refusalForEvent(context, 'paused', event) === null && approvalsLeft(context) <= 1,
  /** The operation paused in this kind's stage (the undo failed: back to that pause). */
  pausedIn: ({ context }: GuardArgs, params: { kind: OperationKind; stage: readonly StepId[] }) =>
    context.kind === params.kind && failedIn(context, params.stage).length > 0,
};

/** First click: ask; later clicks: approve. The timeline says which and how many. */
const recordUndo = operationAction(({ context, event, enqueue }) => {
  if (event.type !== 'UNDO') return;
  const asked = pendingUndo(context.undo);
  const undo = asked
    ? { ...asked, approvals: [...asked.approvals, { userId: event.userId, at: event.at }] }
    : {
        components: splitOf(context.steps)?.undoable ?? [],
        requestedBy: event.userId,
        requestedAt: event.at,
        approvals: [],
      };
  enqueue.assign({ undo });
  enqueue.emit({
    type: 'UndoRequested',
    userId: event.userId,
    components: undo.components,
    count: undo.approvals.length,
    required: context.requiredApprovals,
  });
});

const startUndo = operationAction(({ context, enqueue }) => {
  const undo = context.undo!;
  enqueue.emit({
    type: 'UndoStarted',
    components: undo.components,
    approvers: [undo.requestedBy, ...undo.approvals.map((a) => a.userId)],
  });
});

/** Undone: the operation ends aborted, by the person whose approval started the undo. */
const undoDone = (now: Clock) =>
  operationAction<{ summary: string }>(({ context, enqueue }, params) => {
    const undo = context.undo!;
    const finishedAt = now();
    const by = undo.approvals.at(-1)?.userId ?? undo.requestedBy;
    enqueue.assign({
      undo: { ...undo, finishedAt, summary: params.summary },
      abortedBy: by,
      finishedAt,
    });
    enqueue.emit({ type: 'DataTierUndone', components: undo.components, summary: params.summary });
    enqueue.emit({ type: 'OperationAborted', userId: by, reason: `undone: ${params.summary}` });
  });

const undoFailed = operationAction<{ error: unknown }>(({ context, enqueue }, params) => {
  const error = errorInfo(params.error);
  const undo = context.undo!;
  enqueue.assign({ undo: { ...undo, error }, lastError: error });
  enqueue.emit({ type: 'UndoFailed', components: undo.components, error });
});

export function undoActions(now: Clock) {
  return { recordUndo, startUndo, undoDone: undoDone(now), undoFailed };
}
