/**
 * Reading the profile and its two endpoints, what they mean (which region is served) and the
 * PATCH of one endpoint that every switch is made of.
 */
import type { Endpoint, Profile } from '@azure/arm-trafficmanager';
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed } from '../../errors.js';
import { UNHEALTHY, call, type TrafficManagerContext } from './context.js';

export interface ProfileState {
  profile: Profile;
  endpoints: Record<RegionRole, Endpoint>;
  servedBy: RegionRole | 'unknown';
  ttl: number | undefined;
  fqdn: string | undefined;
}

function servedBy(endpoints: Record<RegionRole, Endpoint>): RegionRole | 'unknown' {
  const enabled = (['primary', 'secondary'] as RegionRole[])
    .filter((r) => endpoints[r].endpointStatus === 'Enabled')
    .sort((a, b) => (endpoints[a].priority ?? 0) - (endpoints[b].priority ?? 0));
  return (
    enabled.find((r) => !UNHEALTHY.has(endpoints[r].endpointMonitorStatus ?? '')) ??
    enabled[0] ??
    'unknown'
  );
}

export async function readState(ctx: TrafficManagerContext): Promise<ProfileState> {
  const { opts, client, names, endpointTypeConfig, where } = ctx;
  const profile = await call(ctx, `reading ${where}`, () =>
    client.profiles.get(opts.resourceGroup, opts.profileName),
  );
  if (profile.trafficRoutingMethod !== 'Priority')
    throw new PreconditionFailed(
      `${where} uses ${profile.trafficRoutingMethod} routing: dr-bot only switches Priority profiles.`,
      { code: 'wrong-target' },
    );
  const find = (role: RegionRole): Endpoint => {
    const e = (profile.endpoints ?? []).find(
      (x) =>
        x.name?.toLowerCase() === names[role].toLowerCase() &&
        x.type?.toLowerCase().endsWith(`/${endpointTypeConfig.toLowerCase()}`),
    );
    if (!e)
      throw new PreconditionFailed(
        `${where} has no ${endpointTypeConfig} endpoint "${names[role]}" (the ${role}); it has: ${(profile.endpoints ?? []).map((x) => `"${x.name}"`).join(', ') || 'none'}. Fix components.dns.trafficManager.${role}Endpoint.`,
        { code: 'not-found' },
      );
    return e;
  };
  const endpoints = { primary: find('primary'), secondary: find('secondary') };
  return {
    profile,
    endpoints,
    servedBy: servedBy(endpoints),
    ttl: profile.dnsConfig?.ttl,
    fqdn: profile.dnsConfig?.fqdn,
  };
}

export const describe = (st: ProfileState, role: RegionRole | 'unknown'): string =>
  role === 'unknown'
    ? 'no endpoint'
    : `${role} ("${st.endpoints[role].name}", ${st.endpoints[role].target})`;
export const endpointLine = (e: Endpoint): string =>
  `"${e.name}" ${e.endpointStatus}/${e.endpointMonitorStatus} priority ${e.priority}`;

export async function patch(
  ctx: TrafficManagerContext,
  role: RegionRole,
  properties: Partial<Pick<Endpoint, 'endpointStatus' | 'priority'>>,
): Promise<void> {
  const { opts, client, names, endpointType } = ctx;
  const what = Object.entries(properties)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  await call(ctx, `setting ${what} on endpoint "${names[role]}"`, () =>
    client.endpoints.update(
      opts.resourceGroup,
      opts.profileName,
      endpointType,
      names[role],
      properties as Endpoint,
    ),
  );
}
