/**
 * The Route 53 simulator's REST-XML 2013-04-01 API over its zone: which operation a request is,
 * one named handler per operation, and the XML bodies and errors the AWS SDK parses.
 */
import type { RecordedRequest, SimResponse } from './http-sim.js';
import { child, children, parseXml, text, xmlDocument, type XmlObject } from './xml.js';
import {
  commitChange,
  endpointStatus,
  fqdn,
  served,
  valuesOf,
  type SimHealthCheck,
  type SimRecordSet,
  type ZoneState,
} from './route53-zone.js';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export type Route53Operation =
  | 'GetHostedZone'
  | 'ListResourceRecordSets'
  | 'ChangeResourceRecordSets'
  | 'GetChange'
  | 'GetHealthCheck'
  | 'GetHealthCheckStatus'
  | 'UpdateHealthCheck'
  | 'TestDNSAnswer'
  | 'Unknown';

export function route53Operation(req: { method: string; path: string }): Route53Operation {
  const p = req.path;
  if (/^\/2013-04-01\/hostedzone\/[^/]+$/.test(p) && req.method === 'GET') return 'GetHostedZone';
  if (/^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/.test(p))
    return req.method === 'GET' ? 'ListResourceRecordSets' : 'ChangeResourceRecordSets';
  if (/^\/2013-04-01\/change\/[^/]+$/.test(p)) return 'GetChange';
  if (/^\/2013-04-01\/healthcheck\/[^/]+\/status$/.test(p) && req.method === 'GET')
    return 'GetHealthCheckStatus';
  if (/^\/2013-04-01\/healthcheck\/[^/]+$/.test(p))
    return req.method === 'GET' ? 'GetHealthCheck' : 'UpdateHealthCheck';
  if (p === '/2013-04-01/testdnsanswer') return 'TestDNSAnswer';
  return 'Unknown';
}

export function errorResponse(status: number, code: string, message: string): SimResponse {
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
  // An alias record has an AliasTarget instead of TTL and ResourceRecords (ResourceRecordSet type).
  const body: XmlObject = r.alias
    ? {
        AliasTarget: {
          HostedZoneId: r.alias.hostedZoneId,
          DNSName: r.alias.dnsName,
          EvaluateTargetHealth: r.alias.evaluateTargetHealth,
        },
      }
    : {
        TTL: r.ttl,
        ResourceRecords: {
          itemName: 'ResourceRecord',
          items: r.values.map((v) => ({ Value: v })),
        },
      };
  return {
    Name: r.name,
    Type: r.type,
    SetIdentifier: r.setIdentifier,
    Failover: r.failover,
    ...body,
    HealthCheckId: r.healthCheckId,
  };
}

function changeInfo(z: ZoneState, id: string): XmlObject {
  const c = z.changes.get(id)!;
  return {
    Id: `/change/${id}`,
    Status: Date.now() >= c.insyncAt ? 'INSYNC' : 'PENDING',
    SubmittedAt: c.submittedAt.toISOString(),
    Comment: c.comment,
  };
}

