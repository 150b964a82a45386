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
 * - pollMs: poll interval while waiting (default 2000)
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
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHealthCheckCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  TestDNSAnswerCommand,
  UpdateHealthCheckCommand,
  type HealthCheck,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { Logger } from 'pino';
import type { CheckResult, ComponentReadiness, RegionRole } from '../domain/types.js';
import { DrError, PreconditionFailed, ProviderError, errorInfo } from '../errors.js';
import type { ActionResult, DnsProvider, Progress } from './types.js';
import {
  createResolver,
  failoverTime,
  failoverWarning,
  normalizeName,
  sameValues,
  sleep,
  type FailoverDetection,
  type ResolveFn,
} from './dns-resolve.js';

export interface Route53ProviderOptions {
  hostedZoneId: string;
  recordName: string;
  recordType?: 'A' | 'AAAA' | 'CNAME';
  primarySetIdentifier: string;
  secondarySetIdentifier: string;
  method?: 'invert-health-check' | 'rewrite-records';
  primaryHealthCheckId?: string;
  endpoint?: string;
  region?: string;
  changeTimeoutSeconds?: number;
  pollMs?: number;
  rtoMinutes?: number;
  resolveName?: string;
  resolverServers?: string[];
  resolver?: ResolveFn;
  maxAttempts?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  log: Logger;
}

interface RoutingState {
  records: Record<RegionRole, ResourceRecordSet>;
  healthCheck?: HealthCheck;
  answer: string[];
  servedBy: RegionRole | 'unknown';
  ttl: number | undefined;
}

const NAME = 'route53';
/** Health checks that probe an endpoint, so RequestInterval and FailureThreshold time them. */
const ENDPOINT_CHECK_TYPES = new Set(['HTTP', 'HTTPS', 'HTTP_STR_MATCH', 'HTTPS_STR_MATCH', 'TCP']);
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** Turn an SDK error into one of ours, with what to do about it. */
function mapRoute53Error(err: unknown, doing: string): DrError {
  if (err instanceof DrError) return err;
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const said = e.message ? ` (AWS said: ${e.message})` : '';
  if (code === 'NoSuchHostedZone' || code === 'NoSuchHealthCheck' || code === 'NoSuchChange')
    return new PreconditionFailed(
      `Route 53: ${doing} failed, ${code}${said}. Check the ids in components.dns.route53 against the AWS account the bot's credentials belong to.`,
      { code: 'not-found', cause: err },
    );
  if (code === 'AccessDenied' || code === 'AccessDeniedException' || status === 403)
    return new ProviderError(
      NAME,
      `access denied while ${doing}${said}. Grant the bot's IAM identity route53:GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets, GetChange, GetHealthCheck, UpdateHealthCheck and TestDNSAnswer, then retry the step.`,
      { code: 'forbidden', retryable: false, cause: err },
    );
  if (THROTTLING.has(code) || status === 429)
    return new ProviderError(
      NAME,
      `throttled while ${doing} even after retries${said}. Another tool may be hammering the Route 53 API; retry the step in a minute.`,
      { code: 'throttled', retryable: true, cause: err },
    );
  if (
    code === 'InvalidChangeBatch' ||
    code === 'InvalidInput' ||
    code === 'HealthCheckVersionMismatch'
  )
    return new ProviderError(
      NAME,
      `${doing} was rejected: ${code}${said}. Someone may have changed the records or the health check meanwhile; retry re-reads them.`,
      { retryable: true, cause: err },
    );
  if (status === undefined)
    return new ProviderError(
      NAME,
      `cannot reach the Route 53 API while ${doing}: ${e.code ?? code} ${e.message ?? ''}`.trim() +
        '. Check network egress and the endpoint setting.',
      { retryable: true, cause: err },
    );
  return new ProviderError(NAME, `${doing} failed: ${code} (HTTP ${status})${said}`, {
    retryable: status >= 500,
    cause: err,
  });
}

/**
 * pinned: Disabled and Inverted, so Route 53 always sees the primary unhealthy. released: neither,
 * the check follows the endpoint. partial: one of the two, which holds nothing.
 */
type HealthCheckPin = 'pinned' | 'released' | 'partial';

