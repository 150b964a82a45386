import type { StepOutcome } from '../domain/types.js';
import type { Progress, ScaleProfile } from '../providers/types.js';
import { actionOutcome } from './outcome.js';
import { requireProvider } from './require.js';
import type { CheckOutcome, StepContext } from './types.js';

export async function scaleCheck(ctx: StepContext, profile: ScaleProfile): Promise<CheckOutcome> {
  const scaled = await requireProvider(ctx, 'cluster').isScaled('secondary', profile);
  return scaled
    ? { done: true, summary: `secondary workloads already at ${profile} size` }
    : { done: false, summary: `secondary workloads not at ${profile} size` };
}

export async function scaleRun(
  ctx: StepContext,
  profile: ScaleProfile,
  progress: Progress,
): Promise<StepOutcome> {
  const result = await requireProvider(ctx, 'cluster').scale({
    region: 'secondary',
    profile,
    progress,
  });
  return actionOutcome([{ component: 'cluster', result }]);
}
