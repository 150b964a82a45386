import { STEP_TITLES } from '../machine/runbook.js';
import { scaleCheck, scaleRun } from './scale.js';
import type { Step } from './types.js';

/** Failback: the primary's workloads at production size before DNS sends users back. */
export const scalePrimary: Step = {
  id: 'scale-primary',
  title: STEP_TITLES['scale-primary'],
  needs: ['cluster'],
  check: (ctx) => scaleCheck(ctx, 'production', 'primary'),
  run: (ctx, progress) => scaleRun(ctx, 'production', progress, 'primary'),
};
