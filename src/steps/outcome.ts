/**
 * Shared shaping of provider results into step outcomes, so every step reports evidence, RPO and
 * verification the same way.
 */
import type { CheckResult, Evidence, StepOutcome } from '../domain/types.js';
import type { ActionResult, PromotionResult } from '../providers/types.js';
import type { CheckOutcome } from './types.js';

type Named<R> = { component: 'database' | 'cache' | 'dns' | 'cluster'; result: R };

/** One or more provider actions → an outcome. `done` unless every provider said it was a no-op. */
export function actionOutcome(results: Named<ActionResult>[]): StepOutcome {
  const single = results.length === 1;
  const evidence: Evidence = single
    ? { ...results[0].result.evidence }
    : Object.fromEntries(results.map((r) => [r.component, r.result.evidence]));
  const rpo = results
    .map((r) => (isPromotion(r.result) ? r.result.rpo : undefined))
    .filter((r) => r !== undefined);
  for (const r of results) {
    if (isPromotion(r.result)) {
      const modeKey = single ? 'mode' : `${r.component}Mode`;
      evidence[modeKey] = r.result.mode;
    }
  }
  return {
    result: results.every((r) => r.result.noop) ? 'already-done' : 'done',
    summary: results.map((r) => r.result.summary).join('; '),
    evidence,
    ...(rpo.length > 0 ? { rpo } : {}),
  };
}

function isPromotion(r: ActionResult): r is PromotionResult {
  return 'rpo' in r && 'mode' in r;
}

/** Verification-style steps: the checks decide; `verified: false` fails the step. */
export function checksOutcome(
  what: string,
  checks: CheckResult[],
  extra: Evidence = {},
): StepOutcome {
  const failed = checks.filter((c) => !c.ok);
  const verified = failed.length === 0;
  const summary = verified
    ? `${what}: ${checks.length}/${checks.length} checks passed`
    : `${what}: ${failed.length} of ${checks.length} checks failed (${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')})`;
  return {
    result: 'done',
    summary,
    evidence: { passed: checks.length - failed.length, failed: failed.length, ...extra },
    checks,
    verified,
  };
}

/** Each configured provider's "already done?" answer combined: done only when all of them are. */
export function allDone(
  answers: { label: string; done: boolean }[],
  doneText: string,
  todoText: string,
): CheckOutcome {
  const pending = answers.filter((a) => !a.done).map((a) => a.label);
  if (answers.length > 0 && pending.length === 0) return { done: true, summary: doneText };
  return { done: false, summary: `${todoText}: ${pending.join(', ')}` };
}

/** Verification steps always run: there is no "already verified". */
export const ALWAYS_RUN: CheckOutcome = { done: false, summary: 'verification always runs' };
