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
  const checks: CheckResult[] = [];
  if (verification) checks.push(...(await verification.run({ region, progress })));
  if (database) checks.push(...(await database.verifyWriter(region)));
  if (cache) checks.push(...(await cache.verifyWriter(region)));
  if (dns) checks.push(...(await dns.verify(region)));
  const extra: Evidence = { region };
  // RTO runs from the final approval to a green verification.
  if (ctx.approvedAt !== undefined) extra.sinceApprovalMs = Date.now() - ctx.approvedAt;
  return checksOutcome(`${region} serving`, checks, extra);
}
