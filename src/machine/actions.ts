// The operation-level actions of the machine: the request, the preflight record, the approval
// round, refusals and the ends that are not completion (reject, expire, abort).
import { emit } from 'xstate';
import type { DomainEvent, Phase, PreflightReport } from '../domain/types.js';
import type { ErrorInfo } from '../errors.js';
import { ACTION_OF, computePlanHash, refusalForEvent } from './approval.js';
import { operationAction, type Clock } from './machine-action.js';
import { abortedWhileRunning, abortedWhileWaiting, planSteps } from './records.js';
import type { OperationContext, OperationEvent } from './types.js';

const emitRequested = emit<
  OperationContext,
  OperationEvent,
  undefined,
  OperationEvent,
  DomainEvent
>(({ context }) => ({
  type: 'OperationRequested' as const,
  kind: context.kind,
  requestedMode: context.requestedMode,
  requester: context.requester,
  reason: context.reason,
}));

const recordPreflight = operationAction<{ report: PreflightReport }>(({ enqueue }, params) => {
  enqueue.assign({ preflight: params.report, mode: params.report.mode });
  enqueue.emit({ type: 'PreflightCompleted', report: params.report });
});

const openApproval = (now: Clock) =>
  operationAction<{ report: PreflightReport }>(({ context, enqueue }, params) => {
    const planHash = computePlanHash(
      context.id,
      context.kind,
      params.report,
      planSteps(context).steps,
      planSteps(context).custom,
    );
    const expiresAt = now() + context.approvalTimeoutMs;
    if (context.planHash !== undefined && context.planHash !== planHash) {
      enqueue.emit({
        type: 'ApprovalsInvalidated',
        previousPlanHash: context.planHash,
        planHash,
      });
    }
    enqueue.assign({ planHash, expiresAt, approvals: [], approvalCompletedAt: undefined });
    enqueue.emit({
      type: 'ApprovalRequested',
      planHash,
      expiresAt,
      required: context.requiredApprovals,
    });
  });

const recordApproval = operationAction(({ context, event, enqueue }) => {
  if (event.type !== 'APPROVE') return;
  const approvals = [
    ...context.approvals,
    { userId: event.userId, at: event.at, planHash: event.planHash },
  ];
  enqueue.assign({ approvals });
  enqueue.emit({
    type: 'ApprovalRecorded',
    userId: event.userId,
    count: approvals.length,
    required: context.requiredApprovals,
  });
});

/**
 * The approval that completes the quorum is the final approval: announced then, and RTO runs
 * from its click (`at`), not from the end of the re-check that follows, which a restart
 * repeats and which may take a while.
 */
const completeApproval = operationAction(({ context, enqueue, event }) => {
  if (event.type !== 'APPROVE') return;
  enqueue.assign({ approvalCompletedAt: event.at });
  enqueue.emit({
    type: 'OperationApproved',
    approvers: context.approvals.map((a) => a.userId),
  });
});

/** The re-check passed: the operation counts as approved (at the final approval) and starts. */
const markApproved = (now: Clock) =>
  operationAction(({ context, enqueue }) => {
    const finalApproval = context.approvalCompletedAt ?? context.approvals.at(-1)?.at ?? now();
    enqueue.assign({ approvedAt: finalApproval });
    // A snapshot saved in the re-check by a version that announced the approval only here.
    if (context.approvalCompletedAt === undefined) {
      enqueue.emit({
        type: 'OperationApproved',
        approvers: context.approvals.map((a) => a.userId),
      });
    }
  });

const refuse = operationAction<{ phase: Phase }>(({ context, event, enqueue }, params) => {
  if (event.type === 'TICK') return;
  const reason = refusalForEvent(context, params.phase, event);
  if (reason === null) return;
  if (event.type === 'APPROVE') {
    enqueue.emit({ type: 'ApprovalRefused', userId: event.userId, reason });
  } else {
    enqueue.emit({
      type: 'ActionRefused',
      userId: event.userId,
      action: ACTION_OF[event.type],
      reason,
    });
  }
});

const refuseOperation = (now: Clock) =>
  operationAction<{ error: ErrorInfo }>(({ enqueue }, params) => {
    enqueue.assign({ lastError: params.error, finishedAt: now() });
    enqueue.emit({ type: 'OperationRefused', error: params.error });
  });

const reject = operationAction(({ enqueue, event }) => {
  if (event.type !== 'REJECT') return;
  enqueue.assign({ rejectedBy: event.userId, finishedAt: event.at });
  enqueue.emit({
    type: 'OperationRejected',
    userId: event.userId,
    ...(event.reason ? { reason: event.reason } : {}),
  });
});

const expire = (now: Clock) =>
  operationAction(({ context, enqueue }) => {
    // It expired at the deadline, even when a restored actor only notices on a later TICK.
    enqueue.assign({ finishedAt: context.expiresAt ?? now() });
    enqueue.emit({ type: 'OperationExpired' });
  });

const abort = operationAction(({ context, enqueue, event }) => {
  if (event.type !== 'ABORT') return;
  // A running step cannot be interrupted mid-call: its effect may or may not have
  // happened, and the card must not show it as still running on a finished operation.
  const steps = context.steps.map((s) =>
    s.status === 'running' || s.status === 'waiting'
      ? {
          ...s,
          status: 'failed' as const,
          finishedAt: event.at,
          error: s.status === 'waiting' ? abortedWhileWaiting() : abortedWhileRunning(),
        }
      : s,
  );
  enqueue.assign({ steps, abortedBy: event.userId, finishedAt: event.at });
  enqueue.emit({
    type: 'OperationAborted',
    userId: event.userId,
    ...(event.reason ? { reason: event.reason } : {}),
  });
});

/** The operation-level actions by the names the states use; `now` stamps their times. */
export function operationActions(now: Clock) {
  return {
    emitRequested,
    recordPreflight,
    openApproval: openApproval(now),
    recordApproval,
    completeApproval,
    markApproved: markApproved(now),
    refuse,
    refuseOperation: refuseOperation(now),
    reject,
    expire: expire(now),
    abort,
  };
}
