/**
 * DnsProvider for AWS Route 53 failover records (a PRIMARY and a SECONDARY record of the same name
 * and type, each with a health check).
 *
 * Options (config: components.dns.route53, plus dns.resolveName and targets.rtoMinutes):
 * - hostedZoneId, recordName, recordType ('A' | 'AAAA' | 'CNAME', default 'A')
 * - primarySetIdentifier, secondarySetIdentifier: SetIdentifier of the PRIMARY / SECONDARY records
 * - method: 'invert-health-check' (default) | 'rewrite-records'
 *     invert-health-check: failover pins the primary record's health check (primaryHealthCheckId,
 *       required) unhealthy with one UpdateHealthCheck setting Disabled=true and Inverted=true:
 *       a disabled check counts as healthy whatever its endpoint says, and inversion turns that
 *       into always unhealthy, so Route 53 answers the SECONDARY record and keeps doing so when the
 *       primary's endpoint goes down or comes back. (Inverted alone would not hold: a primary
 *       whose endpoint fails would pass its inverted check and get the traffic back.) It pins even
 *       when the primary's check already fails on its own. Failback sets both back to false.
 *       Inverted without Disabled (or the reverse) is a half-done switch that the step completes.
 *       The records are never touched. Waits until TestDNSAnswer answers the target's record.
 *     rewrite-records: one ChangeResourceRecordSets batch of two UPSERTs swaps the Failover roles
 *       (the target region's record becomes PRIMARY, the other SECONDARY), then waits for GetChange
 *       INSYNC. Holds even when the old primary comes back. Records found already switched (a
 *       retry after a change timed out PENDING) are re-submitted unchanged and that change awaited
 *       INSYNC: Route 53 applies a zone's changes in order, so the earlier one has propagated too.
 * - primaryHealthCheckId: the primary record's health check (invert-health-check)
 * - endpoint: API endpoint override (lab, tests); AWS_ENDPOINT_URL_ROUTE_53 works too
 * - region: signing region (default us-east-1)
 * - changeTimeoutSeconds: how long to wait for INSYNC / the new answer (default 300); then the
 *   step fails with code 'timeout' and the operation pauses
 * - pollMs: the longest pause between polls while waiting (default 2000); the first is 25 ms,
 *   doubling from there
 * - rtoMinutes: targets.rtoMinutes, for the failover-time warning in readiness: the TTL plus the
 *   time Route 53 takes to see the PRIMARY record's health check fail (RequestInterval ×
 *   FailureThreshold, from GetHealthCheck); the TTL alone, said so, where that cannot be read
 * - resolveName: name to resolve in verify() (dns.resolveName); resolution runs when this,
 *   resolverServers or resolver is given
 * - resolverServers: DNS servers for that resolution ("10.0.0.2", "127.0.0.1:5353")
 * - resolver: a resolve function (tests)
 * - maxAttempts: SDK attempts per call, throttling included (default 5)
 * - credentials: static credentials; default: the standard AWS chain (env, profile, IMDS, ...)
 * - log: pino logger
 */
import type { DnsProvider } from '../types.js';
import { NAME, createRoute53Context, type Route53ProviderOptions } from './context.js';
import { readiness } from './readiness.js';
import { withReadRights } from './rights.js';
import { currentTarget, switchTo } from './switch.js';
import { verify } from './verify.js';

export type { Route53ProviderOptions } from './context.js';

export function createRoute53Provider(opts: Route53ProviderOptions): DnsProvider {
  const ctx = createRoute53Context(opts);
  return {
    name: NAME,
    currentTarget: () => currentTarget(ctx),
    switchTo: (args) => switchTo(ctx, args),
    verify: (target) => verify(ctx, target),
    readiness: (target) => withReadRights(ctx, () => readiness(ctx, target)),
    async close() {
      ctx.client.destroy();
    },
  };
}
