/**
 * The Traffic Manager simulator's one Priority profile: its primary and secondary endpoints and
 * monitor, which endpoint DNS hands out, and the ARM JSON a client reads for them.
 */
import { isIp, type DnsAnswer, type DnsRecordType } from './dns-server.js';

type MonitorStatus =
  'CheckingEndpoint' | 'Online' | 'Degraded' | 'Disabled' | 'Inactive' | 'Stopped' | 'Unmonitored';

export interface SimEndpoint {
  name: string;
  type: 'azureEndpoints' | 'externalEndpoints' | 'nestedEndpoints';
  target: string;
  endpointStatus: 'Enabled' | 'Disabled';
  priority: number;
  weight: number;
  healthy: boolean;
  /** Always Serve: not probed, always handed out while enabled. */
  alwaysServe: boolean;
}

/** The profile's endpoint monitor: a probe every intervalInSeconds; Degraded after toleratedNumberOfFailures + 1 failures. */
export interface SimMonitor {
  intervalInSeconds: number;
  toleratedNumberOfFailures: number;
  timeoutInSeconds: number;
}

export interface ProfileOptions {
  subscriptionId?: string;
  resourceGroup?: string;
  profileName?: string;
  ttl?: number;
  primaryTarget?: string;
  secondaryTarget?: string;
  endpointType?: SimEndpoint['type'];
  token?: string;
}

export interface ProfileState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly profileName: string;
  readonly endpointType: SimEndpoint['type'];
  readonly token: string;
  readonly fqdn: string;
  readonly profileId: string;
  ttl: number;
  readonly monitor: SimMonitor;
  readonly endpoints: SimEndpoint[];
}

export function createProfileState(opts: ProfileOptions): ProfileState {
  const subscriptionId = opts.subscriptionId ?? '00000000-0000-0000-0000-000000000000';
  const resourceGroup = opts.resourceGroup ?? 'rg-dr';
  const profileName = opts.profileName ?? 'app-tm';
  const endpointType = opts.endpointType ?? 'externalEndpoints';
  const endpoint = (name: string, target: string, priority: number): SimEndpoint => ({
    name,
    type: endpointType,
    target,
    endpointStatus: 'Enabled',
    priority,
    weight: 1,
    healthy: true,
    alwaysServe: false,
  });
  return {
    subscriptionId,
    resourceGroup,
    profileName,
    endpointType,
    token: opts.token ?? 'sim-arm-token',
    fqdn: `${profileName}.trafficmanager.net`,
    profileId: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/trafficManagerProfiles/${profileName}`,
    ttl: opts.ttl ?? 60,
    monitor: { intervalInSeconds: 30, toleratedNumberOfFailures: 3, timeoutInSeconds: 10 },
    endpoints: [
      endpoint('primary', opts.primaryTarget ?? 'primary.example.net', 1),
      endpoint('secondary', opts.secondaryTarget ?? 'secondary.example.net', 2),
    ],
  };
}

// Always Serve turns probing off, so there is no health to report.
const monitorStatus = (e: SimEndpoint): MonitorStatus =>
  e.endpointStatus === 'Disabled'
    ? 'Disabled'
    : e.alwaysServe
      ? 'Unmonitored'
      : e.healthy
        ? 'Online'
        : 'Degraded';

export function served(p: ProfileState): SimEndpoint | undefined {
  const enabled = p.endpoints
    .filter((e) => e.endpointStatus === 'Enabled')
    .sort((a, b) => a.priority - b.priority);
  // With every enabled endpoint degraded, Traffic Manager answers as if all were healthy.
  return enabled.find((e) => e.healthy || e.alwaysServe) ?? enabled[0];
}

/** The DNS server's answer for the profile's FQDN: the served endpoint's target. */
export function dnsAnswer(p: ProfileState, name: string, type: DnsRecordType): DnsAnswer | null {
  if (name !== p.fqdn) return null;
  const e = served(p);
  if (!e) return null;
  const kind = isIp(e.target) ? (e.target.includes(':') ? 'AAAA' : 'A') : 'CNAME';
  if (kind !== 'CNAME' && kind !== type) return null;
  return { type: kind, values: [e.target], ttl: p.ttl };
}

export function endpointJson(p: ProfileState, e: SimEndpoint): Record<string, unknown> {
  return {
    id: `${p.profileId}/${e.type}/${e.name}`,
    name: e.name,
    type: `Microsoft.Network/trafficManagerProfiles/${e.type}`,
    properties: {
      endpointStatus: e.endpointStatus,
      endpointMonitorStatus: monitorStatus(e),
      target: e.target,
      weight: e.weight,
      priority: e.priority,
      endpointLocation: null,
      alwaysServe: e.alwaysServe ? 'Enabled' : 'Disabled',
    },
  };
}

export function profileJson(p: ProfileState): Record<string, unknown> {
  const statuses = p.endpoints.map(monitorStatus);
  const profileMonitorStatus = statuses.every((s) => s === 'Online' || s === 'Disabled')
    ? 'Online'
    : statuses.some((s) => s === 'Online')
      ? 'Degraded'
      : 'Inactive';
  return {
    id: p.profileId,
    name: p.profileName,
    type: 'Microsoft.Network/trafficManagerProfiles',
    location: 'global',
    tags: {},
    properties: {
      profileStatus: 'Enabled',
      trafficRoutingMethod: 'Priority',
      dnsConfig: { relativeName: p.profileName, fqdn: p.fqdn, ttl: p.ttl },
      monitorConfig: {
        profileMonitorStatus,
        protocol: 'HTTPS',
        port: 443,
        path: '/healthz',
        ...p.monitor,
      },
      endpoints: p.endpoints.map((e) => endpointJson(p, e)),
      trafficViewEnrollmentStatus: 'Disabled',
    },
  };
}
