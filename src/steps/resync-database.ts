import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step } from './types.js';

/**
 * A resync interrupted after the command stopped the server leaves it down: that is "not done
 * yet" (the command picks it up), not a reason to fail the check.
 */
const streams = (p: { isStreamingStandby(s: 'primary'): Promise<boolean> }) =>
  p.isStreamingStandby('primary').catch(() => false);

export const resyncDatabase: Step = {
  id: 'resync-database',
  title: STEP_TITLES['resync-database'],
  needs: ['database'],
  check: (ctx) =>
    dataCheck(ctx, ['database'], streams, {
      done: 'primary database already streams from the secondary',
      todo: 'primary database not yet a streaming standby',
    }),
  run: (ctx, progress) =>
    dataRun(ctx, ['database'], streams, (p) => p.resync({ standby: 'primary', progress })),
};
