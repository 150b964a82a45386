import type { RegionRole, StepOutcome } from '../domain/types.js';
import type { Progress, ScaleProfile } from '../providers/types.js';
import { actionOutcome } from './outcome.js';
import { requireProvider } from './require.js';
import type { CheckOutcome, StepContext } from './types.js';

export async function scaleCheck(
  ctx: StepContext,
  profile: ScaleProfile,
  region: RegionRole = 'secondary',
): Promise<CheckOutcome> {
  const scaled = await requireProvider(ctx, 'cluster').isScaled(region, profile);
  return scaled
    ? { done: true, summary: `${region} workloads already at ${profile} size` }
    : { done: false, summary: `${region} workloads not at ${profile} size` };
}

export async function scaleRun(
  ctx: StepContext,
  profile: ScaleProfile,
  progress: Progress,
  region: RegionRole = 'secondary',
): Promise<StepOutcome> {
  const result = await requireProvider(ctx, 'cluster').scale({ region, profile, progress });
  return actionOutcome([{ component: 'cluster', result }]);
}
