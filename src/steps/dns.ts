import type { StepOutcome } from '../domain/types.js';
import type { Progress } from '../providers/types.js';
import type { RegionRole } from '../domain/types.js';
import { actionOutcome } from './outcome.js';
import { requireProvider } from './require.js';
import type { CheckOutcome, StepContext } from './types.js';

export async function dnsCheck(ctx: StepContext, target: RegionRole): Promise<CheckOutcome> {
  const current = await requireProvider(ctx, 'dns').currentTarget();
  return current === target
    ? { done: true, summary: `DNS already sends users to the ${target}` }
    : { done: false, summary: `DNS currently sends users to: ${current}` };
}

export async function dnsRun(
  ctx: StepContext,
  target: RegionRole,
  progress: Progress,
): Promise<StepOutcome> {
  const result = await requireProvider(ctx, 'dns').switchTo({ target, progress });
  return actionOutcome([{ component: 'dns', result }]);
}
