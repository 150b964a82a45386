import { STEP_TITLES } from '../machine/runbook.js';
import { scaleCheck, scaleRun } from './scale.js';
import type { Step } from './types.js';

export const scaleSecondaryDown: Step = {
  id: 'scale-secondary-down',
  title: STEP_TITLES['scale-secondary-down'],
  needs: ['cluster'],
  check: (ctx) => scaleCheck(ctx, 'standby'),
  run: (ctx, progress) => scaleRun(ctx, 'standby', progress),
};
