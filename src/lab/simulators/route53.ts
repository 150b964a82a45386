/**
 * Route 53 simulator: the REST-XML 2013-04-01 API as @aws-sdk/client-route-53 speaks it, for one
 * hosted zone with a PRIMARY/SECONDARY failover pair and a health check per region, plus a UDP DNS
 * server answering the record the way Route 53's name servers would (PRIMARY while its health check
 * passes, SECONDARY otherwise).
 *
 * Operations: GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets, GetChange,
 * GetHealthCheck (with RequestInterval and FailureThreshold), GetHealthCheckStatus,
 * UpdateHealthCheck (Inverted, Disabled, FailureThreshold), TestDNSAnswer. The failover pair can
 * be alias records to a load balancer per region (`alias`), whose health a test sets; its health
 * checks can be routing control checks that follow an ARC cluster (`routingControls`). Changes
 * are PENDING for `changeDelayMs`, then INSYNC, or PENDING until `stickPending(false)` after
 * `stickPending()`. A zone's changes reach INSYNC in the order they were submitted, and until a
 * change is INSYNC the name servers (the DNS server, TestDNSAnswer, answer()) still serve the
 * records as they were before it.
 */
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import {
  errorResponse,
  handleRoute53Request,
  route53Operation,
  type Route53Operation,
} from './route53-api.js';
import {
  createZoneState,
  LB_NAMES,
  dnsAnswer,
  runCheckers,
  served,
  valuesOf,
  setHealthCheckConfig,
  setHealthCheckFlags,
  setRecordTtl,
  stickPending,
  type SimHealthCheck,
  type SimRecordSet,
  type ZoneOptions,
  type ZoneState,
} from './route53-zone.js';

interface Route53SimOptions extends ZoneOptions {
  port?: number;
  /** Also answer DNS over UDP on a free port. Default true. */
  dns?: boolean;
}

export interface Route53Sim {
  readonly url: string;
  readonly zoneId: string;
  readonly zoneName: string;
  readonly recordName: string;
  readonly recordType: 'A' | 'AAAA' | 'CNAME';
  readonly primarySetIdentifier: string;
  readonly secondarySetIdentifier: string;
  readonly primaryHealthCheckId: string;
  readonly secondaryHealthCheckId: string;
  readonly primaryValue: string;
  readonly secondaryValue: string;
  /** "127.0.0.1:<port>" of the UDP DNS server, when started. */
  readonly dnsServer: string | undefined;
  readonly requests: RecordedRequest[];
  /** Requests whose operation matches, e.g. requestsFor('UpdateHealthCheck'). */
  requestsFor(operation: Route53Operation): RecordedRequest[];
  records(): SimRecordSet[];
  healthCheck(id: string): SimHealthCheck | undefined;
  /** The values the name servers answer right now. */
  answer(): string[];
  setEndpointHealthy(region: 'primary' | 'secondary', healthy: boolean): void;
  /** Whether the load balancer a region's alias record points at has healthy targets. */
  setAliasTargetHealthy(region: 'primary' | 'secondary', healthy: boolean): void;
  /** Change a health check's flags as someone in the console would (bumps its version). */
  setHealthCheckFlags(id: string, flags: { inverted?: boolean; disabled?: boolean }): void;
  /**
   * Set a health check's timing or type as if it had been created so (Route 53 cannot change
   * RequestInterval or the type of an existing check; FailureThreshold also via UpdateHealthCheck).
   */
  setHealthCheckConfig(
    id: string,
    config: { type?: SimHealthCheck['type']; requestInterval?: number; failureThreshold?: number },
  ): void;
  setTtl(ttl: number): void;
  /** One round of the checkers now, as the `checkerIntervalMs` clock does: every endpoint probed once. */
  runCheckers(): void;
  /** Next `times` requests (of `operation`, if given) get this error: an AWS error code and HTTP status. */
  failNext(
    status: number,
    code: string,
    message: string,
    opts?: { times?: number; operation?: Route53Operation },
  ): void;
  /**
   * Deny `operation` to the bot's identity (as a policy without its action would) until
   * deny(operation, false): 403 AccessDenied before any lookup, as IAM answers.
   */
  deny(operation: Route53Operation, denied?: boolean): void;
  /** Next `times` requests are throttled (400 Throttling: Rate exceeded). */
  throttleNext(times: number): void;
  /** Changes submitted from now on stay PENDING; stickPending(false) lets them (and later ones) reach INSYNC. */
  stickPending(stuck?: boolean): void;
  stop(): Promise<void>;
}

