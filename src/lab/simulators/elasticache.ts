/**
 * ElastiCache Global Datastore simulator: the query API of @aws-sdk/client-elasticache in front
 * of the lab's real Redis pair. FailoverGlobalReplicationGroup fails the real pair over
 * (REPLICAOF NO ONE on the new primary, REPLICAOF on the old one), without pausing writes, as AWS
 * offers no zero-loss flag: what the old primary took past the replica's offset is lost, so a
 * write load measures the RPO. An old primary that cannot be reached is re-attached as a
 * secondary once it answers again, as the datastore keeps its topology.
 * DisassociateGlobalReplicationGroup (the bot's last resort) detaches the real secondary: its
 * node stops replicating and takes writes.
 */
import { Redis } from 'ioredis';
import { handleCloudWatch, isCloudWatch, LagSeries, type LagPoint } from './cloudwatch.js';
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import {
  API_VERSION,
  datastoreXml,
  errorResponse,
  formParams,
  ok,
  operationOf,
  type ElastiCacheOperation,
  type SimDatastore,
  type SimMember,
} from './elasticache-api.js';

interface ElastiCacheMemberServer {
  replicationGroupId: string;
  region: string;
  /** The member's primary node, as the service (an admin) reaches it. */
  url: string;
}

interface ElastiCacheSimOptions {
  globalReplicationGroupId?: string;
  primary: ElastiCacheMemberServer;
  secondary: ElastiCacheMemberServer;
  /** How long the datastore stays `modifying` after the roles moved (AWS: minutes). */
  failoverDelayMs?: number;
  /** How often the lag metric is sampled (AWS publishes every 60 s; the lab samples faster). */
  lagSampleMs?: number;
  port?: number;
}

export interface ElastiCacheSim {
  readonly url: string;
  readonly globalReplicationGroupId: string;
  readonly requests: RecordedRequest[];
  requestsFor(operation: ElastiCacheOperation): RecordedRequest[];
  datastore(): SimDatastore;
  /** Console-side levers: another operation in progress, or the secondary removed. */
  setStatus(status: string): void;
  makePrimaryOnly(): void;
  /**
   * A failover the primary region's outage keeps from completing (lab choice: no AWS doc says
   * how it behaves then): 'error' answers 500 InternalFailure, 'stuck' accepts it and stays
   * `modifying` without moving the roles; null restores normal failovers.
   */
  breakFailovers(mode: 'error' | 'stuck' | null): void;
  /** The lag datapoints served as CloudWatch's GlobalDatastoreReplicationLag. */
  lagPoints(): LagPoint[];
  stop(): Promise<void>;
}

interface State {
  d: SimDatastore;
  servers: Map<string, ElastiCacheMemberServer>;
  delayMs: number;
  /** A demoted member whose node was unreachable: re-attached when it answers. */
  pendingDemotion: { member: SimMember; to: SimMember } | null;
  lag: LagSeries;
  broken: 'error' | 'stuck' | null;
}

export async function onRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
    else r.disconnect();
  }
}

export const hostPort = (url: string): [string, string] => {
  const u = new URL(url);
  return [u.hostname, u.port || '6379'];
};

/** Make `member`'s node replicate `to`'s: false when it cannot be reached. */
async function demote(s: State, member: SimMember, to: SimMember): Promise<boolean> {
  const [host, port] = hostPort(s.servers.get(to.replicationGroupId)!.url);
  return onRedis(s.servers.get(member.replicationGroupId)!.url, (r) =>
    r.call('REPLICAOF', host, port),
  ).then(
    () => true,
    () => false,
  );
}

/** The real switch, then `available` with the new roles after the delay. */
async function performFailover(s: State, target: SimMember): Promise<void> {
  const old = s.d.members.find((m) => m.role === 'PRIMARY')!;
  await onRedis(s.servers.get(target.replicationGroupId)!.url, (r) =>
    r.call('REPLICAOF', 'NO', 'ONE'),
  );
  const demoted = await demote(s, old, target);
  await new Promise((r) => setTimeout(r, s.delayMs));
  target.role = 'PRIMARY';
  old.role = 'SECONDARY';
  // Lab choice (no AWS doc names the state of a member whose region is out): not associated until it answers.
  old.status = demoted ? 'associated' : 'associating';
  s.pendingDemotion = demoted ? null : { member: old, to: target };
  s.d.status = 'available';
}

async function reattach(s: State): Promise<void> {
  const p = s.pendingDemotion;
  if (!p || !(await demote(s, p.member, p.to))) return;
  p.member.status = 'associated';
  s.pendingDemotion = null;
}

