import { verdictLabel, verdictOf, type ConsistencyScope } from '../domain/consistency.js';
import type { StepOutcome } from '../domain/types.js';
import { STEP_TITLES } from '../machine/runbook.js';
import { dataProviders } from './data-tier.js';
import { ALWAYS_RUN, checksOutcome } from './outcome.js';
import type { Step } from './types.js';

/** "consistent", or what was not proven: never "consistent" for a sampled or changing scope. */
function headline(scopes: readonly ConsistencyScope[]): string {
  const unproven = scopes.filter((s) => verdictOf(s) !== 'consistent');
  if (unproven.length === 0) return 'primary and secondary consistent';
  const label = (s: ConsistencyScope) =>
    `${s.component === 'database' ? 'postgres' : 'redis'} ${s.name}: ${verdictLabel(s)}`;
  return `primary and secondary compared (${unproven.map(label).join('; ')})`;
}

/**
 * Database and cache are compared at once (each within the configured time budget), so the
 * budget bounds the step. What each proved per table and keyspace goes on the card.
 */
export const verifyConsistency: Step = {
  id: 'verify-consistency',
  title: STEP_TITLES['verify-consistency'],
  needs: ['database', 'cache'],
  check: async () => ALWAYS_RUN,
  async run(ctx, progress): Promise<StepOutcome> {
    const parts = await Promise.all(
      dataProviders(ctx, ['database', 'cache']).map(({ provider }) =>
        provider.consistency({ writer: 'secondary', progress }),
      ),
    );
    const checks = parts.flatMap((p) => p.checks);
    const scopes = parts.flatMap((p) => p.scopes);
    return { ...checksOutcome(headline(scopes), checks), consistency: scopes };
  },
};
