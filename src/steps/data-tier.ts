import type { StepOutcome } from '../domain/types.js';
import type { ActionResult, CacheProvider, DatabaseProvider } from '../providers/types.js';
import { actionOutcome, allDone } from './outcome.js';
import type { CheckOutcome, StepContext } from './types.js';

type DataComponent = 'database' | 'cache';
type DataProvider = DatabaseProvider | CacheProvider;

/** The configured data-tier providers among `which`, in a stable order (database first). */
export function dataProviders(
  ctx: StepContext,
  which: readonly DataComponent[],
): { component: DataComponent; provider: DataProvider }[] {
  return which.flatMap((component) => {
    const provider = ctx.providers[component];
    return provider ? [{ component, provider }] : [];
  });
}

/** Check every configured provider; done when all of them are. */
export async function dataCheck(
  ctx: StepContext,
  which: readonly DataComponent[],
  isDone: (p: DataProvider) => Promise<boolean>,
  text: { done: string; todo: string },
): Promise<CheckOutcome> {
  const answers = [];
  for (const { component, provider } of dataProviders(ctx, which)) {
    answers.push({ label: component, done: await isDone(provider) });
  }
  return allDone(answers, text.done, text.todo);
}

/**
 * Act on the configured providers one by one, skipping those already done, so a step resumed
 * after a crash finishes the part that was missing without redoing the other.
 */
export async function dataRun(
  ctx: StepContext,
  which: readonly DataComponent[],
  isDone: (p: DataProvider) => Promise<boolean>,
  act: (p: DataProvider) => Promise<ActionResult>,
): Promise<StepOutcome> {
  const results: { component: DataComponent; result: ActionResult }[] = [];
  for (const { component, provider } of dataProviders(ctx, which)) {
    if (which.length > 1 && (await isDone(provider))) {
      results.push({
        component,
        result: { noop: true, summary: `${component}: already done`, evidence: {} },
      });
      continue;
    }
    results.push({ component, result: await act(provider) });
  }
  return actionOutcome(results);
}
