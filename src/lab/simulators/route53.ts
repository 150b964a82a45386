/**
 * Route 53 simulator: the REST-XML 2013-04-01 API as @aws-sdk/client-route-53 speaks it, for one
 * hosted zone with a PRIMARY/SECONDARY failover pair and a health check per region, plus a UDP DNS
 * server answering the record the way Route 53's name servers would (PRIMARY while its health check
 * passes, SECONDARY otherwise).
 *
 * Operations: GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets, GetChange,
 * GetHealthCheck (with RequestInterval and FailureThreshold), UpdateHealthCheck (Inverted,
 * Disabled, FailureThreshold), TestDNSAnswer. Changes are PENDING for `changeDelayMs`, then
 * INSYNC, or PENDING until `stickPending(false)` after `stickPending()`. A zone's changes reach
 * INSYNC in the order they were submitted, and until a change is INSYNC the name servers (the DNS
 * server, TestDNSAnswer, answer()) still serve the records as they were before it.
 */
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import { child, children, parseXml, text, xmlDocument, type XmlObject } from './xml.js';
import { startDnsServer, type DnsRecordType, type DnsServer } from './dns-server.js';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

interface SimRecordSet {
  name: string;
  type: string;
  setIdentifier?: string;
  failover?: 'PRIMARY' | 'SECONDARY';
  ttl: number;
  values: string[];
  healthCheckId?: string;
}

interface SimHealthCheck {
  id: string;
  version: number;
  inverted: boolean;
  disabled: boolean;
  fqdn: string;
  port: number;
  path: string;
  /** HTTPS probes the endpoint; CALCULATED follows child checks and has no RequestInterval or FailureThreshold. */
  type: 'HTTPS' | 'CALCULATED';
  /** Seconds between checks (10 or 30 in Route 53). */
  requestInterval: number;
  /** Consecutive failures (or passes) before the status changes, 1..10. */
  failureThreshold: number;
}

interface Route53SimOptions {
  port?: number;
  zoneId?: string;
  zoneName?: string;
  recordName?: string;
  recordType?: 'A' | 'AAAA' | 'CNAME';
  primaryValue?: string;
  secondaryValue?: string;
  ttl?: number;
  /** How long a change stays PENDING before GetChange says INSYNC. */
  changeDelayMs?: number;
  /** Whether the endpoint behind a region's health check answers (before inversion). Default: always. */
  endpointHealthy?: (region: 'primary' | 'secondary') => boolean;
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
  /** Next `times` requests (of `operation`, if given) get this error: an AWS error code and HTTP status. */
  failNext(
    status: number,
    code: string,
    message: string,
    opts?: { times?: number; operation?: Route53Operation },
  ): void;
  /** Next `times` requests are throttled (400 Throttling: Rate exceeded). */
  throttleNext(times: number): void;
  /** Changes submitted from now on stay PENDING; stickPending(false) lets them (and later ones) reach INSYNC. */
  stickPending(stuck?: boolean): void;
  stop(): Promise<void>;
}

type Route53Operation =
  | 'GetHostedZone'
  | 'ListResourceRecordSets'
  | 'ChangeResourceRecordSets'
  | 'GetChange'
  | 'GetHealthCheck'
  | 'UpdateHealthCheck'
  | 'TestDNSAnswer'
  | 'Unknown';

function route53Operation(req: { method: string; path: string }): Route53Operation {
  const p = req.path;
  if (/^\/2013-04-01\/hostedzone\/[^/]+$/.test(p) && req.method === 'GET') return 'GetHostedZone';
  if (/^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/.test(p))
    return req.method === 'GET' ? 'ListResourceRecordSets' : 'ChangeResourceRecordSets';
  if (/^\/2013-04-01\/change\/[^/]+$/.test(p)) return 'GetChange';
  if (/^\/2013-04-01\/healthcheck\/[^/]+$/.test(p))
    return req.method === 'GET' ? 'GetHealthCheck' : 'UpdateHealthCheck';
  if (p === '/2013-04-01/testdnsanswer') return 'TestDNSAnswer';
  return 'Unknown';
}

