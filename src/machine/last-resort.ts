// A failed step's last resort (issue 20: detach an ElastiCache secondary): offered by the step's
// driver on its error, asked and approved by the DETACH clicks with the undo's two-person rule,
// then run by the step itself (re-entered like a Retry, with `lastResort` in its input), so the
// state that says it runs is written before it acts and a restart resumes it. Never run by
// Approve or Retry: only DETACH, and only while the offer stands.
import type { LastResortState, StepId } from '../domain/types.js';
import { refusalForEvent } from './approval.js';
import { lastResortOffer, pendingLastResort } from './last-resort-offer.js';
import { operationAction, type Clock } from './machine-action.js';
import { failedIn, patchStep } from './records.js';
import { pendingUndo } from './split.js';
import type { OperationContext, OperationEvent } from './types.js';

/** Approved and under way for `stepId`: the step runs the last resort, a resume included. */
export function activeLastResort(
  context: OperationContext,
  stepId: StepId,
): LastResortState | undefined {
  const lr = context.lastResort;
  return lr?.stepId === stepId &&
    lr.startedAt !== undefined &&
    lr.finishedAt === undefined &&
    lr.error === undefined
    ? lr
    : undefined;
}

/** A last resort asked but not started ends with a Retry or Skip (the pause it was for is over). */
export const keptLastResort = (context: OperationContext) =>
  pendingLastResort(context.lastResort) ? undefined : context.lastResort;

interface GuardArgs {
  context: OperationContext;
  event: OperationEvent;
}

export const lastResortGuards = {
  /** This click is the approval that completes the quorum: as many as the plan needed. */
  lastResortCompletes: ({ context, event }: GuardArgs) => {
    if (refusalForEvent(context, 'paused', event) !== null) return false;
    const asked = pendingLastResort(context.lastResort);
    return asked !== undefined && context.requiredApprovals - asked.approvals.length <= 1;
  },
};

/** First click: ask; later clicks: approve. The timeline says which and how many. */
const recordLastResort = operationAction(({ context, enqueue, event }) => {
  if (event.type !== 'DETACH') return;
  const offer = lastResortOffer(context.steps)!;
  const asked = pendingLastResort(context.lastResort);
  const lastResort: LastResortState = asked
    ? { ...asked, approvals: [...asked.approvals, { userId: event.userId, at: event.at }] }
    : {
        action: offer.action,
        stepId: offer.stepId,
        requestedBy: event.userId,
        requestedAt: event.at,
        approvals: [],
      };
  enqueue.assign({ lastResort });
  enqueue.emit({
    type: 'LastResortRequested',
    userId: event.userId,
    action: lastResort.action,
    stepId: lastResort.stepId,
    count: lastResort.approvals.length,
    required: context.requiredApprovals,
  });
});

/**
 * Approved: the stage re-runs as on Retry (its other failed steps too), the offering step with
 * its last resort. Recorded here, in the same snapshot the step's start is written with.
 */
const startLastResort = (now: Clock) =>
  operationAction<{ stage: readonly StepId[] }>(({ context, enqueue }, params) => {
    const lr = context.lastResort!;
    let steps = context.steps;
    for (const stepId of failedIn(context, params.stage)) {
      steps = patchStep(steps, stepId, { status: 'pending' });
      if (stepId !== lr.stepId)
        enqueue.emit({ type: 'StepRetried', stepId, userId: lr.approvals.at(-1)!.userId });
    }
    enqueue.assign({
      steps,
      lastError: undefined,
      lastResort: { ...lr, startedAt: now() },
      undo: pendingUndo(context.undo) ? undefined : context.undo,
    });
    enqueue.emit({
      type: 'LastResortStarted',
      action: lr.action,
      stepId: lr.stepId,
      approvers: [lr.requestedBy, ...lr.approvals.map((a) => a.userId)],
    });
  });

export function lastResortActions(now: Clock) {
  return { recordLastResort, startLastResort: startLastResort(now) };
}
