import type { StepId, StepOutcome } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import type { Progress } from '../providers/types.js';
import { getStep, isConfigured } from '../steps/index.js';
import type { Step, StepContext } from '../steps/index.js';

/**
 * One attempt of a step: skipped when none of its providers is configured; otherwise check()
 * first — after a crash the step's effect may already be in place — and run() only when needed.
 */
async function runStepOnce(
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
        evidence: { ...check.evidence, check: check.summary },
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

/**
 * Waits before each automatic re-check of a step whose connection was lost mid-call: the outcome
 * is unknown, and the re-check reads before it acts (runStepOnce), so it is safe to do unasked.
 * A network that stays away longer than these pauses the operation for a person, as any failure.
 */
export const RECHECK_DELAYS_MS = [1000, 3000, 10_000];

/**
 * runStepOnce, re-checked up to `delaysMs.length` times when it fails with a lost connection
 * (code `connection-lost`); each re-check is noted on the timeline. Stops at `signal`.
 */
export async function runStepRechecking(
  ctx: StepContext,
  stepId: StepId,
  progress: Progress,
  custom: ReadonlyMap<StepId, Step> | undefined,
  { delaysMs, signal }: { delaysMs: readonly number[]; signal?: AbortSignal },
): Promise<StepOutcome> {
  for (let recheck = 0; ; recheck++) {
    try {
      // A re-check does not know what the cut-off call did: it is resumed, as after a crash.
      return await runStepOnce(recheck ? { ...ctx, resumed: true } : ctx, stepId, progress, custom);
    } catch (err) {
      const info = errorInfo(err);
      const delay = delaysMs[recheck];
      if (info.code !== 'connection-lost' || delay === undefined || signal?.aborted) throw err;
      progress(
        `connection lost mid-step, outcome unknown: re-checking in ${delay / 1000} s (${recheck + 1} of ${delaysMs.length}): ${info.message}`,
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (signal?.aborted) throw err;
    }
  }
}
