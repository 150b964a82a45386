import { STEP_TITLES } from '../machine/runbook.js';
import { actionOutcome } from './outcome.js';
import { requireProvider } from './require.js';
import { scaleCheck } from './scale.js';
import type { Step } from './types.js';

export const scaleSecondary: Step = {
  id: 'scale-secondary',
  title: STEP_TITLES['scale-secondary'],
  needs: ['cluster'],
  // After a head start the counts are set already: the step still waits for the pods, and says
  // what the head start changed.
  check: (ctx) =>
    ctx.headStart
      ? Promise.resolve({ done: false, summary: 'counts set at approval: waiting for the pods' })
      : scaleCheck(ctx, 'production'),
  async run(ctx, progress) {
    const result = await requireProvider(ctx, 'cluster').scale({
      region: 'secondary',
      profile: 'production',
      progress,
    });
    const head = ctx.headStart;
    const readyMs = result.evidence.readyMs;
    return actionOutcome([
      {
        component: 'cluster',
        result: head
          ? {
              noop: false,
              summary: `head start at approval: ${head.summary}; ${typeof readyMs === 'number' ? `all ready after ${readyMs} ms` : result.summary}`,
              evidence: { ...result.evidence, headStart: head.evidence },
            }
          : result,
      },
    ]);
  },
};
