/**
 * DnsProvider for Route 53 Application Recovery Controller routing controls: the data-plane way
 * to move users, through the cluster's regional endpoints, without the Route 53 control plane
 * in us-east-1. Each region's failover record carries a health check tied to its routing
 * control; failover turns the secondary's control On and the primary's Off in one call.
 *
 * Options (config: components.dns.route53Arc): endpoints (url + region each), the two routing
 * control ARNs, timeoutSeconds per endpoint before the next is tried (default 5).
 */
import type { DnsProvider } from '../types.js';
import {
  NAME,
  createArcContext,
  destroyClients,
  type Route53ArcProviderOptions,
} from './context.js';
import { currentTarget, switchTo, verify } from './controls.js';
import { readiness } from './readiness.js';

export function createRoute53ArcProvider(opts: Route53ArcProviderOptions): DnsProvider {
  const ctx = createArcContext(opts);
  return {
    name: NAME,
    currentTarget: () => currentTarget(ctx),
    switchTo: (args) => switchTo(ctx, args),
    verify: (target) => verify(ctx, target),
    readiness: (target) => readiness(ctx, target),
    async close() {
      destroyClients(ctx);
    },
  };
}
