import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step } from './types.js';

/** Down counts as "not a standby yet" (a resync interrupted after stopping it): the resync takes it from there or says why not. */
const streams = (p: { isStreamingStandby(s: 'secondary'): Promise<boolean> }) =>
  p.isStreamingStandby('secondary').catch(() => false);

export const demoteSecondary: Step = {
  id: 'demote-secondary',
  title: STEP_TITLES['demote-secondary'],
  needs: ['database', 'cache'],
  check: (ctx) =>
    dataCheck(ctx, ['database', 'cache'], streams, {
      done: 'secondary already a standby of the primary',
      todo: 'secondary still not a standby',
    }),
  run: (ctx, progress) =>
    dataRun(ctx, ['database', 'cache'], streams, (p) =>
      p.resync({ standby: 'secondary', progress }),
    ),
};
