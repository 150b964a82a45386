import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step } from './types.js';

/** Failback switches writes back only once the primary has caught up, so it is always planned. */
export const promotePrimary: Step = {
  id: 'promote-primary',
  title: STEP_TITLES['promote-primary'],
  needs: ['database', 'cache'],
  check: (ctx) =>
    dataCheck(ctx, ['database', 'cache'], (p) => p.isWriter('primary'), {
      done: 'primary already takes writes',
      todo: 'primary still a standby',
    }),
  run: (ctx, progress) =>
    dataRun(ctx, ['database', 'cache'], (p) => p.isWriter('primary'), (p) => p.promote({ target: 'primary', mode: 'planned', progress })),
};