function describe(s: State, q: Record<string, string>): SimResponse {
  // API_DescribeGlobalReplicationGroups: an id that does not exist is GlobalReplicationGroupNotFoundFault (404).
  if (q.GlobalReplicationGroupId && q.GlobalReplicationGroupId !== s.d.id)
    return errorResponse(
      404,
      'GlobalReplicationGroupNotFoundFault',
      'The Global datastore does not exist',
    );
  return ok('DescribeGlobalReplicationGroups', {
    GlobalReplicationGroups: {
      itemName: 'GlobalReplicationGroup',
      items: [datastoreXml(s.d, q.ShowMemberInfo === 'true')],
    },
  });
}

/**
 * The refusals FailoverGlobalReplicationGroup and DisassociateGlobalReplicationGroup share (their
 * Errors sections, in the order they list them): a missing parameter, another datastore, a
 * datastore not available with a secondary, and a named group that is not one of its secondaries.
 */
function secondaryNamed(
  s: State,
  q: Record<string, string>,
  group: string,
  region: string,
): { member: SimMember } | { refused: SimResponse } {
  for (const p of ['GlobalReplicationGroupId', group, region])
    if (!q[p])
      return {
        refused: errorResponse(
          400,
          'MissingParameter',
          `The request must contain the parameter ${p}`,
        ),
      };
  if (q.GlobalReplicationGroupId !== s.d.id)
    return {
      refused: errorResponse(
        404,
        'GlobalReplicationGroupNotFoundFault',
        'The Global datastore does not exist',
      ),
    };
  // "InvalidGlobalReplicationGroupState: The Global datastore is not available or in primary-only state."
  if (s.d.status !== 'available' || s.d.members.length < 2)
    return {
      refused: errorResponse(
        400,
        'InvalidGlobalReplicationGroupState',
        `Global datastore ${s.d.id} is ${s.d.status}: it must be available with a secondary`,
      ),
    };
  const member = s.d.members.find(
    (m) => m.replicationGroupId === q[group] && m.region === q[region],
  );
  // Failover: "Used to failover the primary region to a secondary region". Disassociate:
  // "The name of the secondary cluster you wish to remove"; the primary stays until the
  // datastore is deleted (DeleteGlobalReplicationGroup). Otherwise InvalidParameterValue.
  if (!member || member.role !== 'SECONDARY')
    return {
      refused: errorResponse(
        400,
        'InvalidParameterValue',
        `${q[group]} in ${q[region]} is not a secondary member of ${s.d.id}`,
      ),
    };
  return { member };
}

/** The refusals of API_FailoverGlobalReplicationGroup (Errors section), in the order it lists them. */
function failover(s: State, q: Record<string, string>): SimResponse {
  const named = secondaryNamed(s, q, 'PrimaryReplicationGroupId', 'PrimaryRegion');
  if ('refused' in named) return named.refused;
  const target = named.member;
  // APIReference CommonErrors: InternalFailure, 500, "an unknown error, exception or failure".
  if (s.broken === 'error')
    return errorResponse(500, 'InternalFailure', 'The request processing has failed');
  s.d.status = 'modifying';
  s.lag.reset();
  const answer = ok('FailoverGlobalReplicationGroup', {
    GlobalReplicationGroup: datastoreXml(s.d, true),
  });
  if (s.broken === 'stuck') return answer;
  void performFailover(s, target).catch(() => {
    s.d.status = 'available';
  });
  return answer;
}

/**
 * The refusals of API_DisassociateGlobalReplicationGroup (Errors section), then the real detach:
 * the member's node stops replicating and takes writes (REPLICAOF NO ONE), "a standalone cluster
 * in that Amazon region"; the datastore keeps its primary alone (primary-only).
 */
function disassociate(s: State, q: Record<string, string>): SimResponse {
  const named = secondaryNamed(s, q, 'ReplicationGroupId', 'ReplicationGroupRegion');
  if ('refused' in named) return named.refused;
  const member = named.member;
  s.d.status = 'modifying';
  member.status = 'disassociating';
  s.lag.reset();
  const answer = ok('DisassociateGlobalReplicationGroup', {
    GlobalReplicationGroup: datastoreXml(s.d, true),
  });
  void performDetach(s, member).catch(() => {
    s.d.status = 'available';
    member.status = 'associated';
  });
  return answer;
}

