/**
 * Checking a switch took: the routing control (health check pin or failover records), what
 * TestDNSAnswer answers and, when configured, what a resolver returns for the name.
 */
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { sameValues } from '../dns-resolve.js';
import type { Route53Context } from './context.js';
import {
  describe,
  pinLine,
  pinOf,
  readState,
  recordValues,
  type HealthCheckPin,
  type RoutingState,
} from './records.js';

export async function verify(ctx: Route53Context, target: RegionRole): Promise<CheckResult[]> {
  const { opts, method, recordName, recordType, doResolve, resolve } = ctx;
  const checks: CheckResult[] = [];
  const t0 = Date.now();
  let st: RoutingState;
  try {
    st = await readState(ctx);
  } catch (err) {
    return [
      {
        name: 'route53 records',
        kind: 'dns',
        ok: false,
        detail: errorInfo(err).message,
        durationMs: Date.now() - t0,
      },
    ];
  }
  if (method === 'invert-health-check') {
    const pin = pinOf(st.healthCheck);
    const wanted: HealthCheckPin = target === 'secondary' ? 'pinned' : 'released';
    checks.push({
      name: 'route53 primary health check pin',
      kind: 'dns',
      ok: pin === wanted,
      detail: `primary ${pinLine(st.healthCheck)}: ${pin}${pin === wanted ? '' : ` (expected ${wanted})`}`,
      durationMs: Date.now() - t0,
    });
  } else {
    const rec = st.records[target];
    checks.push({
      name: 'route53 failover records',
      kind: 'dns',
      ok: rec.Failover === 'PRIMARY',
      detail: `${target} record "${rec.SetIdentifier}" is ${rec.Failover}`,
      durationMs: Date.now() - t0,
    });
  }
  checks.push({
    name: 'route53 TestDNSAnswer',
    kind: 'dns',
    ok: st.servedBy === target,
    detail: `${recordName} ${recordType} → ${st.answer.join(', ') || '(no answer)'} = ${describe(st.records, st.servedBy)}`,
    durationMs: Date.now() - t0,
  });
  if (doResolve) {
    const name = opts.resolveName ?? recordName;
    const t1 = Date.now();
    // An alias answers with its target's addresses: what TestDNSAnswer gives once it is served.
    const expected = st.records[target].AliasTarget
      ? st.servedBy === target
        ? st.answer
        : []
      : recordValues(st.records[target]);
    try {
      const got = await resolve(name, recordType);
      const ok = sameValues(got, expected);
      checks.push({
        name: `resolve ${name}`,
        kind: 'dns',
        ok,
        detail: `${got.join(', ')}${ok ? '' : ` (expected ${expected.join(', ')}; resolvers may still cache the old answer for up to ${st.ttl ?? '?'} s)`}`,
        durationMs: Date.now() - t1,
      });
    } catch (err) {
      checks.push({
        name: `resolve ${name}`,
        kind: 'dns',
        ok: false,
        detail: `resolution failed: ${(err as Error).message}`,
        durationMs: Date.now() - t1,
      });
    }
  }
  return checks;
}
