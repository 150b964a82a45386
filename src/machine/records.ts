import type {
  ComponentReadiness,
  Runbook,
  OperationKind,
  PreflightReport,
  RpoMeasurement,
  StepId,
  StepOutcome,
  StepState,
} from '../domain/types.js';
import { errorInfo, type ErrorInfo } from '../errors.js';
import { RUNBOOKS, STEP_TITLES, runbookSteps } from './runbook.js';
import type { OperationContext } from './types.js';

/** Bookkeeping of the machine's context: the step records, the errors they carry, the measurements. */

export function initialSteps(runbook: Runbook): StepState[] {
  const custom = new Map<StepId, string>((runbook.custom ?? []).map((c) => [c.id, c.title]));
  return runbookSteps(runbook).map((id) => ({
    id,
    title: custom.get(id) ?? STEP_TITLES[id],
    status: 'pending',
    attempts: 0,
  }));
}

/** `undefined` in a patch removes the field, so persisted steps carry only what happened. */
export function patchStep(steps: StepState[], id: StepId, patch: Partial<StepState>): StepState[] {
  return steps.map((s) => {
    if (s.id !== id) return s;
    const next: Record<string, unknown> = { ...s, ...patch };
    for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
    return next as unknown as StepState;
  });
}

export function stepOf(context: OperationContext, id: StepId): StepState {
  const step = context.steps.find((s) => s.id === id);
  if (!step) throw new Error(`step ${id} is not part of the ${context.kind} runbook`);
  return step;
}

/** The stages the operation runs: the ones it started with (older snapshots: today's runbook). */
export function stagesOf(context: Pick<OperationContext, 'kind' | 'runbook'>): StepId[][] {
  return context.runbook ?? RUNBOOKS[context.kind].stages.map((stage) => [...stage]);
}

/** What approvals bind to: every step in order, and what each custom step does. */
export function planSteps(context: Pick<OperationContext, 'kind' | 'runbook' | 'custom'>) {
  return { steps: stagesOf(context).flat(), custom: context.custom };
}

export function failedIn(context: OperationContext, stage: readonly StepId[]): StepId[] {
  return stage.filter((id) => stepOf(context, id).status === 'failed');
}

export function collectRpo(steps: StepState[]): RpoMeasurement[] {
  return steps.flatMap((s) => (s.status === 'succeeded' ? (s.rpo ?? []) : []));
}

/** The last verification step of a runbook: RTO ends when it goes green. */
export function rtoStepOf(kind: OperationKind): StepId | undefined {
  const runbook = RUNBOOKS[kind];
  if (runbook.rtoStep) return runbook.rtoStep;
  return runbookSteps(runbook)
    .filter((id) => id.startsWith('verify-'))
    .at(-1);
}

export function blockedComponents(report: PreflightReport): ComponentReadiness[] {
  return report.components.filter((c) => c.status === 'blocked');
}

/** A block that says the operation has nothing to do (already failed over, nothing to fail back), not that something is broken. */
const nothingToDo = (c: ComponentReadiness): boolean =>
  c.planFacts.alreadyFailedOver === true || c.planFacts.nothingToFailBack === true;

export function refusalFromReport(report: PreflightReport): ErrorInfo {
  const blocked = blockedComponents(report);
  const reasons = blocked.map((c) => `${c.component}: ${c.summary}`);
  // Nothing to fix when there is nothing to do: the reason itself says what to request instead.
  const next = blocked.every(nothingToDo)
    ? ''
    : ' Fix the blocked component(s) and request it again.';
  return {
    code: 'precondition-failed',
    message: `Preflight blocked the operation before any change (${reasons.join('; ')}).${next}`,
    retryable: false,
  };
}

export function preflightError(error: unknown): ErrorInfo {
  const info = errorInfo(error);
  return {
    ...info,
    message: `Preflight could not check the components, so nothing was changed: ${info.message}`,
  };
}

export function verificationError(stepId: StepId, outcome: StepOutcome): ErrorInfo {
  const failing = (outcome.checks ?? []).filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`);
  const which = failing.length > 0 ? ` Failing checks: ${failing.join(', ')}.` : '';
  return {
    code: 'verification-failed',
    message: `${STEP_TITLES[stepId]} did not pass: ${outcome.summary}.${which} Fix the region and Retry, or Skip to accept it.`,
    retryable: true,
  };
}

export function abortedWhileRunning(): ErrorInfo {
  return {
    code: 'unknown',
    message:
      'The operation was aborted while this step was running; its outcome is unknown. Check the component before acting on it.',
    retryable: false,
  };
}

export function abortedWhileWaiting(): ErrorInfo {
  return {
    code: 'unknown',
    message:
      'The operation was aborted while this checklist item waited for Done; nobody confirmed it.',
    retryable: false,
  };
}
