import { STEP_TITLES } from '../machine/runbook.js';
import { ALWAYS_RUN } from './outcome.js';
import type { Step } from './types.js';
import { verifyServing } from './verify-region.js';

export const verifyPrimaryServing: Step = {
  id: 'verify-primary-serving',
  title: STEP_TITLES['verify-primary-serving'],
  needs: ['verification', 'database', 'cache', 'dns'],
  check: async () => ALWAYS_RUN,
  run: (ctx, progress) => verifyServing(ctx, 'primary', progress),
};
