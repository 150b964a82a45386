import type { CheckResult } from '../domain/types.js';
import { STEP_TITLES } from '../machine/runbook.js';
import { dataProviders } from './data-tier.js';
import { ALWAYS_RUN, checksOutcome } from './outcome.js';
import type { Step } from './types.js';

export const verifyConsistency: Step = {
  id: 'verify-consistency',
  title: STEP_TITLES['verify-consistency'],
  needs: ['database', 'cache'],
  check: async () => ALWAYS_RUN,
  async run(ctx, progress) {
    const checks: CheckResult[] = [];
    for (const { provider } of dataProviders(ctx, ['database', 'cache'])) {
      checks.push(...(await provider.consistency({ writer: 'secondary', progress })));
    }
    return checksOutcome('primary and secondary consistent', checks);
  },
};
