/**
 * The ElastiCache query API (version 2015-02-02) as @aws-sdk/client-elasticache speaks it: a POST
 * of form-encoded `Action=…&Version=…` parameters, answered with `<ActionResponse><ActionResult>`
 * XML or an `<ErrorResponse>` whose Code the SDK maps to its exception (AwsQueryProtocol).
 */
import type { RecordedRequest, SimResponse } from './http-sim.js';
import { xmlDocument, type XmlObject } from './xml.js';

const NS = 'http://elasticache.amazonaws.com/doc/2015-02-02/';
export const API_VERSION = '2015-02-02';

export type ElastiCacheOperation =
  | 'DescribeGlobalReplicationGroups'
  | 'FailoverGlobalReplicationGroup'
  | 'DisassociateGlobalReplicationGroup'
  | 'Unknown';

export interface SimMember {
  replicationGroupId: string;
  region: string;
  role: 'PRIMARY' | 'SECONDARY';
  status: string;
}

export interface SimDatastore {
  id: string;
  status: string;
  members: SimMember[];
}

export function formParams(req: RecordedRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(req.body).entries());
}

export function operationOf(req: RecordedRequest): ElastiCacheOperation {
  const a = formParams(req).Action;
  return a === 'DescribeGlobalReplicationGroups' ||
    a === 'FailoverGlobalReplicationGroup' ||
    a === 'DisassociateGlobalReplicationGroup'
    ? a
    : 'Unknown';
}

const requestId = (): string => `sim-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** APIReference CommonErrors: Type Sender for 4xx, Receiver for 5xx. */
export function errorResponse(status: number, code: string, message: string): SimResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: xmlDocument('ErrorResponse', NS, {
      Error: { Type: status >= 500 ? 'Receiver' : 'Sender', Code: code, Message: message },
      RequestId: requestId(),
    }),
  };
}

export function ok(action: string, result: XmlObject): SimResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: xmlDocument(`${action}Response`, NS, {
      [`${action}Result`]: result,
      ResponseMetadata: { RequestId: requestId() },
    }),
  };
}

/** API_GlobalReplicationGroup; members only with ShowMemberInfo (DescribeGlobalReplicationGroups). */
export function datastoreXml(d: SimDatastore, withMembers: boolean): XmlObject {
  return {
    GlobalReplicationGroupId: d.id,
    GlobalReplicationGroupDescription: 'dr-bot lab',
    Status: d.status,
    CacheNodeType: 'cache.r6g.large',
    Engine: 'redis',
    EngineVersion: '7.1',
    ClusterEnabled: false,
    ...(withMembers
      ? {
          Members: {
            itemName: 'GlobalReplicationGroupMember',
            items: d.members.map((m) => ({
              ReplicationGroupId: m.replicationGroupId,
              ReplicationGroupRegion: m.region,
              Role: m.role,
              AutomaticFailover: 'enabled',
              Status: m.status,
            })),
          },
        }
      : {}),
  };
}
