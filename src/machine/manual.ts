// Manual steps (a checklist item from `runbook.steps`): the step waits in its lane until someone
// clicks Done (StepSucceeded, `confirmedBy`) or an authorized person Skip. The wait is in the context (status `waiting`), so a
// restarted bot keeps waiting, and it lies between approval and verification, so it counts in RTO.
import type { StepId } from '../domain/types.js';
import { refusalForEvent } from './approval.js';
import { operationAction, type Clock } from './machine-action.js';
import { patchStep, stepOf } from './records.js';
import type { OperationContext, OperationEvent } from './types.js';
import { waitingOf, waitingTarget } from './waiting.js';

interface GuardArgs {
  context: OperationContext;
  event: OperationEvent;
}

export const manualGuards = {
  /** The checklist item is for the other mode (`modes` in its config): it does not apply. */
  manualOffMode: ({ context }: GuardArgs, params: { stepId: StepId }) => {
    const modes = context.custom?.find((c) => c.id === params.stepId)?.modes;
    return modes !== undefined && !modes.includes(context.mode ?? 'planned');
  },
  /** This Done or Skip names this waiting step (or it is the only one) and counts. */
  manualActs: ({ context, event }: GuardArgs, params: { stepId: StepId }) =>
    (event.type === 'DONE' || event.type === 'SKIP') &&
    waitingTarget(waitingOf(context), event.stepId)?.stepId === params.stepId &&
    refusalForEvent(context, 'running', event) === null,
};

const startManualStep = (now: Clock) =>
  operationAction<{ stepId: StepId }>(({ context, enqueue }, params) => {
    const attempts = stepOf(context, params.stepId).attempts + 1;
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'waiting',
        attempts,
        startedAt: now(),
        finishedAt: undefined,
        error: undefined,
      }),
    });
    const plan = context.custom?.find((c) => c.id === params.stepId);
    enqueue.emit({ type: 'StepStarted', stepId: params.stepId, attempt: attempts });
    enqueue.emit({
      type: 'ManualStepWaiting',
      stepId: params.stepId,
      title: stepOf(context, params.stepId).title,
      text: plan?.detail ?? '',
      owners: [...(plan?.owners ?? [])],
    });
  });

/** Done: the step succeeded at the click, confirmed by the person who clicked. */
const confirmManualStep = operationAction<{ stepId: StepId }>(
  ({ context, enqueue, event }, params) => {
    if (event.type !== 'DONE') return;
    const waitedMs = event.at - (stepOf(context, params.stepId).startedAt ?? event.at);
    const summary = `confirmed done by ${event.userId}`;
    const evidence = { confirmedBy: event.userId, confirmedAt: new Date(event.at).toISOString() };
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'succeeded',
        finishedAt: event.at,
        confirmedBy: event.userId,
        summary,
        evidence,
      }),
    });
    enqueue.emit({
      type: 'StepSucceeded',
      stepId: params.stepId,
      outcome: { result: 'done', summary, evidence },
      durationMs: waitedMs,
    });
  },
);

const skipManualStep = operationAction<{ stepId: StepId }>(
  ({ context, enqueue, event }, params) => {
    if (event.type !== 'SKIP') return;
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'skipped',
        skipReason: 'skipped-by-user',
        skippedBy: event.userId,
        finishedAt: event.at,
      }),
    });
    enqueue.emit({
      type: 'StepSkipped',
      stepId: params.stepId,
      reason: 'skipped-by-user',
      userId: event.userId,
    });
  },
);

const skipManualOffMode = (now: Clock) =>
  operationAction<{ stepId: StepId }>(({ context, enqueue }, params) => {
    const modes = context.custom?.find((c) => c.id === params.stepId)?.modes ?? [];
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'skipped',
        skipReason: 'not-configured',
        finishedAt: now(),
        summary: `skipped — runs only in ${modes.join(' and ')} operations`,
      }),
    });
    enqueue.emit({ type: 'StepSkipped', stepId: params.stepId, reason: 'not-configured' });
  });

export function manualActions(now: Clock) {
  return {
    skipManualOffMode: skipManualOffMode(now),
    startManualStep: startManualStep(now),
    confirmManualStep,
    skipManualStep,
  };
}
