/**
 * Checking a switch took: the profile is enabled, the target endpoint is enabled and healthy, the
 * profile routes to it and, when configured, a resolver returns its target.
 */
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { queryTypeFor, sameValues } from '../dns-resolve.js';
import type { TrafficManagerContext } from './context.js';
import { describe, endpointLine, readState, type ProfileState } from './profile.js';
import { alreadySet } from './swap.js';

export async function verify(
  ctx: TrafficManagerContext,
  target: RegionRole,
): Promise<CheckResult[]> {
  const { opts, doResolve, resolve } = ctx;
  const t0 = Date.now();
  let st: ProfileState;
  try {
    st = await readState(ctx);
  } catch (err) {
    return [
      {
        name: 'traffic manager profile',
        kind: 'dns',
        ok: false,
        detail: errorInfo(err).message,
        durationMs: Date.now() - t0,
      },
    ];
  }
  const t = st.endpoints[target];
  const checks: CheckResult[] = [
    {
      name: 'traffic manager profile',
      kind: 'dns',
      ok: st.profile.profileStatus === 'Enabled',
      detail: `${opts.profileName} ${st.profile.profileStatus}, monitor ${st.profile.monitorConfig?.profileMonitorStatus ?? '?'}`,
      durationMs: Date.now() - t0,
    },
    {
      name: `traffic manager ${target} endpoint`,
      kind: 'dns',
      ok:
        t.endpointStatus === 'Enabled' &&
        (t.endpointMonitorStatus === 'Online' || t.endpointMonitorStatus === 'Unmonitored'),
      detail: endpointLine(t),
      durationMs: Date.now() - t0,
    },
    {
      name: 'traffic manager routing',
      kind: 'dns',
      ok: st.servedBy === target && alreadySet(ctx, st, target),
      detail: `routes to ${describe(st, st.servedBy)}; ${endpointLine(st.endpoints.primary)}; ${endpointLine(st.endpoints.secondary)}`,
      durationMs: Date.now() - t0,
    },
  ];
  if (doResolve) {
    const name = opts.resolveName ?? st.fqdn ?? '';
    const expected = t.target ?? '';
    const t1 = Date.now();
    try {
      const got = await resolve(name, queryTypeFor(expected));
      const ok = sameValues(got, [expected]);
      checks.push({
        name: `resolve ${name}`,
        kind: 'dns',
        ok,
        detail: `${got.join(', ')}${ok ? '' : ` (expected ${expected}; resolvers may still cache the old answer for up to ${st.ttl ?? '?'} s)`}`,
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
