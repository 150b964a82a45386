// Which manual steps an operation waits on, and which one a Done or Skip click names. Shared by
// the policy (approval.ts), the machine's guards and the view.
import type { ManualWait, StepId } from '../domain/types.js';
import type { OperationContext } from './types.js';

/** The manual steps waiting for Done, with what to do and who may confirm (from the plan). */
export function waitingOf(context: Pick<OperationContext, 'steps' | 'custom'>): ManualWait[] {
  return context.steps
    .filter((s) => s.status === 'waiting')
    .map((s) => {
      const plan = context.custom?.find((c) => c.id === s.id);
      return {
        stepId: s.id,
        title: s.title,
        text: plan?.detail ?? s.title,
        owners: [...(plan?.owners ?? [])],
        since: s.startedAt ?? 0,
      };
    });
}

/** The step a click names; without a name, the only one waiting (two waiting: it must say which). */
export function waitingTarget(
  waiting: readonly ManualWait[] | undefined,
  stepId: StepId | undefined,
): ManualWait | undefined {
  const all = waiting ?? [];
  if (stepId === undefined) return all.length === 1 ? all[0] : undefined;
  return all.find((w) => w.stepId === stepId);
}
