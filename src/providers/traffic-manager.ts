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
 * - pollMs: poll interval while waiting (default 2000)
 * - rtoMinutes, resolveName, resolverServers, resolver: as for Route 53; resolution (of
 *   resolveName, default the profile's FQDN) runs when one of the last three is given. The
 *   failover-time warning adds to the profile's DNS TTL the time the monitor takes to mark the
 *   serving endpoint Degraded: (toleratedNumberOfFailures + 1) × intervalInSeconds
 * - log: pino logger
 */
import {
  TrafficManagerManagementClient,
  type Endpoint,
  type EndpointType,
  type Profile,
} from '@azure/arm-trafficmanager';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import type { CheckResult, ComponentReadiness, RegionRole } from '../domain/types.js';
import { DrError, PreconditionFailed, ProviderError, errorInfo } from '../errors.js';
import type { ActionResult, DnsProvider, Progress } from './types.js';
import {
  createResolver,
  failoverTime,
  failoverWarning,
  queryTypeFor,
  sameValues,
  sleep,
  type FailoverDetection,
  type ResolveFn,
} from './dns-resolve.js';

export interface TrafficManagerProviderOptions {
  subscriptionId: string;
  resourceGroup: string;
  profileName: string;
  primaryEndpoint: string;
  secondaryEndpoint: string;
  endpointType?: 'azureEndpoints' | 'externalEndpoints' | 'nestedEndpoints';
  method?: 'disable-endpoint' | 'swap-priorities';
  endpoint?: string;
  credential?: TokenCredential;
  ca?: string;
  changeTimeoutSeconds?: number;
  pollMs?: number;
  rtoMinutes?: number;
  resolveName?: string;
  resolverServers?: string[];
  resolver?: ResolveFn;
  log: Logger;
}

interface ProfileState {
  profile: Profile;
  endpoints: Record<RegionRole, Endpoint>;
  servedBy: RegionRole | 'unknown';
  ttl: number | undefined;
  fqdn: string | undefined;
}

const NAME = 'traffic-manager';
/** Monitor states in which Traffic Manager does not hand out an endpoint while a healthier one exists. */
const UNHEALTHY = new Set(['Degraded', 'Stopped', 'Inactive', 'Disabled']);
const other = (r: RegionRole): RegionRole => (r === 'primary' ? 'secondary' : 'primary');

/** Original priorities up to this can be encoded in the parking priority. */
const MAX_ENCODED = 31;
const PARK_TOP = 997;

/**
 * Where a swap parks the endpoint that gains (priority t) before the other (priority o) takes t
 * and it takes o: PARK_TOP - ((t-1)*31 + (o-1)), 37..997. Both visible states of an interrupted
 * swap, (parked, o) and (parked, t), then say which endpoint was moving and both original
 * priorities. undefined when t or o is above 31: the swap parks on a free priority instead and an
 * interruption cannot be told from a deliberate setting.
 */
function parkingPriority(t: number, o: number): number | undefined {
  // A swap only ever moves the endpoint with the higher number (t) to the lower (o).
  if (t <= o || o < 1 || t > MAX_ENCODED) return undefined;
  return PARK_TOP - ((t - 1) * MAX_ENCODED + (o - 1));
}

function decodeParking(p: number): { t: number; o: number } | undefined {
  const code = PARK_TOP - p;
  if (code < 0 || code >= MAX_ENCODED * MAX_ENCODED) return undefined;
  const t = Math.floor(code / MAX_ENCODED) + 1;
  const o = (code % MAX_ENCODED) + 1;
  return t > o ? { t, o } : undefined;
}

/** A swap stopped between PATCHes: `parked` was moving from t to o, the other from o to t. */
interface InterruptedSwap {
  parked: RegionRole;
  t: number;
  o: number;
  /** 1: only the parked endpoint moved; 2: the other has taken t too. */
  step: 1 | 2;
}

function mapArmError(err: unknown, doing: string): DrError {
  if (err instanceof DrError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  const said = e.message ? ` (Azure said: ${e.message})` : '';
  if (e.statusCode === 404)
    return new PreconditionFailed(
      `Traffic Manager: ${doing} failed, ${e.code ?? 'NotFound'}${said}. Check subscriptionId, resourceGroup, profileName and the endpoint names in components.dns.trafficManager.`,
      { code: 'not-found', cause: err },
    );
  if (e.statusCode === 401 || e.statusCode === 403)
    return new ProviderError(
      NAME,
      `${e.statusCode === 401 ? 'authentication failed' : 'access denied'} while ${doing}${said}. Give the bot's identity the Traffic Manager Contributor role on the profile (or its resource group), then retry the step.`,
      { code: 'forbidden', retryable: false, cause: err },
    );
  if (e.statusCode === 429)
    return new ProviderError(
      NAME,
      `throttled by Azure Resource Manager while ${doing} even after retries${said}; retry the step in a minute.`,
      { code: 'throttled', retryable: true, cause: err },
    );
  if (e.statusCode === undefined)
    return new ProviderError(
      NAME,
      `cannot reach Azure Resource Manager while ${doing}: ${e.code ?? ''} ${e.message ?? String(err)}`.replace(
        /\s+/g,
        ' ',
      ) + '. Check network egress, the endpoint setting and the credential.',
      { retryable: true, cause: err },
    );
  return new ProviderError(NAME, `${doing} failed: HTTP ${e.statusCode} ${e.code ?? ''}${said}`, {
    retryable: e.statusCode >= 500 || e.statusCode === 409,
    cause: err,
  });
}

export function createTrafficManagerProvider(opts: TrafficManagerProviderOptions): DnsProvider {
  const method = opts.method ?? 'disable-endpoint';
  const endpointTypeConfig = opts.endpointType ?? 'externalEndpoints';
  const endpointType = (endpointTypeConfig[0].toUpperCase() +
    endpointTypeConfig.slice(1)) as EndpointType;
  const timeoutMs = (opts.changeTimeoutSeconds ?? 120) * 1000;
  const pollMs = opts.pollMs ?? 2000;
  // The factory hands in a logger already bound to the provider name.
  const log = opts.log;
  const client = new TrafficManagerManagementClient(
    opts.credential ?? new DefaultAzureCredential(),
    opts.subscriptionId,
    {
      ...(opts.endpoint ? { endpoint: opts.endpoint, $host: opts.endpoint } : {}),
      ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    },
  );
  const doResolve =
    opts.resolveName !== undefined ||
    opts.resolverServers !== undefined ||
    opts.resolver !== undefined;
  const resolve = opts.resolver ?? createResolver({ servers: opts.resolverServers });
  const names: Record<RegionRole, string> = {
    primary: opts.primaryEndpoint,
    secondary: opts.secondaryEndpoint,
  };
  const where = `Traffic Manager profile ${opts.profileName} (resource group ${opts.resourceGroup})`;

  async function call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = mapArmError(err, doing);
      log.warn({ err: errorInfo(mapped) }, `traffic-manager: ${doing} failed`);
      throw mapped;
    }
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

  async function state(): Promise<ProfileState> {
    const profile = await call(`reading ${where}`, () =>
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

  /**
   * How long Traffic Manager keeps handing out a failed endpoint: it tolerates
   * toleratedNumberOfFailures failed probes and marks the endpoint Degraded on the next one,
   * probing every intervalInSeconds.
   */
  function detection(st: ProfileState): FailoverDetection {
    const e = st.endpoints[st.servedBy === 'unknown' ? 'primary' : st.servedBy];
    if (e.alwaysServe === 'Enabled')
      return {
        known: false,
        why: `endpoint "${e.name}" has Always Serve enabled, so Traffic Manager does not probe it and does not fail over by itself`,
      };
    const interval = st.profile.monitorConfig?.intervalInSeconds;
    const tolerated = st.profile.monitorConfig?.toleratedNumberOfFailures;
    if (interval === undefined || tolerated === undefined)
      return {
        known: false,
        why: 'the profile reports no monitor intervalInSeconds or toleratedNumberOfFailures',
      };
    return {
      known: true,
      seconds: (tolerated + 1) * interval,
      how: `probes ${tolerated + 1} × ${interval} s (${tolerated} tolerated failures + 1)`,
      watcher: 'the monitor',
    };
  }

  const describe = (st: ProfileState, role: RegionRole | 'unknown'): string =>
    role === 'unknown'
      ? 'no endpoint'
      : `${role} ("${st.endpoints[role].name}", ${st.endpoints[role].target})`;
  const endpointLine = (e: Endpoint): string =>
    `"${e.name}" ${e.endpointStatus}/${e.endpointMonitorStatus} priority ${e.priority}`;

  async function patch(
    role: RegionRole,
    properties: Partial<Pick<Endpoint, 'endpointStatus' | 'priority'>>,
  ): Promise<void> {
    const what = Object.entries(properties)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    await call(`setting ${what} on endpoint "${names[role]}"`, () =>
      client.endpoints.update(
        opts.resourceGroup,
        opts.profileName,
        endpointType,
        names[role],
        properties as Endpoint,
      ),
    );
  }

  async function waitForRouting(target: RegionRole, progress: Progress): Promise<ProfileState> {
    const started = Date.now();
    for (;;) {
      const st = await state();
      if (st.servedBy === target) return st;
      const waited = Date.now() - started;
      if (waited >= timeoutMs)
        throw new ProviderError(
          NAME,
          `the change was made, but after ${Math.round(waited / 1000)} s ${where} still routes to ${describe(st, st.servedBy)}: ${endpointLine(st.endpoints.primary)}; ${endpointLine(st.endpoints.secondary)}. Check the ${target} endpoint's health probe in the portal, then retry (the step re-checks before acting).`,
          { code: 'timeout', retryable: true },
        );
      progress(
        `waiting for ${opts.profileName} to route to the ${target} (${Math.round(waited / 1000)} s)`,
      );
      await sleep(pollMs);
    }
  }

  function interruptedSwap(st: ProfileState): InterruptedSwap | undefined {
    if (method !== 'swap-priorities') return undefined;
    const taken = (p: number): boolean =>
      (st.profile.endpoints ?? []).some((e) => e.priority === p);
    for (const parked of ['primary', 'secondary'] as RegionRole[]) {
      const code = decodeParking(st.endpoints[parked].priority ?? 0);
      if (!code) continue;
      const rest = st.endpoints[other(parked)].priority ?? 0;
      if (rest === code.o && !taken(code.t)) return { parked, ...code, step: 1 };
      if (rest === code.t && !taken(code.o)) return { parked, ...code, step: 2 };
    }
    return undefined;
  }

  /** Is the control state already what a switch to `target` sets? */
  function alreadySet(st: ProfileState, target: RegionRole): boolean {
    const { primary, secondary } = st.endpoints;
    if (method === 'disable-endpoint')
      return target === 'secondary'
        ? primary.endpointStatus === 'Disabled'
        : primary.endpointStatus === 'Enabled';
    if (interruptedSwap(st)) return false;
    const [t, o] = target === 'primary' ? [primary, secondary] : [secondary, primary];
    return (t.priority ?? 0) < (o.priority ?? 0);
  }

  /** Where the controls hold users; 'partial' for a swap interrupted between its PATCHes. */
  function heldOn(st: ProfileState): RegionRole | 'partial' {
    if (interruptedSwap(st)) return 'partial';
    return alreadySet(st, 'secondary') ? 'secondary' : 'primary';
  }

  /**
   * Finish (toward `target`) or undo (toward the other) an interrupted swap, with its original
   * priorities. Either way `target` ends preferred: undoing a swap toward the other restores the
   * priorities from before it, when `target` was preferred.
   */
  async function settleSwap(
    swap: InterruptedSwap,
    target: RegionRole,
    progress: Progress,
  ): Promise<string> {
    const moving = swap.parked;
    const rest = other(moving);
    if (moving === target) {
      progress(
        `finishing an interrupted priority swap: "${names[rest]}" takes ${swap.t}, "${names[moving]}" takes ${swap.o}`,
      );
      if (swap.step === 1) await patch(rest, { priority: swap.t });
      await patch(moving, { priority: swap.o });
      return `finished an interrupted priority swap (it had stopped after PATCH ${swap.step} of 3)`;
    }
    progress(
      `undoing an interrupted priority swap toward the ${moving}: "${names[rest]}" back to ${swap.o}, "${names[moving]}" back to ${swap.t}`,
    );
    if (swap.step === 2) await patch(rest, { priority: swap.o });
    await patch(moving, { priority: swap.t });
    return `undid an interrupted priority swap toward the ${moving} (it had stopped after PATCH ${swap.step} of 3)`;
  }

  const provider: DnsProvider = {
    name: NAME,

    /**
     * Where users go AND are held: the switch step takes a match as "done". A degraded but still
     * enabled primary sends users to the secondary only until it recovers, so that is 'unknown'
     * and the switch still runs and disables it (or swaps priorities).
     */
    async currentTarget() {
      const st = await state();
      return heldOn(st) === st.servedBy ? st.servedBy : 'unknown';
    },

    async switchTo({ target, progress }): Promise<ActionResult> {
      const st = await state();
      const evidence = {
        method,
        profile: opts.profileName,
        before: st.servedBy,
        primary: endpointLine(st.endpoints.primary),
        secondary: endpointLine(st.endpoints.secondary),
        ttl: st.ttl ?? null,
      };
      if (
        st.endpoints[target].endpointStatus !== 'Enabled' &&
        !(method === 'disable-endpoint' && target === 'primary')
      )
        throw new PreconditionFailed(
          `the ${target} endpoint "${names[target]}" of ${where} is disabled: dr-bot will not send users to a disabled endpoint. Enable it (and check its health) first.`,
          { code: 'precondition-failed' },
        );
      const swap = interruptedSwap(st);
      const settled = swap ? await settleSwap(swap, target, progress) : undefined;
      if (!swap && alreadySet(st, target)) {
        if (st.servedBy !== target)
          throw new PreconditionFailed(
            `${where} is already set up for the ${target} (${endpointLine(st.endpoints[target])}) but routes to ${describe(st, st.servedBy)}: the ${target} endpoint is not healthy. Fix its health probe, then retry.`,
            { code: 'precondition-failed' },
          );
        return {
          noop: true,
          summary: `already switched: ${where} routes to the ${describe(st, target)}`,
          evidence,
        };
      }
      if (method === 'disable-endpoint') {
        const status = target === 'secondary' ? 'Disabled' : 'Enabled';
        progress(
          `${status === 'Disabled' ? 'disabling' : 'enabling'} the primary endpoint "${names.primary}"`,
        );
        await patch('primary', { endpointStatus: status });
      } else if (!settled) {
        const t = st.endpoints[target].priority ?? 0;
        const o = st.endpoints[other(target)].priority ?? 0;
        const used = new Set((st.profile.endpoints ?? []).map((e) => e.priority));
        const encoded = parkingPriority(t, o);
        let park = encoded !== undefined && !used.has(encoded) ? encoded : 1000;
        while (used.has(park)) park -= 1;
        progress(
          `swapping priorities: the ${target} endpoint "${names[target]}" takes priority ${o}`,
        );
        // Priorities are unique per profile: park the target (on a priority that records t and o), then swap.
        await patch(target, { priority: park });
        await patch(other(target), { priority: t });
        await patch(target, { priority: o });
      }
      const after = await waitForRouting(target, progress);
      log.info({ target, method }, 'traffic-manager: switched');
      return {
        noop: false,
        summary: `${where} now routes to the ${describe(after, target)} (${method === 'disable-endpoint' ? `primary endpoint ${target === 'secondary' ? 'disabled' : 'enabled'}` : (settled ?? 'priorities swapped')})`,
        evidence: {
          ...evidence,
          after: target,
          primaryAfter: endpointLine(after.endpoints.primary),
          secondaryAfter: endpointLine(after.endpoints.secondary),
        },
      };
    },

    async verify(target): Promise<CheckResult[]> {
      const t0 = Date.now();
      let st: ProfileState;
      try {
        st = await state();
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
          ok: st.servedBy === target && alreadySet(st, target),
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
    },

    async readiness(target): Promise<ComponentReadiness> {
      const planFacts = {
        provider: NAME,
        subscription: opts.subscriptionId,
        resourceGroup: opts.resourceGroup,
        profile: opts.profileName,
        method,
      };
      let st: ProfileState;
      try {
        st = await state();
      } catch (err) {
        const info = errorInfo(err);
        return {
          component: 'dns',
          status: 'blocked',
          summary: info.message,
          details: { error: info.message, code: info.code },
          planFacts,
        };
      }
      const time = failoverTime(st.ttl, detection(st));
      const details = {
        fqdn: st.fqdn ?? null,
        ttl: st.ttl ?? null,
        failoverSeconds: time.seconds ?? null,
        failoverText: time.text,
        servedBy: st.servedBy,
        heldOn: heldOn(st),
        primary: endpointLine(st.endpoints.primary),
        secondary: endpointLine(st.endpoints.secondary),
        method,
      };
      const head = `${opts.profileName} (${st.fqdn ?? '?'}, TTL ${st.ttl ?? '?'} s): users go to the ${describe(st, st.servedBy)}, failover time ${time.text}`;
      if (
        st.endpoints[target].endpointStatus !== 'Enabled' &&
        !(method === 'disable-endpoint' && target === 'primary')
      )
        return {
          component: 'dns',
          status: 'blocked',
          summary: `${head}; the ${target} endpoint "${names[target]}" is disabled, enable it first`,
          details,
          planFacts,
        };
      const warnings: string[] = [];
      const timeWarn = failoverWarning(
        time,
        opts.rtoMinutes,
        "Lower the profile's DNS TTL (or the monitor's interval or tolerated failures) well before a drill.",
      );
      if (timeWarn) warnings.push(timeWarn);
      if (
        UNHEALTHY.has(st.endpoints[target].endpointMonitorStatus ?? '') &&
        st.endpoints[target].endpointStatus === 'Enabled'
      )
        warnings.push(
          `the ${target} endpoint "${names[target]}" is ${st.endpoints[target].endpointMonitorStatus}: Traffic Manager may not route to it after the switch.`,
        );
      const swap = interruptedSwap(st);
      if (swap)
        warnings.push(
          `a priority swap toward the ${swap.parked} stopped after PATCH ${swap.step} of 3 (${endpointLine(st.endpoints.primary)}; ${endpointLine(st.endpoints.secondary)}): the next switch finishes or undoes it with the original priorities ${swap.o} and ${swap.t}.`,
        );
      if (
        method === 'disable-endpoint' &&
        (st.endpoints.primary.priority ?? 0) > (st.endpoints.secondary.priority ?? 0)
      )
        warnings.push(
          `the primary endpoint has the higher priority number (${st.endpoints.primary.priority} > ${st.endpoints.secondary.priority}): enabling it will not route users back to it.`,
        );
      const already = alreadySet(st, target) && st.servedBy === target;
      const how =
        method === 'disable-endpoint'
          ? `${target === 'secondary' ? 'disable' : 'enable'} endpoint "${names.primary}"`
          : 'swap the endpoint priorities';
      return {
        component: 'dns',
        status: warnings.length > 0 ? 'warning' : 'ready',
        summary: `${head}; ${already ? `already on the ${target}, nothing to switch` : `switch: ${how}`}`,
        details,
        planFacts: { ...planFacts, servedBy: st.servedBy, ttl: st.ttl ?? null },
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },

    async close() {},
  };
  return provider;
}
