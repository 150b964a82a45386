import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step } from './types.js';

export const resyncCache: Step = {
  id: 'resync-cache',
  title: STEP_TITLES['resync-cache'],
  needs: ['cache'],
  check: (ctx) =>
    dataCheck(ctx, ['cache'], (p) => p.isStreamingStandby('primary'), {
      done: 'primary cache already replicates from the secondary',
      todo: 'primary cache not yet a replica',
    }),
  run: (ctx, progress) =>
    dataRun(
      ctx,
      ['cache'],
      (p) => p.isStreamingStandby('primary'),
      (p) => p.resync({ standby: 'primary', progress }),
    ),
};
