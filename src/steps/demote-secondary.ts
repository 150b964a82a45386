import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step } from './types.js';

export const demoteSecondary: Step = {
  id: 'demote-secondary',
  title: STEP_TITLES['demote-secondary'],
  needs: ['database', 'cache'],
  check: (ctx) =>
    dataCheck(ctx, ['database', 'cache'], (p) => p.isStreamingStandby('secondary'), {
      done: 'secondary already a standby of the primary',
      todo: 'secondary still not a standby',
    }),
  run: (ctx, progress) =>
    dataRun(ctx, ['database', 'cache'], (p) => p.isStreamingStandby('secondary'), (p) => p.resync({ standby: 'secondary', progress })),
};
