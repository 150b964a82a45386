/**
 * Azure Cache for Redis simulator (ARM, https, Entra ID bearer tokens) for two Premium caches
 * with passive geo-replication, in front of the lab's real Redis pair. LinkedServer create flushes
 * the cache that becomes the secondary and makes it a replica of the primary; LinkedServer delete
 * makes the secondary a standalone master (REPLICAOF NO ONE). Both are long-running operations
 * answered with Azure-AsyncOperation and Location, as the SDK's poller follows them.
 * Docs cited below: learn.microsoft.com azure/azure-cache-for-redis/cache-how-to-geo-replication
 * ("Geo-replication prerequisites", "Remove a geo-replication link") and REST redis/linked-server.
 */
import { randomUUID } from 'node:crypto';
import {
  armApiVersionError,
  armAuthError,
  armError,
  type ArmAuth,
  type TokenVerifier,
} from './arm.js';
import {
  cacheJson,
  linkedServerJson,
  operationJson,
  REDIS_API_VERSION,
  type SimCache,
  type SimLink,
  type SimOperation,
} from './azure-cache-api.js';
import { hostPort, onRedis } from './elasticache.js';
import { json, startHttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import { selfSignedCert } from './tls.js';

interface AzureCacheSimOptions {
  subscriptionId?: string;
  primary: Pick<SimCache, 'name' | 'resourceGroup' | 'location' | 'url'>;
  secondary: Pick<SimCache, 'name' | 'resourceGroup' | 'location' | 'url'>;
  /** The lab's pair starts replicating: linked primary → secondary (default true). */
  linked?: boolean;
  /** Extra time an operation stays InProgress after the real change (Azure: minutes). */
  operationDelayMs?: number;
  tls?: { key: string; cert: string };
  /** Tokens from the lab's Entra ID; without it, only the fixed `token` is accepted. */
  verifier?: TokenVerifier;
  port?: number;
}

export interface AzureCacheSim {
  readonly url: string;
  readonly ca: string;
  readonly token: string;
  readonly subscriptionId: string;
  readonly requests: RecordedRequest[];
  /** Requests to the linked servers (`PUT`, `DELETE`, `GET`). */
  linkRequests(method: string): RecordedRequest[];
  link(): SimLink | null;
  cache(name: string): SimCache;
  /** Portal-side levers: a cache in another state, or of another tier. */
  setCache(
    name: string,
    patch: Partial<Pick<SimCache, 'sku' | 'capacity' | 'provisioningState'>>,
  ): void;
  stop(): Promise<void>;
}

interface State {
  sub: string;
  caches: SimCache[];
  link: SimLink | null;
  ops: Map<string, SimOperation>;
  delayMs: number;
  url: string;
}

const PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.cache\/redis\/([^/]+)(?:\/(linkedservers)(?:\/([^/]+))?)?$/i;
const OP_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/microsoft\.cache\/locations\/([^/]+)\/(asyncoperations|operationresults)\/([^/]+)$/i;

const find = (s: State, name: string): SimCache | undefined =>
  s.caches.find((c) => c.name.toLowerCase() === name.toLowerCase());
const otherOf = (s: State, c: SimCache): SimCache => s.caches.find((x) => x !== c)!;
const inLink = (s: State, c: SimCache): boolean =>
  !!s.link && (s.link.primary === c.name || s.link.secondary === c.name);

/** Run the real change, then settle the operation; Azure reports a failed link as Failed. */
function runOperation(
  s: State,
  location: string,
  work: () => Promise<void>,
  settle: (ok: boolean) => void,
): Record<string, string> {
  const op: SimOperation = {
    id: randomUUID(),
    location,
    status: 'InProgress',
    startTime: new Date().toISOString(),
  };
  s.ops.set(op.id, op);
  void (async () => {
    try {
      await work();
      await new Promise((r) => setTimeout(r, s.delayMs));
      settle(true);
      op.status = 'Succeeded';
    } catch (err) {
      settle(false);
      op.status = 'Failed';
      op.error = { code: 'InternalServerError', message: (err as Error).message };
    }
    op.endTime = new Date().toISOString();
  })();
  const base = `${s.url}/subscriptions/${s.sub}/providers/Microsoft.Cache/locations/${location}`;
  const q = `?api-version=${REDIS_API_VERSION}`;
  return {
    'azure-asyncoperation': `${base}/asyncOperations/${op.id}${q}`,
    location: `${base}/operationResults/${op.id}${q}`,
  };
}

/** The replica's link to its master is up: the full sync (the copy of the primary) is done. */
async function synced(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const info = await onRedis(url, (r) => r.info('replication'));
    if (/^master_link_status:up/m.test(info)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the secondary did not finish its initial sync');
}

interface CreateBody {
  properties?: {
    linkedRedisCacheId?: string;
    linkedRedisCacheLocation?: string;
    serverRole?: string;
  };
}

/** Why Azure refuses this link, or undefined; each rule with the doc it comes from. */
function createRefusal(
  s: State,
  p: SimCache,
  lsName: string,
  body: CreateBody,
): SimResponse | undefined {
  const props = body.properties;
  if (!props?.linkedRedisCacheId || !props.linkedRedisCacheLocation || !props.serverRole)
    return armError(
      400,
      'InvalidRequestBody',
      'linkedRedisCacheId, linkedRedisCacheLocation and serverRole are required.',
    );
  const m =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Cache\/Redis\/([^/]+)$/i.exec(
      props.linkedRedisCacheId,
    );
  // Prerequisites: "Both caches are in the same Azure subscription."
  if (!m || m[1] !== s.sub)
    return armError(
      400,
      'LinkedCacheInvalid',
      `The linked cache must be a cache of subscription ${s.sub}.`,
    );
  const sec = find(s, m[3]!);
  if (
    !sec ||
    sec.resourceGroup.toLowerCase() !== m[2]!.toLowerCase() ||
    sec.name.toLowerCase() !== lsName.toLowerCase()
  )
    return armError(
      404,
      'ResourceNotFound',
      `The linked cache '${props.linkedRedisCacheId}' was not found or is not named by the linked server name '${lsName}'.`,
    );
  // REST Linked Server - Create: the call on the primary adds the secondary (example serverRole Secondary).
  if (props.serverRole !== 'Secondary')
    return armError(
      400,
      'InvalidServerRole',
      'The linked server added to the geo-primary must have serverRole Secondary.',
    );
  // Prerequisites: "Both caches are Premium tier caches."
  if ([p, sec].some((c) => c.sku !== 'Premium'))
    return armError(
      400,
      'GeoReplicationNotSupported',
      'Geo-replication is supported only for Premium tier caches.',
    );
  // Prerequisites: "The secondary linked cache is either the same cache size or a larger cache size than the primary."
  if (sec.capacity < p.capacity)
    return armError(
      400,
      'LinkedCacheSizeTooSmall',
      `${sec.name} (P${sec.capacity}) is smaller than ${p.name} (P${p.capacity}).`,
    );
  // Prerequisites: "Both caches are created and in a running state."
  if ([p, sec].some((c) => c.provisioningState !== 'Succeeded'))
    return armError(
      409,
      'Conflict',
      'Both caches must be running (provisioningState Succeeded) to be linked.',
    );
  // FAQ "Can I link more than two caches together? No": a cache already in a link is refused.
  if (inLink(s, p) || inLink(s, sec))
    return armError(
      409,
      'Conflict',
      `${inLink(s, p) ? p.name : sec.name} is already geo-replication linked; unlink it first.`,
    );
  return undefined;
}

function create(s: State, p: SimCache, lsName: string, req: RecordedRequest): SimResponse {
  let body: CreateBody;
  try {
    body = JSON.parse(req.body || '{}') as CreateBody;
  } catch {
    return armError(
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized.',
    );
  }
  const refused = createRefusal(s, p, lsName, body);
  if (refused) return refused;
  const sec = find(s, lsName)!;
  const link: SimLink = { primary: p.name, secondary: sec.name, provisioningState: 'Creating' };
  s.link = link;
  p.provisioningState = sec.provisioningState = 'Linking';
  const [host, port] = hostPort(p.url);
  const headers = runOperation(
    s,
    p.location,
    async () => {
      // cache-how-to-geo-replication: linking flushes the secondary, then it copies the primary.
      // REPLICAOF does both (the full sync replaces its data) and, unlike FLUSHALL, is not held
      // by a client's CLIENT PAUSE WRITE: the service reconfigures the node, it is no client write.
      await onRedis(sec.url, (r) => r.call('REPLICAOF', host, port));
      await synced(sec.url);
    },
    (ok) => {
      p.provisioningState = sec.provisioningState = 'Succeeded';
      if (ok) link.provisioningState = 'Succeeded';
      else s.link = null;
    },
  );
  return json(201, linkedServerJson(s.sub, p, sec, link), headers);
}

function remove(s: State, c: SimCache, lsName: string): SimResponse {
  const o = otherOf(s, c);
  const link = s.link;
  if (!link || !inLink(s, c) || o.name.toLowerCase() !== lsName.toLowerCase())
    return armError(
      404,
      'ResourceNotFound',
      `The linked server '${lsName}' of cache '${c.name}' was not found.`,
    );
  // ARM answers Conflict while another operation runs on the resource (common-deployment-errors: Conflict).
  if (link.provisioningState !== 'Succeeded')
    return armError(
      409,
      'Conflict',
      `The link is ${link.provisioningState}; retry when the operation finished.`,
    );
  // "Remove a geo-replication link": Unlink is offered from either cache of the pair.
  link.provisioningState = 'Deleting';
  const secondary = find(s, link.secondary)!;
  const primary = find(s, link.primary)!;
  primary.provisioningState = secondary.provisioningState = 'Unlinking';
  const headers = runOperation(
    s,
    c.location,
    // After the unlink the secondary is a standalone read-write cache.
    () => onRedis(secondary.url, (r) => r.call('REPLICAOF', 'NO', 'ONE')).then(() => undefined),
    (ok) => {
      primary.provisioningState = secondary.provisioningState = 'Succeeded';
      if (ok) s.link = null;
      else link.provisioningState = 'Succeeded';
    },
  );
  return { status: 202, headers };
}

function linkedServers(
  s: State,
  c: SimCache,
  name: string | undefined,
  req: RecordedRequest,
): SimResponse {
  const o = otherOf(s, c);
  const mine = s.link && inLink(s, c) ? s.link : null;
  if (name === undefined) {
    if (req.method !== 'GET')
      return armError(405, 'MethodNotAllowed', `${req.method} is not allowed on linkedServers.`);
    return json(200, { value: mine ? [linkedServerJson(s.sub, c, o, mine)] : [] });
  }
  if (req.method === 'PUT') return create(s, c, name, req);
  if (req.method === 'DELETE') return remove(s, c, name);
  if (req.method !== 'GET')
    return armError(405, 'MethodNotAllowed', `${req.method} is not allowed on a linked server.`);
  if (!mine || o.name.toLowerCase() !== name.toLowerCase())
    return armError(
      404,
      'ResourceNotFound',
      `The linked server '${name}' of cache '${c.name}' was not found.`,
    );
  return json(200, linkedServerJson(s.sub, c, o, mine));
}

function operation(s: State, kind: string, id: string): SimResponse {
  const op = s.ops.get(id);
  if (!op) return armError(404, 'ResourceNotFound', `Operation ${id} was not found.`);
  if (kind.toLowerCase() === 'asyncoperations') return operationJson(op);
  // The Location URL: 202 while running, then the end (async-operations: "Location" polling).
  return op.status === 'InProgress' ? { status: 202, headers: { location: '' } } : { status: 204 };
}

function handle(s: State, auth: ArmAuth, req: RecordedRequest): SimResponse {
  const refused = armAuthError(req, auth) ?? armApiVersionError(req, [REDIS_API_VERSION]);
  if (refused) return refused;
  const op = OP_PATH.exec(req.path);
  if (op && op[1] === s.sub) return operation(s, op[3]!, op[4]!);
  const m = PATH.exec(req.path);
  if (!m || m[1] !== s.sub)
    return armError(
      404,
      'InvalidResourceType',
      `The simulator does not implement ${req.method} ${req.path}.`,
    );
  const c = find(s, m[3]!);
  if (!c || c.resourceGroup.toLowerCase() !== m[2]!.toLowerCase())
    return armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.Cache/Redis/${m[3]}' under resource group '${m[2]}' was not found.`,
    );
  if (m[4]) return linkedServers(s, c, m[5], req);
  if (req.method !== 'GET')
    return armError(405, 'MethodNotAllowed', `${req.method} on a cache is not simulated.`);
  return json(200, cacheJson(s.sub, c, s.link, [otherOf(s, c)]));
}

export async function startAzureCacheSimulator(opts: AzureCacheSimOptions): Promise<AzureCacheSim> {
  const sub = opts.subscriptionId ?? '00000000-0000-4000-8000-0000000d0b07';
  const cache = (c: AzureCacheSimOptions['primary']): SimCache => ({
    ...c,
    sku: 'Premium',
    capacity: 1,
    provisioningState: 'Succeeded',
  });
  const s: State = {
    sub,
    caches: [cache(opts.primary), cache(opts.secondary)],
    link:
      opts.linked === false
        ? null
        : {
            primary: opts.primary.name,
            secondary: opts.secondary.name,
            provisioningState: 'Succeeded',
          },
    ops: new Map(),
    delayMs: opts.operationDelayMs ?? 200,
    url: '',
  };
  const tls = opts.tls ?? (await selfSignedCert());
  const token = `lab-${randomUUID()}`;
  let auth: ArmAuth = { token };
  const http = await startHttpSim((req) => handle(s, auth, req), { port: opts.port, tls });
  s.url = http.url;
  // ARM accepts its resource id with and without the trailing slash as the audience.
  if (opts.verifier) auth = { verifier: opts.verifier, audiences: [http.url, `${http.url}/`] };
  return {
    url: http.url,
    ca: tls.cert,
    token,
    subscriptionId: sub,
    requests: http.requests,
    linkRequests: (method) =>
      http.requests.filter((r) => r.method === method && /\/linkedservers/i.test(r.path)),
    link: () => (s.link ? { ...s.link } : null),
    cache(name) {
      const c = find(s, name);
      if (!c) throw new Error(`no cache ${name} in the Azure Cache simulator`);
      return { ...c };
    },
    setCache(name, patch) {
      Object.assign(find(s, name)!, patch);
    },
    stop: () => http.close(),
  };
}