function pinOf(hc: HealthCheck | undefined): HealthCheckPin {
  const inverted = hc?.HealthCheckConfig?.Inverted === true;
  const disabled = hc?.HealthCheckConfig?.Disabled === true;
  return inverted && disabled ? 'pinned' : !inverted && !disabled ? 'released' : 'partial';
}

function pinLine(hc: HealthCheck | undefined): string {
  return `health check ${hc?.Id ?? '?'} Disabled=${hc?.HealthCheckConfig?.Disabled === true}, Inverted=${hc?.HealthCheckConfig?.Inverted === true}`;
}

function recordValues(r: ResourceRecordSet): string[] {
  if (r.AliasTarget?.DNSName) return [r.AliasTarget.DNSName];
  return (r.ResourceRecords ?? []).map((x) => x.Value ?? '').filter(Boolean);
}

export function createRoute53Provider(opts: Route53ProviderOptions): DnsProvider {
  const method = opts.method ?? 'invert-health-check';
  const recordType = opts.recordType ?? 'A';
  const recordName = normalizeName(opts.recordName);
  const timeoutMs = (opts.changeTimeoutSeconds ?? 300) * 1000;
  const pollMs = opts.pollMs ?? 2000;
  // The factory hands in a logger already bound to the provider name.
  const log = opts.log;
  const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL_ROUTE_53;
  const client = new Route53Client({
    region: opts.region ?? 'us-east-1',
    maxAttempts: opts.maxAttempts ?? 5,
    ...(endpoint ? { endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  const doResolve =
    opts.resolveName !== undefined ||
    opts.resolverServers !== undefined ||
    opts.resolver !== undefined;
  const resolve = opts.resolver ?? createResolver({ servers: opts.resolverServers });
  const where = `${recordName} ${recordType} in hosted zone ${opts.hostedZoneId}`;
  /** The last change this provider submitted and has not seen INSYNC (rewrite-records). */
  let unconfirmed: string | undefined;

  async function call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = mapRoute53Error(err, doing);
      log.warn({ err: errorInfo(mapped) }, `route53: ${doing} failed`);
      throw mapped;
    }
  }

  async function loadRecords(): Promise<Record<RegionRole, ResourceRecordSet>> {
    // ListResourceRecordSets answers NoSuchHostedZone itself: no GetHostedZone here, Route 53 allows only 5 calls/s per account.
    const out = await call(`listing ${where}`, () =>
      client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: opts.hostedZoneId,
          StartRecordName: recordName,
          StartRecordType: recordType,
          MaxItems: 20,
        }),
      ),
    );
    const group = (out.ResourceRecordSets ?? []).filter(
      (r) => normalizeName(r.Name ?? '') === recordName && r.Type === recordType,
    );
    const find = (role: RegionRole, id: string): ResourceRecordSet => {
      const r = group.find((x) => x.SetIdentifier === id);
      if (!r)
        throw new PreconditionFailed(
          `Route 53 has no ${where} with SetIdentifier "${id}" (the ${role} record). Found: ${group.map((g) => `"${g.SetIdentifier ?? '(none)'}"`).join(', ') || 'no record of that name and type'}. Fix components.dns.route53.${role}SetIdentifier or create the failover record.`,
          { code: 'not-found' },
        );
      if (!r.Failover)
        throw new PreconditionFailed(
          `${where} with SetIdentifier "${id}" is not a failover record (no Failover PRIMARY/SECONDARY): dr-bot only switches failover routing.`,
          { code: 'wrong-target' },
        );
      return r;
    };
    return {
      primary: find('primary', opts.primarySetIdentifier),
      secondary: find('secondary', opts.secondarySetIdentifier),
    };
  }

  async function testAnswer(): Promise<string[]> {
    const out = await call(`asking TestDNSAnswer for ${where}`, () =>
      client.send(
        new TestDNSAnswerCommand({
          HostedZoneId: opts.hostedZoneId,
          RecordName: recordName,
          RecordType: recordType,
        }),
      ),
    );
    return out.RecordData ?? [];
  }

  function servedBy(
    records: Record<RegionRole, ResourceRecordSet>,
    answer: string[],
  ): RegionRole | 'unknown' {
    if (sameValues(answer, recordValues(records.primary))) return 'primary';
    if (sameValues(answer, recordValues(records.secondary))) return 'secondary';
    return 'unknown';
  }

  async function healthCheck(): Promise<HealthCheck> {
    if (!opts.primaryHealthCheckId)
      throw new PreconditionFailed(
        'method "invert-health-check" needs components.dns.route53.primaryHealthCheckId',
        { code: 'precondition-failed' },
      );
    const id = opts.primaryHealthCheckId;
    const out = await call(`reading health check ${id}`, () =>
      client.send(new GetHealthCheckCommand({ HealthCheckId: id })),
    );
    if (!out.HealthCheck)
      throw new ProviderError(NAME, `GetHealthCheck ${id} returned no health check`);
    return out.HealthCheck;
  }

  /**
   * How long Route 53 takes to stop answering a failed region: the health check of the record that
   * is PRIMARY now must fail FailureThreshold checks in a row, one every RequestInterval seconds.
   */
  async function detection(st: RoutingState): Promise<FailoverDetection> {
    const active =
      st.records.secondary.Failover === 'PRIMARY' ? st.records.secondary : st.records.primary;
    const id = active.HealthCheckId;
    if (!id)
      return {
        known: false,
        why: `the PRIMARY record "${active.SetIdentifier}" has no health check, so Route 53 does not fail over by itself`,
      };
    let hc = st.healthCheck?.Id === id ? st.healthCheck : undefined;
    if (!hc) {
      try {
        hc = (
          await call(`reading health check ${id}`, () =>
            client.send(new GetHealthCheckCommand({ HealthCheckId: id })),
          )
        ).HealthCheck;
      } catch (err) {
        return {
          known: false,
          why: `health check ${id} could not be read: ${errorInfo(err).message.replace(/\.$/, '')}`,
        };
      }
    }
    const cfg = hc?.HealthCheckConfig;
    // Calculated, CloudWatch-alarm and recovery-control checks follow something else, on its own clock.
    if (!cfg?.Type || !ENDPOINT_CHECK_TYPES.has(cfg.Type))
      return {
        known: false,
        why: `health check ${id} is of type ${cfg?.Type ?? '?'}, whose status does not follow RequestInterval × FailureThreshold`,
      };
    if (cfg.RequestInterval === undefined || cfg.FailureThreshold === undefined)
      return {
        known: false,
        why: `health check ${id} reports no RequestInterval or FailureThreshold`,
      };
    return {
      known: true,
      seconds: cfg.RequestInterval * cfg.FailureThreshold,
      how: `health check ${cfg.FailureThreshold} × ${cfg.RequestInterval} s`,
      watcher: `health check ${id}`,
    };
  }

  async function state(): Promise<RoutingState> {
    const records = await loadRecords();
    const hc = method === 'invert-health-check' ? await healthCheck() : undefined;
    const answer = await testAnswer();
    return {
      records,
      healthCheck: hc,
      answer,
      servedBy: servedBy(records, answer),
      ttl: records.primary.TTL ?? records.secondary.TTL,
    };
  }

  async function waitFor<T>(
    what: string,
    poll: () => Promise<T | undefined>,
    progress: Progress,
    onTimeout: (waitedS: number) => DrError,
  ): Promise<T> {
    const started = Date.now();
    for (;;) {
      const done = await poll();
      if (done !== undefined) return done;
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw onTimeout(Math.round(waited / 1000));
      progress(`${what} (${Math.round(waited / 1000)} s)`);
      await sleep(pollMs);
    }
  }

  async function waitForAnswer(
    target: RegionRole,
    records: Record<RegionRole, ResourceRecordSet>,
    progress: Progress,
  ): Promise<string[]> {
    return waitFor(
      `waiting for Route 53 to answer the ${target}`,
      async () => {
        const answer = await testAnswer();
        return servedBy(records, answer) === target ? answer : undefined;
      },
      progress,
      (s) =>
        new ProviderError(
          NAME,
          `the change was made, but after ${s} s TestDNSAnswer still does not answer the ${target} record (${recordValues(records[target]).join(', ')}) for ${where}. Route 53's health checkers may not have re-evaluated yet, or the ${target}'s own health check fails; look at the health checks in the Route 53 console, then retry (the step re-checks before acting).`,
          { code: 'timeout', retryable: true },
        ),
    );
  }

  async function waitInsync(changeId: string, progress: Progress): Promise<void> {
    await waitFor(
      `change ${changeId} is PENDING`,
      async () => {
        const out = await call(`reading change ${changeId}`, () =>
          client.send(new GetChangeCommand({ Id: changeId })),
        );
        return out.ChangeInfo?.Status === 'INSYNC' ? true : undefined;
      },
      progress,
      (s) =>
        new ProviderError(
          NAME,
          `change ${changeId} for ${where} is still PENDING after ${s} s: Route 53 accepted it but has not propagated it to its name servers. Retry the step later: it re-reads the records, finds them switched, and re-submits them unchanged to see them INSYNC (nothing is switched twice).`,
          { code: 'timeout', retryable: true },
        ),
    );
  }

  /** The region the routing controls hold users on, health permitting; 'partial' for a half-done pin. */
  function heldOn(st: RoutingState): RegionRole | 'partial' {
    if (method === 'invert-health-check') {
      const pin = pinOf(st.healthCheck);
      return pin === 'pinned' ? 'secondary' : pin === 'released' ? 'primary' : 'partial';
    }
    return st.records.secondary.Failover === 'PRIMARY' ? 'secondary' : 'primary';
  }

  function describe(
    records: Record<RegionRole, ResourceRecordSet>,
    role: RegionRole | 'unknown',
  ): string {
    return role === 'unknown'
      ? 'neither record'
      : `${role} (${recordValues(records[role]).join(', ')})`;
  }

  /** Both flags in one UpdateHealthCheck, so no reader ever sees the check inverted but still evaluated. */
  async function setPinned(hc: HealthCheck, pinned: boolean): Promise<void> {
    await call(
      `${pinned ? 'pinning' : 'releasing'} health check ${hc.Id} (Disabled=${pinned}, Inverted=${pinned})`,
      () =>
        client.send(
          new UpdateHealthCheckCommand({
            HealthCheckId: hc.Id!,
            HealthCheckVersion: hc.HealthCheckVersion,
            Disabled: pinned,
            Inverted: pinned,
          }),
        ),
    );
  }

  const provider: DnsProvider = {
    name: NAME,

    /**
     * Where users go AND are held: the switch step takes a match as "done". When Route 53 answers a
     * region the controls do not hold it on (rewrite-records with a failing primary: the records
     * still say primary), this is 'unknown', so the switch still runs and pins the traffic there.
     */
    async currentTarget() {
      const st = await state();
      // A change this provider saw PENDING last: not switched until it is INSYNC, even when a name
      // server TestDNSAnswer asked already has it.
      if (unconfirmed) {
        const id = unconfirmed;
        const out = await call(`reading change ${id}`, () =>
          client.send(new GetChangeCommand({ Id: id })),
        );
        if (out.ChangeInfo?.Status !== 'INSYNC') return 'unknown';
        unconfirmed = undefined;
      }
      return heldOn(st) === st.servedBy ? st.servedBy : 'unknown';
    },

    async switchTo({ target, progress }): Promise<ActionResult> {
      const st = await state();
      const evidence = {
        method,
        record: where,
        before: st.servedBy,
        answerBefore: st.answer,
        ttl: st.ttl ?? null,
      };
      if (method === 'invert-health-check') {
        const hc = st.healthCheck!;
        const pin = pinOf(hc);
        const hcEvidence = { ...evidence, healthCheckId: hc.Id ?? null, pinBefore: pin };
        const endpointText = `${hc.HealthCheckConfig?.FullyQualifiedDomainName ?? hc.HealthCheckConfig?.IPAddress ?? '?'}:${hc.HealthCheckConfig?.Port ?? '?'}${hc.HealthCheckConfig?.ResourcePath ?? ''}`;
        const wanted: HealthCheckPin = target === 'secondary' ? 'pinned' : 'released';
        if (pin === wanted && st.servedBy === target)
          return {
            noop: true,
            summary: `already switched: ${pinLine(hc)} and Route 53 answers the ${describe(st.records, target)}`,
            evidence: hcEvidence,
          };
        if (pin === 'released' && target === 'primary')
          throw new PreconditionFailed(
            `the primary's health check ${hc.Id} is released (not disabled, not inverted) but fails, so Route 53 keeps answering ${describe(st.records, st.servedBy)}. Make the primary's health endpoint (${endpointText}) pass, then retry.`,
            { code: 'precondition-failed' },
          );
        if (pin !== wanted) {
          // Also when the primary's check already fails on its own: unpinned, it would take the traffic back as soon as the endpoint answers.
          progress(
            target === 'secondary'
              ? `pinning health check ${hc.Id} unhealthy (Disabled and Inverted) so Route 53 answers the secondary whatever the primary's endpoint does`
              : `releasing health check ${hc.Id} (Disabled and Inverted back to false) so Route 53 follows the primary's endpoint again`,
          );
          await setPinned(hc, target === 'secondary');
        }
        const answer = await waitForAnswer(target, st.records, progress);
        log.info(
          { target, healthCheckId: hc.Id, answer, pinBefore: pin },
          'route53: switched by pinning the health check',
        );
        const how =
          pin === wanted
            ? `${pinLine(hc)} already`
            : target === 'secondary'
              ? `health check ${hc.Id} pinned unhealthy: Disabled=true, Inverted=true`
              : `health check ${hc.Id} released: Disabled=false, Inverted=false`;
        return {
          noop: false,
          summary: `Route 53 now answers the ${describe(st.records, target)} for ${recordName} (${how})`,
          evidence: { ...hcEvidence, pinAfter: wanted, after: target, answerAfter: answer },
        };
      }

      const targetRec = st.records[target];
      const otherRole: RegionRole = target === 'primary' ? 'secondary' : 'primary';
      // Records already switched (an earlier change that timed out PENDING, or a crash after the
      // submit): the change id is gone, and there is no API that lists a zone's pending changes.
      // Re-submitting the same records is a no-op change that Route 53 applies after every earlier
      // one, so seeing it INSYNC proves the earlier change has propagated too.
      const already = targetRec.Failover === 'PRIMARY';
      const upsert = (r: ResourceRecordSet, failover: 'PRIMARY' | 'SECONDARY') => ({
        Action: 'UPSERT' as const,
        ResourceRecordSet: { ...r, Failover: failover },
      });
      progress(
        already
          ? `the ${target} record "${targetRec.SetIdentifier}" is already PRIMARY; re-submitting the records unchanged to see them propagated (INSYNC)`
          : `swapping failover roles: ${target} record "${targetRec.SetIdentifier}" becomes PRIMARY`,
      );
      const out = await call(`changing ${where}`, () =>
        client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: opts.hostedZoneId,
            ChangeBatch: {
              Comment: already
                ? `dr-bot: confirm ${recordName} routes to the ${target} (unchanged)`
                : `dr-bot: route ${recordName} to the ${target}`,
              Changes: [upsert(targetRec, 'PRIMARY'), upsert(st.records[otherRole], 'SECONDARY')],
            },
          }),
        ),
      );
      const changeId = out.ChangeInfo?.Id ?? '';
      unconfirmed = changeId || undefined;
      progress(`change ${changeId} submitted, waiting for INSYNC`);
      await waitInsync(changeId, progress);
      unconfirmed = undefined;
      log.info(
        { target, changeId, already },
        already
          ? 'route53: switched failover records confirmed propagated'
          : 'route53: failover records rewritten',
      );
      if (already)
        return {
          noop: true,
          summary: `already switched: the ${target} record "${targetRec.SetIdentifier}" is the PRIMARY failover record of ${recordName}, and change ${changeId} (the same records, re-submitted) is INSYNC, so it has propagated`,
          evidence: { ...evidence, changeId, after: target },
        };
      return {
        noop: false,
        summary: `the ${target} record "${targetRec.SetIdentifier}" is now PRIMARY for ${recordName}; change ${changeId} is INSYNC`,
        evidence: { ...evidence, changeId, after: target },
      };
    },

    async verify(target): Promise<CheckResult[]> {
      const checks: CheckResult[] = [];
      const t0 = Date.now();
      let st: RoutingState;
      try {
        st = await state();
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
        const expected = recordValues(st.records[target]);
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
    },

    async readiness(target): Promise<ComponentReadiness> {
      const planFacts = {
        provider: NAME,
        zone: opts.hostedZoneId,
        record: recordName,
        type: recordType,
        method,
      };
      let st: RoutingState;
      let zoneName: string | undefined;
      try {
        const zone = await call(`reading hosted zone ${opts.hostedZoneId}`, () =>
          client.send(new GetHostedZoneCommand({ Id: opts.hostedZoneId })),
        );
        zoneName = zone.HostedZone?.Name;
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
      const warnings: string[] = [];
      const time = failoverTime(st.ttl, await detection(st));
      const timeWarn = failoverWarning(
        time,
        opts.rtoMinutes,
        "Lower the records' TTL (or the health check's FailureThreshold) well before a drill.",
      );
      if (timeWarn) warnings.push(timeWarn);
      const held = heldOn(st);
      if (method === 'invert-health-check' && held === 'partial')
        warnings.push(
          st.healthCheck?.HealthCheckConfig?.Inverted === true
            ? `the primary's ${pinLine(st.healthCheck)}: inverted but still evaluated, so a primary whose endpoint fails passes it and gets the traffic back. A switch sets both (to the secondary) or clears both (to the primary).`
            : `the primary's ${pinLine(st.healthCheck)}: a disabled check counts as healthy, so Route 53 sends users to the primary whatever its endpoint says. A switch sets both (to the secondary) or clears both (to the primary).`,
        );
      if (
        method === 'invert-health-check' &&
        held === 'primary' &&
        st.servedBy === 'secondary' &&
        target === 'secondary'
      )
        warnings.push(
          `the primary's health check ${st.healthCheck?.Id} is failing, so Route 53 already answers the secondary, but only until the primary's endpoint answers again; the switch pins it on the secondary.`,
        );
      if (
        method === 'invert-health-check' &&
        st.records.primary.HealthCheckId !== opts.primaryHealthCheckId
      )
        warnings.push(
          `the primary record is associated with health check ${st.records.primary.HealthCheckId ?? '(none)'}, not the configured ${opts.primaryHealthCheckId}: inverting the configured one will not move traffic.`,
        );
      if (st.servedBy === 'unknown')
        warnings.push(
          `TestDNSAnswer returns ${st.answer.join(', ') || 'nothing'}, which matches neither failover record.`,
        );
      const already = st.servedBy === target && held === target;
      const summary = `${recordName} ${recordType}: users go to the ${describe(st.records, st.servedBy)}, failover time ${time.text}; ${already ? `already on the ${target}, nothing to switch` : method === 'invert-health-check' ? `switch by ${target === 'secondary' ? 'pinning' : 'releasing'} health check ${opts.primaryHealthCheckId} (Disabled and Inverted ${target === 'secondary' ? 'true' : 'false'})` : 'switch by swapping the failover records'}`;
      return {
        component: 'dns',
        status: warnings.length > 0 ? 'warning' : 'ready',
        summary,
        details: {
          zone: opts.hostedZoneId,
          zoneName: zoneName ?? null,
          record: recordName,
          type: recordType,
          method,
          servedBy: st.servedBy,
          heldOn: held,
          answer: st.answer,
          ttl: st.ttl ?? null,
          failoverSeconds: time.seconds ?? null,
          failoverText: time.text,
          primaryValues: recordValues(st.records.primary),
          secondaryValues: recordValues(st.records.secondary),
          ...(st.healthCheck
            ? {
                healthCheckId: st.healthCheck.Id ?? null,
                healthCheckInverted: st.healthCheck.HealthCheckConfig?.Inverted === true,
                healthCheckDisabled: st.healthCheck.HealthCheckConfig?.Disabled === true,
              }
            : {}),
        },
        planFacts: { ...planFacts, servedBy: st.servedBy, ttl: st.ttl ?? null },
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    },

    async close() {
      client.destroy();
    },
  };
  return provider;
}
