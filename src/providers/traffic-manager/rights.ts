/**
 * The bot's own Traffic Manager rights, checked by preflight before anyone can approve: the one
 * read the provider makes at failover (the profile GET) is sent once; a 403 names its Azure
 * action. Writing an endpoint has no dry run: the row says so.
 */
import type { ComponentReadiness } from '../../domain/types.js';
import { TRAFFIC_MANAGER_CALLS } from './api-calls.js';
import type { TrafficManagerContext } from './context.js';

const READ = TRAFFIC_MANAGER_CALLS['profiles.get']![0]!;

/** Whether the profile GET is refused for want of the read permission (not a missing profile). */
async function readDenied(ctx: TrafficManagerContext): Promise<boolean> {
  try {
    await ctx.client.profiles.get(ctx.opts.resourceGroup, ctx.opts.profileName);
    return false;
  } catch (err) {
    // Anything else (not found, throttled, unreachable) is the readiness's concern.
    return (err as { statusCode?: number }).statusCode === 403;
  }
}

/**
 * Readiness with the read right folded in: blocked with the action and where to grant it when the
 * profile GET is refused; otherwise a note that the endpoint write cannot be checked ahead.
 */
export async function withReadRights(
  ctx: TrafficManagerContext,
  readiness: () => Promise<ComponentReadiness>,
): Promise<ComponentReadiness> {
  const [r, denied] = await Promise.all([readiness(), readDenied(ctx)]);
  // A readiness that could not read the profile (unreachable, not found) says so itself.
  if (!denied && r.details.error !== undefined) return r;
  if (!denied) {
    const write = `Microsoft.Network/trafficManagerProfiles/${ctx.endpointTypeConfig}/write`;
    const note = `rights: the profile read succeeds; ${write} cannot be dry-run (known only when the switch sends it)`;
    // On the row itself, not a warning: nothing is wrong, a person should just know.
    return { ...r, summary: `${r.summary}; ${note}` };
  }
  const line = `may not ${READ} (read the profile and its endpoints): add it to the Actions of the role assigned to the bot on ${ctx.where} (deploy/permissions/azure-custom-role.json)`;
  return {
    ...r,
    status: 'blocked',
    summary: `the bot's Azure identity lacks a Traffic Manager right: ${line}`,
    details: { ...r.details, missingRights: [line] },
    planFacts: { ...r.planFacts, missingRights: 1 },
    warnings: [...(r.warnings ?? []), line],
  };
}