export async function startRoute53Simulator(opts: Route53SimOptions = {}): Promise<Route53Sim> {
  const z = createZoneState(opts);
  const denied = new Set<Route53Operation>();
  const http: HttpSim = await startHttpSim(
    (req) => accessDenied(denied, req) ?? handleRoute53Request(z, req),
    { port: opts.port },
  );
  let dns: DnsServer | undefined;
  if (opts.dns !== false) dns = await startDnsServer((name, type) => dnsAnswer(z, name, type));
  const every = opts.checkerIntervalMs ?? 0;
  const timer = every > 0 ? setInterval(() => runCheckers(z), every) : undefined;
  timer?.unref();
  const sim = route53Sim(z, http, dns, denied);
  return {
    ...sim,
    async stop() {
      clearInterval(timer);
      await sim.stop();
    },
  };
}

/** The simulator's handle: what it serves, and the console-side levers a test pulls. */
function route53Sim(
  z: ZoneState,
  http: HttpSim,
  dns: DnsServer | undefined,
  denied: Set<Route53Operation>,
): Route53Sim {
  return {
    url: http.url,
    zoneId: z.zoneId,
    zoneName: z.zoneName,
    recordName: z.recordName,
    recordType: z.recordType,
    primarySetIdentifier: z.ids.primary,
    secondarySetIdentifier: z.ids.secondary,
    primaryHealthCheckId: z.ids.hcPrimary,
    secondaryHealthCheckId: z.ids.hcSecondary,
    primaryValue: z.primaryValue,
    secondaryValue: z.secondaryValue,
    dnsServer: dns?.address,
    requests: http.requests,
    requestsFor: (op) => http.requests.filter((r) => route53Operation(r) === op),
    records: () => z.records.map((r) => ({ ...r, values: [...r.values] })),
    healthCheck: (id) => {
      const hc = z.healthChecks.get(id);
      return hc ? { ...hc } : undefined;
    },
    answer: () => {
      const rec = served(z, z.recordName, z.recordType);
      return rec ? valuesOf(z, rec) : [];
    },
    setEndpointHealthy(region, healthy) {
      z.endpointHealthy[region] = healthy;
    },
    setAliasTargetHealthy(region, healthy) {
      z.aliasTargets.get(LB_NAMES[region])!.healthy = healthy;
    },
    setHealthCheckFlags: (id, flags) => setHealthCheckFlags(z, id, flags),
    setHealthCheckConfig: (id, config) => setHealthCheckConfig(z, id, config),
    setTtl: (newTtl) => setRecordTtl(z, newTtl),
    runCheckers: () => runCheckers(z),
    failNext(status, code, message, { times = 1, operation } = {}) {
      http.inject({
        response: errorResponse(status, code, message),
        times,
        match: operation ? (r) => route53Operation(r) === operation : undefined,
      });
    },
    deny(operation, on = true) {
      if (on) denied.add(operation);
      else denied.delete(operation);
    },
    throttleNext(times) {
      http.inject({ response: errorResponse(400, 'Throttling', 'Rate exceeded'), times });
    },
    stickPending: (value = true) => stickPending(z, value),
    async stop() {
      await Promise.all([http.close(), dns?.close()]);
    },
  };
}

/**
 * IAM's answer to an action no policy allows ("Troubleshoot access denied error messages", IAM
 * User Guide): HTTP 403, code AccessDenied, the message naming the principal, the action and the
 * resource. Route 53 wraps it in its REST-XML ErrorResponse like any other error.
 */
function accessDenied(denied: Set<Route53Operation>, req: RecordedRequest): SimResponse | null {
  const op = route53Operation(req);
  if (!denied.has(op)) return null;
  const resource = req.path.replace(/^\/2013-04-01\//, 'arn:aws:route53:::');
  return errorResponse(
    403,
    'AccessDenied',
    `User: arn:aws:iam::123456789012:user/dr-bot is not authorized to perform: route53:${op} on resource: ${resource} because no identity-based policy allows the route53:${op} action`,
  );
}
