// The step-level actions of the machine: a step starting, succeeding, failing or found not
// configured, a stage pausing, retried or skipped, and the operation completing.
import type { DataTierRole, StepId, StepOutcome } from '../domain/types.js';
import { errorInfo, FailedWithRoles } from '../errors.js';
import { operationAction, type Clock } from './machine-action.js';
import {
  collectRpo,
  failedIn,
  patchStep,
  rtoStepOf,
  stagesOf,
  stepOf,
  verificationError,
} from './records.js';
import { activeLastResort, keptLastResort } from './last-resort.js';
import { pendingUndo } from './split.js';
import type { OperationContext } from './types.js';

/** An undo asked but not run ends with a retry or skip (the pause it was for is over). */
const keptUndo = (context: OperationContext) =>
  pendingUndo(context.undo) ? undefined : context.undo;

const startStep = (now: Clock) =>
  operationAction<{ stepId: StepId }>(({ context, enqueue }, params) => {
    const attempts = stepOf(context, params.stepId).attempts + 1;
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'running',
        attempts,
        startedAt: now(),
        finishedAt: undefined,
        error: undefined,
        roles: undefined,
      }),
    });
    const stage = stagesOf(context).find((st) => st.includes(params.stepId)) ?? [];
    const beside = stage.filter((id) => id !== params.stepId);
    enqueue.emit({
      type: 'StepStarted',
      stepId: params.stepId,
      attempt: attempts,
      ...(beside.length > 0 ? { beside } : {}),
    });
  });

const stepNotConfigured = (now: Clock) =>
  operationAction<{ stepId: StepId; outcome: StepOutcome }>(({ context, enqueue }, params) => {
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'skipped',
        skipReason: 'not-configured',
        finishedAt: now(),
        summary: params.outcome.summary,
        evidence: params.outcome.evidence,
      }),
    });
    enqueue.emit({ type: 'StepSkipped', stepId: params.stepId, reason: 'not-configured' });
  });

const stepSucceeded = (now: Clock) =>
  operationAction<{ stepId: StepId; outcome: StepOutcome }>(({ context, enqueue }, params) => {
    const finishedAt = now();
    const durationMs = finishedAt - (stepOf(context, params.stepId).startedAt ?? finishedAt);
    const { summary, evidence, checks, consistency, rpo, roles } = params.outcome;
    enqueue.assign({
      steps: patchStep(context.steps, params.stepId, {
        status: 'succeeded',
        finishedAt,
        summary,
        evidence,
        checks,
        consistency,
        rpo,
        roles,
      }),
    });
    enqueue.emit({
      type: 'StepSucceeded',
      stepId: params.stepId,
      outcome: params.outcome,
      durationMs,
    });
    const lr = activeLastResort(context, params.stepId);
    if (lr) {
      enqueue.assign({ lastResort: { ...lr, finishedAt, summary } });
      enqueue.emit({ type: 'LastResortDone', action: lr.action, stepId: lr.stepId, summary });
    }
  });

const stepFailed = (now: Clock) =>
  operationAction<{ stepId: StepId; error: unknown; outcome?: StepOutcome }>(
    ({ context, enqueue }, params) => {
      const finishedAt = now();
      const durationMs = finishedAt - (stepOf(context, params.stepId).startedAt ?? finishedAt);
      const error = params.outcome
        ? verificationError(params.stepId, params.outcome)
        : errorInfo(params.error);
      const seen = params.outcome
        ? {
            summary: params.outcome.summary,
            evidence: params.outcome.evidence,
            checks: params.outcome.checks,
            consistency: params.outcome.consistency,
          }
        : {};
      // A data step says where its component stands after failing: a split data tier shows it.
      const roles =
        params.error instanceof FailedWithRoles ? (params.error.roles as DataTierRole) : undefined;
      enqueue.assign({
        steps: patchStep(context.steps, params.stepId, {
          status: 'failed',
          finishedAt,
          error,
          roles,
          ...seen,
        }),
      });
      enqueue.emit({ type: 'StepFailed', stepId: params.stepId, error, durationMs });
      const lr = activeLastResort(context, params.stepId);
      if (lr) {
        enqueue.assign({ lastResort: { ...lr, error } });
        enqueue.emit({ type: 'LastResortFailed', action: lr.action, stepId: lr.stepId, error });
      }
    },
  );

const pause = operationAction<{ stage: readonly StepId[] }>(({ context, enqueue }, params) => {
  const stepIds = failedIn(context, params.stage);
  enqueue.assign({ lastError: stepOf(context, stepIds[0]).error });
  enqueue.emit({ type: 'OperationPaused', stepIds });
});

const retryStage = operationAction<{ stage: readonly StepId[] }>(
  ({ context, enqueue, event }, params) => {
    if (event.type !== 'RETRY') return;
    let steps = context.steps;
    for (const stepId of failedIn(context, params.stage)) {
      steps = patchStep(steps, stepId, { status: 'pending' });
      enqueue.emit({ type: 'StepRetried', stepId, userId: event.userId });
    }
    enqueue.assign({
      steps,
      lastError: undefined,
      undo: keptUndo(context),
      lastResort: keptLastResort(context),
    });
  },
);

const skipStage = operationAction<{ stage: readonly StepId[] }>(
  ({ context, enqueue, event }, params) => {
    if (event.type !== 'SKIP') return;
    let steps = context.steps;
    for (const stepId of failedIn(context, params.stage)) {
      steps = patchStep(steps, stepId, {
        status: 'skipped',
        skipReason: 'skipped-by-user',
        skippedBy: event.userId,
      });
      enqueue.emit({
        type: 'StepSkipped',
        stepId,
        reason: 'skipped-by-user',
        userId: event.userId,
      });
    }
    enqueue.assign({
      steps,
      lastError: undefined,
      undo: keptUndo(context),
      lastResort: keptLastResort(context),
    });
  },
);

const complete = (now: Clock) =>
  operationAction(({ context, enqueue }) => {
    const finishedAt = now();
    const rtoStep = rtoStepOf(context.kind);
    const verified = rtoStep ? stepOf(context, rtoStep) : undefined;
    const rtoMs =
      verified?.status === 'succeeded' &&
      verified.finishedAt !== undefined &&
      context.approvedAt !== undefined
        ? verified.finishedAt - context.approvedAt
        : undefined;
    const rpo = collectRpo(context.steps);
    enqueue.assign({ finishedAt, rtoMs, rpo });
    enqueue.emit({
      type: 'OperationCompleted',
      durationMs: finishedAt - context.createdAt,
      ...(rtoMs !== undefined ? { rtoMs } : {}),
      rpo,
    });
  });

/** The step, stage and completion actions by the names the states use; `now` stamps their times. */
export function stepActions(now: Clock) {
  return {
    startStep: startStep(now),
    stepNotConfigured: stepNotConfigured(now),
    stepSucceeded: stepSucceeded(now),
    stepFailed: stepFailed(now),
    pause,
    retryStage,
    skipStage,
    complete: complete(now),
  };
}
