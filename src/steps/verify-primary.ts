import type { CheckResult } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import { STEP_TITLES } from '../machine/runbook.js';
import { ALWAYS_RUN, checksOutcome } from './outcome.js';
import type { Step } from './types.js';

/**
 * Failback starts only when the primary region is back: its health endpoint (regions.primary.healthUrl)
 * and verification checks pass, and its Kubernetes API, PostgreSQL and Redis answer. Every failing
 * check is listed and the step fails, so nothing moves before the region is whole.
 */
export const verifyPrimary: Step = {
  id: 'verify-primary',
  title: STEP_TITLES['verify-primary'],
  needs: ['health', 'verification', 'cluster', 'database', 'cache'],
  check: async () => ALWAYS_RUN,
  async run(ctx, progress) {
    const { health, verification, cluster, database, cache } = ctx.providers;
    const checks: CheckResult[] = [];
    const endpoint = health ? await health.probe('primary', progress) : null;
    if (endpoint) checks.push(endpoint);
    if (verification) checks.push(...(await verification.run({ region: 'primary', progress })));
    if (cluster) checks.push(await cluster.reachable('primary'));
    if (database) checks.push(await answers('database', () => database.isWriter('primary')));
    if (cache) checks.push(await answers('cache', () => cache.isWriter('primary')));
    return checksOutcome('primary region', checks, { region: 'primary' });
  },
};

/**
 * Reachability only: the old primary may still be a writer (unplanned failover) or already read
 * only; the resync step that follows deals with either. An error here means it does not answer.
 */
async function answers(
  kind: 'database' | 'cache',
  probe: () => Promise<boolean>,
): Promise<CheckResult> {
  const started = Date.now();
  try {
    const writer = await probe();
    return {
      name: `primary ${kind}`,
      kind,
      ok: true,
      detail: `reachable (${writer ? 'accepts writes' : 'read-only'})`,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    return {
      name: `primary ${kind}`,
      kind,
      ok: false,
      detail: `unreachable: ${errorInfo(err).message}`,
      durationMs: Date.now() - started,
    };
  }
}