function healthCheckXml(hc: SimHealthCheck): XmlObject {
  // A calculated check aggregates its children: no endpoint, no RequestInterval or FailureThreshold;
  // a routing control check names only its control (HealthCheckConfig, RoutingControlArn).
  const config: XmlObject =
    hc.type === 'RECOVERY_CONTROL'
      ? {
          Type: 'RECOVERY_CONTROL',
          Inverted: hc.inverted,
          Disabled: hc.disabled,
          RoutingControlArn: hc.routingControlArn ?? '',
        }
      : hc.type === 'CALCULATED'
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

function zoneOf(z: ZoneState, id: string): SimResponse | undefined {
  const clean = id.replace(/^\/?hostedzone\//, '');
  return clean === z.zoneId
    ? undefined
    : errorResponse(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${clean}`);
}

function changedRecord(change: ReturnType<typeof child>): SimRecordSet {
  const rrs = child(change, 'ResourceRecordSet');
  const alias = child(rrs, 'AliasTarget');
  if (alias)
    return {
      name: fqdn(text(rrs, 'Name') ?? ''),
      type: text(rrs, 'Type') ?? '',
      setIdentifier: text(rrs, 'SetIdentifier'),
      failover: text(rrs, 'Failover') as SimRecordSet['failover'],
      ttl: 0,
      values: [],
      healthCheckId: text(rrs, 'HealthCheckId'),
      alias: {
        dnsName: fqdn(text(alias, 'DNSName') ?? ''),
        hostedZoneId: text(alias, 'HostedZoneId') ?? '',
        evaluateTargetHealth: text(alias, 'EvaluateTargetHealth') === 'true',
      },
    };
  return {
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
}

function applyBatch(z: ZoneState, body: string): SimResponse {
  const doc = parseXml(body);
  const batch = child(doc, 'ChangeBatch');
  const next = z.records.map((r) => ({ ...r, values: [...r.values] }));
  for (const change of children(child(batch, 'Changes'), 'Change')) {
    const action = text(change, 'Action');
    const rrs = child(change, 'ResourceRecordSet');
    // ResourceRecordSet: "If you're creating an alias record, omit TTL" and ResourceRecords.
    if (child(rrs, 'AliasTarget') && (child(rrs, 'TTL') || child(rrs, 'ResourceRecords')))
      return errorResponse(
        400,
        'InvalidInput',
        'Invalid request: an alias resource record set cannot have a TTL or ResourceRecords',
      );
    const rec = changedRecord(change);
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
  const invalid = failoverGroupError(next);
  if (invalid) return invalid;
  const id = commitChange(z, next, text(batch, 'Comment'));
  return ok('ChangeResourceRecordSetsResponse', { ChangeInfo: changeInfo(z, id) });
}

function failoverGroupError(next: SimRecordSet[]): SimResponse | undefined {
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
  return undefined;
}

type Handler = (z: ZoneState, req: RecordedRequest, segs: string[]) => SimResponse;

function getHostedZone(z: ZoneState, _req: RecordedRequest, segs: string[]): SimResponse {
  const missing = zoneOf(z, segs[2]);
  if (missing) return missing;
  return ok('GetHostedZoneResponse', {
    HostedZone: {
      Id: `/hostedzone/${z.zoneId}`,
      Name: z.zoneName,
      CallerReference: 'sim',
      Config: { PrivateZone: false },
      ResourceRecordSetCount: z.records.length,
    },
    DelegationSet: {
      NameServers: {
        itemName: 'NameServer',
        items: ['ns-1.sim.invalid', 'ns-2.sim.invalid'],
      },
    },
  });
}

function listResourceRecordSets(z: ZoneState, req: RecordedRequest, segs: string[]): SimResponse {
  const missing = zoneOf(z, segs[2]);
  if (missing) return missing;
  const start = req.query.name ? fqdn(req.query.name) : undefined;
  const max = Number(req.query.maxitems ?? 300);
  const sorted = [...z.records].sort(
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

function changeResourceRecordSets(z: ZoneState, req: RecordedRequest, segs: string[]): SimResponse {
  const missing = zoneOf(z, segs[2]);
  return missing ?? applyBatch(z, req.body);
}

function getChange(z: ZoneState, _req: RecordedRequest, segs: string[]): SimResponse {
  const id = segs[2];
  if (!z.changes.has(id))
    return errorResponse(
      404,
      'NoSuchChange',
      `A change with the specified change ID does not exist: ${id}`,
    );
  return ok('GetChangeResponse', { ChangeInfo: changeInfo(z, id) });
}

function noSuchHealthCheck(id: string): SimResponse {
  return errorResponse(
    404,
    'NoSuchHealthCheck',
    `No health check exists with the specified ID ${id}`,
  );
}

function getHealthCheck(z: ZoneState, _req: RecordedRequest, segs: string[]): SimResponse {
  const hc = z.healthChecks.get(segs[2]);
  if (!hc) return noSuchHealthCheck(segs[2]);
  return ok('GetHealthCheckResponse', { HealthCheck: healthCheckXml(hc) });
}

/**
 * GetHealthCheckStatus: one observation per checker region, each its status after
 * FailureThreshold. The API refuses calculated checks ("You can't use GetHealthCheckStatus to get
 * the status of a calculated health check"). A disabled check is not probed: its checkers report
 * their last result, as they still answer in AWS.
 */
function getHealthCheckStatus(z: ZoneState, _req: RecordedRequest, segs: string[]): SimResponse {
  const hc = z.healthChecks.get(segs[2]);
  if (!hc) return noSuchHealthCheck(segs[2]);
  if (hc.type === 'CALCULATED')
    return errorResponse(
      400,
      'InvalidInput',
      `GetHealthCheckStatus does not support calculated health check ${hc.id}`,
    );
  const up = endpointStatus(z, hc.id);
  const checkedAt = new Date().toISOString();
  const regions = ['us-east-1', 'us-west-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1'];
  return ok('GetHealthCheckStatusResponse', {
    HealthCheckObservations: {
      itemName: 'HealthCheckObservation',
      items: regions.map((region, i) => ({
        Region: region,
        IPAddress: `15.177.${i * 2}.${10 + i}`,
        StatusReport: {
          Status: up
            ? 'Success: HTTP Status Code 200, OK'
            : 'Failure: HTTP Status Code 503, Service Unavailable',
          CheckedTime: checkedAt,
        },
      })),
    },
  });
}

function updateHealthCheck(z: ZoneState, req: RecordedRequest, segs: string[]): SimResponse {
  const hc = z.healthChecks.get(segs[2]);
  if (!hc) return noSuchHealthCheck(segs[2]);
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

function testDnsAnswer(z: ZoneState, req: RecordedRequest): SimResponse {
  const missing = zoneOf(z, req.query.hostedzoneid ?? '');
  if (missing) return missing;
  const rec = served(z, req.query.recordname ?? '', req.query.recordtype ?? '');
  return ok('TestDNSAnswerResponse', {
    Nameserver: 'ns-1.sim.invalid',
    RecordName: fqdn(req.query.recordname ?? ''),
    RecordType: req.query.recordtype ?? '',
    RecordData: { itemName: 'RecordDataEntry', items: rec ? valuesOf(z, rec) : [] },
    ResponseCode: rec ? 'NOERROR' : 'NXDOMAIN',
    Protocol: 'UDP',
  });
}

function unknownOperation(_z: ZoneState, req: RecordedRequest): SimResponse {
  return errorResponse(
    400,
    'InvalidInput',
    `the Route 53 simulator does not implement ${req.method} ${req.path}`,
  );
}

const HANDLERS: Record<Route53Operation, Handler> = {
  GetHostedZone: getHostedZone,
  ListResourceRecordSets: listResourceRecordSets,
  ChangeResourceRecordSets: changeResourceRecordSets,
  GetChange: getChange,
  GetHealthCheck: getHealthCheck,
  GetHealthCheckStatus: getHealthCheckStatus,
  UpdateHealthCheck: updateHealthCheck,
  TestDNSAnswer: testDnsAnswer,
  Unknown: unknownOperation,
};

export function handleRoute53Request(z: ZoneState, req: RecordedRequest): SimResponse {
  const segs = req.path.split('/').filter(Boolean);
  return HANDLERS[route53Operation(req)](z, req, segs);
}
