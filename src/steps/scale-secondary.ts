import { STEP_TITLES } from '../machine/runbook.js';
import { scaleCheck, scaleRun } from './scale.js';
import type { Step } from './types.js';

export const scaleSecondary: Step = {
  id: 'scale-secondary',
  title: STEP_TITLES['scale-secondary'],
  needs: ['cluster'],
  check: (ctx) => scaleCheck(ctx, 'production'),
  run: (ctx, progress) => scaleRun(ctx, 'production', progress),
};
