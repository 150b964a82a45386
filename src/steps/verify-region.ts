import type { CheckResult, Evidence, RegionRole, StepOutcome } from '../domain/types.js';
import type { Progress } from '../providers/types.js';
import { checksOutcome } from './outcome.js';
import type { StepContext } from './types.js';

/**
 * The region serves: its checks pass, the database and cache there take writes, DNS points at it.
 * Used after failover (secondary) and at the end of failback (primary).
 */
export async function verifyServing(
  ctx: StepContext,
  region: RegionRole,
  progress: Progress,
): Promise<StepOutcome> {
  const { verification, database, cache, dns } = ctx.providers;
  const none = Promise.resolve<CheckResult[]>([]);
  // Independent probes, run at once; the card lists them in this order all the same.
  const checks: CheckResult[] = (
    await Promise.all([
      verification ? verification.run({ region, progress }) : none,
      database ? database.verifyWriter(region) : none,
      cache ? cache.verifyWriter(region) : none,
      dns ? dns.verify(region) : none,
    ])
  ).flat();
  const extra: Evidence = { region };
  // RTO runs from the final approval to a green verification.
  if (ctx.approvedAt !== undefined) extra.sinceApprovalMs = Date.now() - ctx.approvedAt;
  return checksOutcome(`${region} serving`, checks, extra);
}
