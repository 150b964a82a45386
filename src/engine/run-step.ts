import type { StepId, StepOutcome } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import type { Progress } from '../providers/types.js';
import { getStep, isConfigured } from '../steps/index.js';
import type { Step, StepContext } from '../steps/index.js';

/**
 * One attempt of a step: skipped when none of its providers is configured; otherwise check()
 * first — after a crash the step's effect may already be in place — and run() only when needed.
 */
export async function runStepOnce(
  ctx: StepContext,
  stepId: StepId,
  progress: Progress,
  custom?: ReadonlyMap<StepId, Step>,
): Promise<StepOutcome> {
  const step = custom?.get(stepId) ?? getStep(stepId);
  const skip = step.skipWhen?.(ctx);
  if (skip) return { result: 'not-configured', summary: `skipped — ${skip}`, evidence: {} };
  if (!isConfigured(step, ctx.providers)) {
    return {
      result: 'not-configured',
      summary: 'skipped — not configured',
      evidence: { needs: step.needs.join(', ') },
    };
  }
  try {
    const check = await step.check(ctx);
    if (check.done) {
      ctx.log.info({ check: check.summary }, 'step already done, nothing to change');
      return {
        result: 'already-done',
        summary: `already done, nothing changed: ${check.summary}`,
        evidence: { check: check.summary },
        ...(check.roles ? { roles: check.roles } : {}),
      };
    }
    ctx.log.info({ check: check.summary }, 'step running');
    const outcome = await step.run(ctx, progress);
    ctx.log.info({ result: outcome.result, verified: outcome.verified }, outcome.summary);
    return outcome;
  } catch (err) {
    ctx.log.warn({ err: errorInfo(err) }, 'step failed');
    throw err;
  }
}
