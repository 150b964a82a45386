// The operation machine's guards: pure predicates over the context, the event and the params a
// transition passes. setup() in machine-setup.ts registers them by name.
import type {
  OperationKind,
  Phase,
  PreflightReport,
  StepId,
  StepOutcome,
} from '../domain/types.js';
import { computePlanHash, refusalForEvent } from './approval.js';
import { blockedComponents, failedIn, planSteps, stepOf } from './records.js';
import type { OperationContext, OperationEvent } from './types.js';

interface GuardArgs {
  context: OperationContext;
  event: OperationEvent;
}

export const operationGuards = {
  reportBlocked: (_: unknown, params: { report: PreflightReport }) =>
    blockedComponents(params.report).length > 0,
  planUnchanged: (
    { context }: GuardArgs,
    params: { report: PreflightReport; kind: OperationKind },
  ) =>
    context.kind === params.kind &&
    computePlanHash(
      context.id,
      context.kind,
      params.report,
      planSteps(context).steps,
      planSteps(context).custom,
    ) === context.planHash,
  allowed: ({ context, event }: GuardArgs, params: { phase: Phase }) =>
    refusalForEvent(context, params.phase, event) === null,
  approvalCompletes: ({ context, event }: GuardArgs) =>
    refusalForEvent(context, 'awaitingApproval', event) === null &&
    context.approvals.length + 1 >= context.requiredApprovals,
  pastDeadline: ({ context, event }: GuardArgs) =>
    context.expiresAt !== undefined && 'at' in event && event.at >= context.expiresAt,
  stepSettled: (
    { context }: GuardArgs,
    params: { stepId: StepId; status: 'succeeded' | 'skipped' },
  ) => stepOf(context, params.stepId).status === params.status,
  notConfigured: (_: unknown, params: { outcome: StepOutcome }) =>
    params.outcome.result === 'not-configured',
  verificationFailed: (_: unknown, params: { outcome: StepOutcome }) =>
    params.outcome.verified === false,
  stageFailed: ({ context }: GuardArgs, params: { stage: readonly StepId[] }) =>
    failedIn(context, params.stage).length > 0,
};
