import { STEP_TITLES } from '../machine/runbook.js';
import { requireProvider } from './require.js';
import { scaleCheck, scaleRun } from './scale.js';
import type { Step } from './types.js';

/**
 * Failback's (and a drill's) last stage: the secondary back to standby size, and the primary,
 * verified serving by now, handed back to its autoscalers, which scale-primary raised to hold
 * production size while DNS came back.
 */
export const scaleSecondaryDown: Step = {
  id: 'scale-secondary-down',
  title: STEP_TITLES['scale-secondary-down'],
  needs: ['cluster'],
  async check(ctx) {
    const down = await scaleCheck(ctx, 'standby');
    if (!down.done) return down;
    return (await requireProvider(ctx, 'cluster').autoscalersReleased('primary'))
      ? down
      : { done: false, summary: "primary's autoscalers still hold their raised bounds" };
  },
  async run(ctx, progress) {
    const outcome = await scaleRun(ctx, 'standby', progress);
    const released = await requireProvider(ctx, 'cluster').releaseAutoscalers({
      region: 'primary',
      progress,
    });
    if (released.noop) return outcome;
    return {
      ...outcome,
      result: 'done',
      summary: `${outcome.summary}; ${released.summary}`,
      evidence: { ...outcome.evidence, primary: released.evidence },
    };
  },
};
