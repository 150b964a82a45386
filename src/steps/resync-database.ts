import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step } from './types.js';

export const resyncDatabase: Step = {
  id: 'resync-database',
  title: STEP_TITLES['resync-database'],
  needs: ['database'],
  check: (ctx) =>
    dataCheck(ctx, ['database'], (p) => p.isStreamingStandby('primary'), {
      done: 'primary database already streams from the secondary',
      todo: 'primary database not yet a streaming standby',
    }),
  run: (ctx, progress) =>
    dataRun(ctx, ['database'], (p) => p.isStreamingStandby('primary'), (p) => p.resync({ standby: 'primary', progress })),
};