const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.`).toLowerCase();

function errorResponse(status: number, code: string, message: string): SimResponse {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': `sim-${Date.now()}` },
    body: xmlDocument('ErrorResponse', NS, {
      Error: { Type: type, Code: code, Message: message },
      RequestId: `sim-${Date.now()}`,
    }),
  };
}

function ok(root: string, body: XmlObject, status = 200): SimResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': `sim-${Date.now()}` },
    body: xmlDocument(root, NS, body),
  };
}

function recordXml(r: SimRecordSet): XmlObject {
  return {
    Name: r.name,
    Type: r.type,
    SetIdentifier: r.setIdentifier,
    Failover: r.failover,
    TTL: r.ttl,
    ResourceRecords: { itemName: 'ResourceRecord', items: r.values.map((v) => ({ Value: v })) },
    HealthCheckId: r.healthCheckId,
  };
}

export async function startRoute53Simulator(opts: Route53SimOptions = {}): Promise<Route53Sim> {
  const zoneId = opts.zoneId ?? 'Z0SIMULATED0001';
  const zoneName = fqdn(opts.zoneName ?? 'example.test');
  const recordName = fqdn(opts.recordName ?? `app.${zoneName}`);
  const recordType = opts.recordType ?? 'A';
  const primaryValue =
    opts.primaryValue ??
    (recordType === 'CNAME'
      ? 'primary.example.net'
      : recordType === 'AAAA'
        ? 'fd00::1:10'
        : '10.0.1.10');
  const secondaryValue =
    opts.secondaryValue ??
    (recordType === 'CNAME'
      ? 'secondary.example.net'
      : recordType === 'AAAA'
        ? 'fd00::2:10'
        : '10.0.2.10');
  const ttl = opts.ttl ?? 60;
  const ids = {
    primary: 'app-primary',
    secondary: 'app-secondary',
    hcPrimary: 'hc-0000-primary',
    hcSecondary: 'hc-0000-secondary',
  };
  const endpointHealthy = { primary: true, secondary: true };
  let stuck = false;
  let changeSeq = 0;

  let records: SimRecordSet[] = [
    { name: zoneName, type: 'NS', ttl: 172800, values: ['ns-1.sim.invalid.', 'ns-2.sim.invalid.'] },
    {
      name: zoneName,
      type: 'SOA',
      ttl: 900,
      values: ['ns-1.sim.invalid. hostmaster.sim.invalid. 1 7200 900 1209600 86400'],
    },
    {
      name: recordName,
      type: recordType,
      setIdentifier: ids.primary,
      failover: 'PRIMARY',
      ttl,
      values: [primaryValue],
      healthCheckId: ids.hcPrimary,
    },
    {
      name: recordName,
      type: recordType,
      setIdentifier: ids.secondary,
      failover: 'SECONDARY',
      ttl,
      values: [secondaryValue],
      healthCheckId: ids.hcSecondary,
    },
  ];
  const healthChecks = new Map<string, SimHealthCheck>([
    [
      ids.hcPrimary,
      {
        id: ids.hcPrimary,
        version: 1,
        inverted: false,
        disabled: false,
        fqdn: `primary.${zoneName}`.replace(/\.$/, ''),
        port: 443,
        path: '/healthz',
        type: 'HTTPS',
        requestInterval: 30,
        failureThreshold: 3,
      },
    ],
    [
      ids.hcSecondary,
      {
        id: ids.hcSecondary,
        version: 1,
        inverted: false,
        disabled: false,
        fqdn: `secondary.${zoneName}`.replace(/\.$/, ''),
        port: 443,
        path: '/healthz',
        type: 'HTTPS',
        requestInterval: 30,
        failureThreshold: 3,
      },
    ],
  ]);
  /** In submission order; `before` is what the name servers serve until the change is INSYNC. */
  const changes = new Map<
    string,
    { submittedAt: Date; insyncAt: number; comment?: string; before: SimRecordSet[] }
  >();

  const regionOfCheck = (id: string): 'primary' | 'secondary' | undefined =>
    id === ids.hcPrimary ? 'primary' : id === ids.hcSecondary ? 'secondary' : undefined;

  function checkPasses(id: string | undefined): boolean {
    if (!id) return true;
    const hc = healthChecks.get(id);
    if (!hc) return false;
    // A disabled check counts as healthy whatever the endpoint says; inversion then flips that
    // status, so Disabled+Inverted is always unhealthy ("to stop routing traffic to a resource,
    // change the value of Inverted", UpdateHealthCheck).
    const region = regionOfCheck(id);
    const up =
      hc.disabled || !region
        ? true
        : opts.endpointHealthy
          ? opts.endpointHealthy(region)
          : endpointHealthy[region];
    return hc.inverted ? !up : up;
  }

  /** The records as the name servers have them: before the oldest change that is not INSYNC yet. */
  function propagated(): SimRecordSet[] {
    const now = Date.now();
    for (const c of changes.values()) if (c.insyncAt > now) return c.before;
    return records;
  }

  function served(name: string, type: string): SimRecordSet | undefined {
    const group = propagated().filter((r) => r.name === fqdn(name) && r.type === type);
    const primary = group.find((r) => r.failover === 'PRIMARY');
    const secondary = group.find((r) => r.failover === 'SECONDARY');
    if (primary && checkPasses(primary.healthCheckId)) return primary;
    if (secondary) return secondary;
    return group.find((r) => !r.failover);
  }

  function changeInfo(id: string): XmlObject {
    const c = changes.get(id)!;
    return {
      Id: `/change/${id}`,
      Status: Date.now() >= c.insyncAt ? 'INSYNC' : 'PENDING',
      SubmittedAt: c.submittedAt.toISOString(),
      Comment: c.comment,
    };
  }

  function zoneOf(id: string): SimResponse | undefined {
    const clean = id.replace(/^\/?hostedzone\//, '');
    return clean === zoneId
      ? undefined
      : errorResponse(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${clean}`);
  }

  function applyBatch(body: string): SimResponse {
    const doc = parseXml(body);
    const batch = child(doc, 'ChangeBatch');
    const next = records.map((r) => ({ ...r, values: [...r.values] }));
    for (const change of children(child(batch, 'Changes'), 'Change')) {
      const action = text(change, 'Action');
      const rrs = child(change, 'ResourceRecordSet');
      const rec: SimRecordSet = {
        name: fqdn(text(rrs, 'Name') ?? ''),
        type: text(rrs, 'Type') ?? '',
        setIdentifier: text(rrs, 'SetIdentifier'),
        failover: text(rrs, 'Failover') as SimRecordSet['failover'],
        ttl: Number(text(rrs, 'TTL') ?? 300),
        values: children(child(rrs, 'ResourceRecords'), 'ResourceRecord').map(
          (r) => text(r, 'Value') ?? '',
        ),
        healthCheckId: text(rrs, 'HealthCheckId'),
      };
      const same = (r: SimRecordSet): boolean =>
        r.name === rec.name && r.type === rec.type && r.setIdentifier === rec.setIdentifier;
      const idx = next.findIndex(same);
      if (action === 'CREATE' && idx >= 0)
        return errorResponse(
          400,
          'InvalidChangeBatch',
          `[Tried to create resource record set [name='${rec.name}', type='${rec.type}', set-identifier='${rec.setIdentifier}'] but it already exists]`,
        );
      if (action === 'DELETE' && idx < 0)
        return errorResponse(
          400,
          'InvalidChangeBatch',
          `[Tried to delete resource record set [name='${rec.name}', type='${rec.type}', set-identifier='${rec.setIdentifier}'] but it was not found]`,
        );
      if (action === 'DELETE') next.splice(idx, 1);
      else if (idx >= 0) next[idx] = rec;
      else next.push(rec);
    }
    // Route 53 validates the batch as a whole: a failover group has at most one PRIMARY and one SECONDARY.
    const groups = new Map<string, SimRecordSet[]>();
    for (const r of next.filter((x) => x.failover))
      groups.set(`${r.name}|${r.type}`, [...(groups.get(`${r.name}|${r.type}`) ?? []), r]);
    for (const [key, group] of groups) {
      for (const role of ['PRIMARY', 'SECONDARY']) {
        if (group.filter((r) => r.failover === role).length > 1)
          return errorResponse(
            400,
            'InvalidChangeBatch',
            `[Only one resource record set with Failover=${role} is allowed for ${key.replace('|', ' ')}]`,
          );
      }
    }
    const before = records;
    records = next;
    const id = `C${String(++changeSeq).padStart(6, '0')}SIM`;
    // INSYNC in order: never before a change submitted earlier.
    const previous = [...changes.values()].reduce((max, c) => Math.max(max, c.insyncAt), 0);
    const insyncAt = stuck
      ? Number.POSITIVE_INFINITY
      : Math.max(previous, Date.now() + (opts.changeDelayMs ?? 0));
    changes.set(id, { submittedAt: new Date(), insyncAt, comment: text(batch, 'Comment'), before });
    return ok('ChangeResourceRecordSetsResponse', { ChangeInfo: changeInfo(id) });
  }

  function healthCheckXml(hc: SimHealthCheck): XmlObject {
    // A calculated check aggregates its children: no endpoint, no RequestInterval or FailureThreshold.
    const config: XmlObject =
      hc.type === 'CALCULATED'
        ? {
            Type: 'CALCULATED',
            Inverted: hc.inverted,
            Disabled: hc.disabled,
            HealthThreshold: 1,
            ChildHealthChecks: { itemName: 'ChildHealthCheck', items: [] },
          }
        : {
            Type: 'HTTPS',
            ResourcePath: hc.path,
            FullyQualifiedDomainName: hc.fqdn,
            Port: hc.port,
            RequestInterval: hc.requestInterval,
            FailureThreshold: hc.failureThreshold,
            MeasureLatency: false,
            Inverted: hc.inverted,
            Disabled: hc.disabled,
            EnableSNI: true,
          };
    return {
      Id: hc.id,
      CallerReference: `sim-${hc.id}`,
      HealthCheckConfig: config,
      HealthCheckVersion: hc.version,
    };
  }

  function handle(req: RecordedRequest): SimResponse {
    const op = route53Operation(req);
    const segs = req.path.split('/').filter(Boolean);
    switch (op) {
      case 'GetHostedZone': {
        const missing = zoneOf(segs[2]);
        if (missing) return missing;
        return ok('GetHostedZoneResponse', {
          HostedZone: {
            Id: `/hostedzone/${zoneId}`,
            Name: zoneName,
            CallerReference: 'sim',
            Config: { PrivateZone: false },
            ResourceRecordSetCount: records.length,
          },
          DelegationSet: {
            NameServers: {
              itemName: 'NameServer',
              items: ['ns-1.sim.invalid', 'ns-2.sim.invalid'],
            },
          },
        });
      }
      case 'ListResourceRecordSets': {
        const missing = zoneOf(segs[2]);
        if (missing) return missing;
        const start = req.query.name ? fqdn(req.query.name) : undefined;
        const max = Number(req.query.maxitems ?? 300);
        const sorted = [...records].sort(
          (a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type),
        );
        const from = sorted.filter(
          (r) =>
            !start ||
            r.name > start ||
            (r.name === start && (!req.query.type || r.type >= req.query.type)),
        );
        const page = from.slice(0, max);
        const rest = from[max];
        return ok('ListResourceRecordSetsResponse', {
          ResourceRecordSets: { itemName: 'ResourceRecordSet', items: page.map(recordXml) },
          IsTruncated: rest !== undefined,
          NextRecordName: rest?.name,
          NextRecordType: rest?.type,
          NextRecordIdentifier: rest?.setIdentifier,
          MaxItems: max,
        });
      }
      case 'ChangeResourceRecordSets': {
        const missing = zoneOf(segs[2]);
        return missing ?? applyBatch(req.body);
      }
      case 'GetChange': {
        const id = segs[2];
        if (!changes.has(id))
          return errorResponse(
            404,
            'NoSuchChange',
            `A change with the specified change ID does not exist: ${id}`,
          );
        return ok('GetChangeResponse', { ChangeInfo: changeInfo(id) });
      }
      case 'GetHealthCheck':
      case 'UpdateHealthCheck': {
        const hc = healthChecks.get(segs[2]);
        if (!hc)
          return errorResponse(
            404,
            'NoSuchHealthCheck',
            `No health check exists with the specified ID ${segs[2]}`,
          );
        if (op === 'UpdateHealthCheck') {
          const doc = parseXml(req.body);
          const version = text(doc, 'HealthCheckVersion');
          if (version !== undefined && Number(version) !== hc.version)
            return errorResponse(
              409,
              'HealthCheckVersionMismatch',
              `The value of HealthCheckVersion in the request (${version}) doesn't match the health check (${hc.version})`,
            );
          const inverted = text(doc, 'Inverted');
          const disabled = text(doc, 'Disabled');
          const threshold = text(doc, 'FailureThreshold');
          if (threshold !== undefined && !(Number(threshold) >= 1 && Number(threshold) <= 10))
            return errorResponse(
              400,
              'InvalidInput',
              `FailureThreshold must be between 1 and 10, not ${threshold}`,
            );
          if (inverted !== undefined) hc.inverted = inverted === 'true';
          if (disabled !== undefined) hc.disabled = disabled === 'true';
          if (threshold !== undefined) hc.failureThreshold = Number(threshold);
          hc.version += 1;
          return ok('UpdateHealthCheckResponse', { HealthCheck: healthCheckXml(hc) });
        }
        return ok('GetHealthCheckResponse', { HealthCheck: healthCheckXml(hc) });
      }
      case 'TestDNSAnswer': {
        const missing = zoneOf(req.query.hostedzoneid ?? '');
        if (missing) return missing;
        const rec = served(req.query.recordname ?? '', req.query.recordtype ?? '');
        return ok('TestDNSAnswerResponse', {
          Nameserver: 'ns-1.sim.invalid',
          RecordName: fqdn(req.query.recordname ?? ''),
          RecordType: req.query.recordtype ?? '',
          RecordData: { itemName: 'RecordDataEntry', items: rec?.values ?? [] },
          ResponseCode: rec ? 'NOERROR' : 'NXDOMAIN',
          Protocol: 'UDP',
        });
      }
      default:
        return errorResponse(
          400,
          'InvalidInput',
          `the Route 53 simulator does not implement ${req.method} ${req.path}`,
        );
    }
  }

  const http: HttpSim = await startHttpSim(handle, { port: opts.port });
  let dns: DnsServer | undefined;
  if (opts.dns !== false) {
    dns = await startDnsServer((name, type: DnsRecordType) => {
      const rec = served(name, type) ?? (type !== 'CNAME' ? served(name, 'CNAME') : undefined);
      return rec ? { type: rec.type as DnsRecordType, values: rec.values, ttl: rec.ttl } : null;
    });
  }

  return {
    url: http.url,
    zoneId,
    zoneName,
    recordName,
    recordType,
    primarySetIdentifier: ids.primary,
    secondarySetIdentifier: ids.secondary,
    primaryHealthCheckId: ids.hcPrimary,
    secondaryHealthCheckId: ids.hcSecondary,
    primaryValue,
    secondaryValue,
    dnsServer: dns?.address,
    requests: http.requests,
    requestsFor: (op) => http.requests.filter((r) => route53Operation(r) === op),
    records: () => records.map((r) => ({ ...r, values: [...r.values] })),
    healthCheck: (id) => {
      const hc = healthChecks.get(id);
      return hc ? { ...hc } : undefined;
    },
    answer: () => served(recordName, recordType)?.values ?? [],
    setEndpointHealthy(region, healthy) {
      endpointHealthy[region] = healthy;
    },
    setHealthCheckFlags(id, flags) {
      const hc = healthChecks.get(id);
      if (!hc) throw new Error(`no health check ${id} in the Route 53 simulator`);
      if (flags.inverted !== undefined) hc.inverted = flags.inverted;
      if (flags.disabled !== undefined) hc.disabled = flags.disabled;
      hc.version += 1;
    },
    setHealthCheckConfig(id, config) {
      const hc = healthChecks.get(id);
      if (!hc) throw new Error(`no health check ${id} in the Route 53 simulator`);
      Object.assign(
        hc,
        Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
      );
      hc.version += 1;
    },
    setTtl(newTtl) {
      const withTtl = (rs: SimRecordSet[]): SimRecordSet[] =>
        rs.map((r) => (r.name === recordName && r.type === recordType ? { ...r, ttl: newTtl } : r));
      records = withTtl(records);
      for (const c of changes.values()) c.before = withTtl(c.before);
    },
    failNext(status, code, message, { times = 1, operation } = {}) {
      http.inject({
        response: errorResponse(status, code, message),
        times,
        match: operation ? (r) => route53Operation(r) === operation : undefined,
      });
    },
    throttleNext(times) {
      http.inject({ response: errorResponse(400, 'Throttling', 'Rate exceeded'), times });
    },
    stickPending(value = true) {
      stuck = value;
      // Released: the stuck changes propagate now, still in order.
      if (!value) {
        const now = Date.now();
        for (const c of changes.values())
          if (c.insyncAt === Number.POSITIVE_INFINITY) c.insyncAt = now;
      }
    },
    async stop() {
      await Promise.all([http.close(), dns?.close()]);
    },
  };
}
