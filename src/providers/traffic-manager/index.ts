/**
 * DnsProvider for Azure Traffic Manager profiles with Priority routing: users go to the enabled,
 * healthy endpoint with the lowest priority number.
 *
 * Options (config: components.dns.trafficManager, plus dns.resolveName and targets.rtoMinutes):
 * - subscriptionId, resourceGroup, profileName
 * - primaryEndpoint, secondaryEndpoint: endpoint names in the profile
 * - endpointType: 'azureEndpoints' | 'externalEndpoints' (default) | 'nestedEndpoints'
 * - method: 'disable-endpoint' (default): failover disables the primary endpoint, failback enables
 *     it (priorities untouched; the primary must have the lower priority number).
 *     'swap-priorities': failover gives the secondary the lower priority number, failback swaps
 *     back; both endpoints stay enabled (three PATCHes through a parking priority, since
 *     priorities must be unique in a profile). The parking priority encodes both original
 *     priorities (see parkingPriority), so a swap interrupted between PATCHes is recognised
 *     (readiness warns, the switch step is not "done") and finished with the exact priorities.
 * - endpoint: ARM endpoint override (lab, tests); default https://management.azure.com
 * - credential: a TokenCredential; default DefaultAzureCredential (env, workload identity,
 *   managed identity, Azure CLI...)
 * - ca: PEM of extra CA certificates to trust for `endpoint` (the lab simulator's self-signed one)
 * - changeTimeoutSeconds: how long to wait until the profile routes to the target (default 120);
 *   then code 'timeout' and the operation pauses
 * - pollMs: the longest pause between polls while waiting (default 2000); the first is 25 ms,
 *   doubling from there
 * - rtoMinutes, resolveName, resolverServers, resolver: as for Route 53; resolution (of
 *   resolveName, default the profile's FQDN) runs when one of the last three is given. The
 *   failover-time warning adds to the profile's DNS TTL the time the monitor takes to mark the
 *   serving endpoint Degraded: (toleratedNumberOfFailures + 1) × intervalInSeconds
 * - log: pino logger
 */
import type { DnsProvider } from '../types.js';
import {
  NAME,
  createTrafficManagerContext,
  type TrafficManagerProviderOptions,
} from './context.js';
import { readiness } from './readiness.js';
import { withReadRights } from './rights.js';
import { currentTarget, switchTo } from './switch.js';
import { verify } from './verify.js';

export type { TrafficManagerProviderOptions } from './context.js';

export function createTrafficManagerProvider(opts: TrafficManagerProviderOptions): DnsProvider {
  const ctx = createTrafficManagerContext(opts);
  return {
    name: NAME,
    currentTarget: () => currentTarget(ctx),
    switchTo: (args) => switchTo(ctx, args),
    verify: (target) => verify(ctx, target),
    readiness: (target) => withReadRights(ctx, () => readiness(ctx, target)),
    async close() {},
  };
}