async function performDetach(s: State, member: SimMember): Promise<void> {
  await onRedis(s.servers.get(member.replicationGroupId)!.url, (r) =>
    r.call('REPLICAOF', 'NO', 'ONE'),
  );
  await new Promise((r) => setTimeout(r, s.delayMs));
  s.d.members = s.d.members.filter((m) => m !== member);
  if (s.pendingDemotion?.member === member || s.pendingDemotion?.to === member)
    s.pendingDemotion = null;
  s.d.status = 'primary-only';
}

const offsetOf = (info: string, field: string): number | null => {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : null;
};

/**
 * One lag sample from the real nodes: none while the roles move or while either node cannot be
 * read (lab choice: no AWS doc says what the metric shows when a region is out; the card then
 * shows how old the newest datapoint is).
 */
async function sampleLag(s: State): Promise<void> {
  if (s.d.status !== 'available') return;
  const primary = s.d.members.find((m) => m.role === 'PRIMARY');
  const secondary = s.d.members.find((m) => m.role === 'SECONDARY');
  if (!primary || !secondary || secondary.status !== 'associated') return;
  const info = (m: SimMember) =>
    onRedis(s.servers.get(m.replicationGroupId)!.url, (r) => r.info('replication')).catch(
      () => null,
    );
  const [p, r] = await Promise.all([info(primary), info(secondary)]);
  const primaryOffset = p && /^role:master/m.test(p) ? offsetOf(p, 'master_repl_offset') : null;
  const secondaryOffset = r && /^role:slave/m.test(r) ? offsetOf(r, 'slave_repl_offset') : null;
  if (primaryOffset === null || secondaryOffset === null) return;
  // The metric is per node of the secondary member; the lab's member has one node, -001.
  s.lag.add({
    primaryOffset,
    secondaryOffset,
    cacheClusterId: `${secondary.replicationGroupId}-001`,
  });
}

async function handle(s: State, req: RecordedRequest): Promise<SimResponse> {
  if (isCloudWatch(req)) return handleCloudWatch(s.lag.points, req);
  const q = formParams(req);
  // Query API: POST with the Version of the API (APIReference CommonParameters: Action, Version).
  if (req.method !== 'POST' || q.Version !== API_VERSION)
    return errorResponse(400, 'InvalidAction', `expected a POST with Version=${API_VERSION}`);
  const op = operationOf(req);
  if (op === 'DescribeGlobalReplicationGroups') {
    await reattach(s);
    return describe(s, q);
  }
  if (op === 'FailoverGlobalReplicationGroup') return failover(s, q);
  if (op === 'DisassociateGlobalReplicationGroup') return disassociate(s, q);
  return errorResponse(
    400,
    'InvalidAction',
    `The action ${q.Action ?? '(none)'} is not valid for this web service`,
  );
}

export async function startElastiCacheSimulator(
  opts: ElastiCacheSimOptions,
): Promise<ElastiCacheSim> {
  const member = (m: ElastiCacheMemberServer, role: SimMember['role']): SimMember => ({
    replicationGroupId: m.replicationGroupId,
    region: m.region,
    role,
    status: 'associated',
  });
  const s: State = {
    d: {
      id: opts.globalReplicationGroupId ?? 'ldgnf-lab-cache',
      status: 'available',
      members: [member(opts.primary, 'PRIMARY'), member(opts.secondary, 'SECONDARY')],
    },
    servers: new Map([opts.primary, opts.secondary].map((m) => [m.replicationGroupId, m])),
    delayMs: opts.failoverDelayMs ?? 300,
    pendingDemotion: null,
    lag: new LagSeries(),
    broken: null,
  };
  const http: HttpSim = await startHttpSim((req) => handle(s, req), { port: opts.port });
  // A first datapoint before the bot's first readiness round, not a period later.
  await sampleLag(s);
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    void sampleLag(s).finally(() => (sampling = false));
  }, opts.lagSampleMs ?? 1000);
  sampler.unref();
  return {
    url: http.url,
    globalReplicationGroupId: s.d.id,
    requests: http.requests,
    requestsFor: (operation) => http.requests.filter((r) => operationOf(r) === operation),
    datastore: () => structuredClone(s.d),
    setStatus: (status) => void (s.d.status = status),
    makePrimaryOnly() {
      s.d.members = s.d.members.filter((m) => m.role === 'PRIMARY');
      s.d.status = 'primary-only';
    },
    breakFailovers: (mode) => void (s.broken = mode),
    lagPoints: () => [...s.lag.points],
    stop: () => {
      clearInterval(sampler);
      return http.close();
    },
  };
}
