/**
 * Azure Database for PostgreSQL flexible server simulator (ARM, https, Entra ID bearer tokens) for
 * a primary and its cross-region read replica, in front of the lab's real PostgreSQL pair. A
 * promotion (Servers - Update with `replica.promoteMode`) promotes the real standby: `planned`
 * after it has replayed everything the source wrote, `forced` at once; a switchover then makes the
 * old primary a real replica of the new one (the lab's resync: pg_rewind, else a base backup). A
 * replica create (createMode Replica) rebuilds the region's server as a standby. All are
 * long-running operations answered with Azure-AsyncOperation and Location.
 * Docs cited below (learn.microsoft.com azure/postgresql/flexible-server/...):
 * concepts-read-replicas-promote, concepts-read-replicas-virtual-endpoints, concepts-read-replicas,
 * and REST postgresql/servers/update.
 */
import { randomUUID } from 'node:crypto';
import type { RegionRole } from '../../domain/types.js';
import { readLabInfo } from '../manifest.js';
import { pgQuery } from '../postgres.js';
import { labResync } from '../resync.js';
import {
  armApiVersionError,
  armAuthError,
  armError,
  type ArmAuth,
  type TokenVerifier,
} from './arm.js';
import {
  FLEXIBLE_API_VERSION,
  flexOperationJson,
  serverJson,
  virtualEndpointJson,
  type SimFlexibleServer,
  type SimFlexOperation,
  type SimVirtualEndpoint,
} from './azure-flexible-api.js';
import { json, startHttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import { selfSignedCert } from './tls.js';

type ServerSeed = Pick<SimFlexibleServer, 'name' | 'resourceGroup' | 'location' | 'server'>;

interface AzureFlexibleSimOptions {
  labDir: string;
  subscriptionId: string;
  /** The lab's primary server and its read replica. */
  primary: ServerSeed;
  secondary: ServerSeed;
  /** The virtual endpoint pair's name (writer: the primary, reader: the replica); none if absent. */
  virtualEndpoint?: string;
  /** Extra time an operation stays InProgress after the real change (Azure: minutes). */
  operationDelayMs?: number;
  tls?: { key: string; cert: string };
  verifier?: TokenVerifier;
  port?: number;
}

export interface AzureFlexibleSim {
  readonly url: string;
  readonly ca: string;
  readonly token: string;
  readonly requests: RecordedRequest[];
  server(name: string): SimFlexibleServer | undefined;
  virtualEndpoint(): SimVirtualEndpoint | null;
  /** Portal-side levers: another state, tier or storage; other (or no) virtual endpoints. */
  setServer(name: string, patch: Partial<SimFlexibleServer>): void;
  setVirtualEndpoint(ve: SimVirtualEndpoint | null): void;
  /** Operations still running (a promotion, a demotion waiting for its server, a rebuild). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

interface State {
  opts: AzureFlexibleSimOptions;
  sub: string;
  servers: SimFlexibleServer[];
  ve: SimVirtualEndpoint | null;
  ops: Map<string, SimFlexOperation>;
  running: Set<Promise<void>>;
  url: string;
  closed: boolean;
}

const PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.dbforpostgresql\/flexibleservers\/([^/]+)(?:\/(virtualendpoints)(?:\/([^/]+))?)?$/i;
const OP_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/microsoft\.dbforpostgresql\/locations\/([^/]+)\/(azureasyncoperation|operationresults)\/([^/]+)$/i;

const find = (s: State, name: string): SimFlexibleServer | undefined =>
  s.servers.find((x) => x.name.toLowerCase() === name.toLowerCase());
const labUrl = (s: State, server: RegionRole): string =>
  readLabInfo(s.opts.labDir).postgres[server].url;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isReplica = (x: SimFlexibleServer): boolean => x.source !== null;

/** Run the real change in the background as an ARM operation; its URLs for the SDK's poller. */
function runOperation(
  s: State,
  location: string,
  work: (op: SimFlexOperation) => Promise<void>,
): Record<string, string> {
  const op: SimFlexOperation = {
    id: randomUUID(),
    location,
    status: 'InProgress',
    startTime: new Date().toISOString(),
  };
  s.ops.set(op.id, op);
  const p = (async () => {
    try {
      await work(op);
      await sleep(s.opts.operationDelayMs ?? 200);
      op.status = 'Succeeded';
    } catch (err) {
      // Azure shows the operation's error; the whole cause goes to the simulator's log too.
      console.error(`azure-flexible simulator: operation ${op.id} failed:`, (err as Error).message);
      op.status = 'Failed';
      op.error = { code: 'InternalServerError', message: (err as Error).message };
    }
    op.endTime = new Date().toISOString();
  })().finally(() => s.running.delete(p));
  s.running.add(p);
  const base = `${s.url}/subscriptions/${s.sub}/providers/Microsoft.DBforPostgreSQL/locations/${location}`;
  const q = `?api-version=${FLEXIBLE_API_VERSION}`;
  return {
    'azure-asyncoperation': `${base}/azureAsyncOperation/${op.id}${q}`,
    location: `${base}/operationResults/${op.id}${q}`,
  };
}

async function lsnOf(url: string, sql: string): Promise<string | null> {
  const [row] = await pgQuery<{ lsn: string | null }>(url, `SELECT ${sql}::text AS lsn`);
  return row?.lsn ?? null;
}

/** Planned: "wait for data in the read replica to be fully synchronized with its source". */
async function replayAll(s: State, source: SimFlexibleServer, target: SimFlexibleServer) {
  const end = await lsnOf(labUrl(s, source.server), 'pg_current_wal_lsn()').catch((err) => {
    throw new Error(
      `source server ${source.name} is not reachable (${(err as Error).message}); a planned promotion needs it: use promoteOption forced`,
    );
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await pgQuery<{ done: boolean }>(
      labUrl(s, target.server),
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
      [end],
    );
    if (row?.done) return;
    if (Date.now() > deadline) throw new Error(`replica ${target.name} did not replay ${end}`);
    await sleep(20);
  }
}

/** The old primary becomes a replica of `primary`: now, or once its server answers again. */
async function demote(s: State, old: SimFlexibleServer, primary: SimFlexibleServer) {
  old.role = old.location === primary.location ? 'AsyncReplica' : 'GeoAsyncReplica';
  old.source = primary.name;
  old.replicationState = 'Reconfiguring';
  // A primary that is down is reconfigured when it comes back; the lab's outage ends by restore.
  while (!s.closed) {
    const up = await pgQuery(labUrl(s, old.server), 'SELECT 1').then(
      () => true,
      () => false,
    );
    if (up) break;
    await sleep(500);
  }
  if (s.closed) return;
  await labResync({ dir: s.opts.labDir, standby: old.server, method: 'rewind' }).catch(() =>
    labResync({ dir: s.opts.labDir, standby: old.server, method: 'rebuild' }),
  );
  old.replicationState = 'Active';
}

interface PatchBody {
  properties?: { replica?: { promoteMode?: string; promoteOption?: string } };
}

/** Why Azure refuses this promotion, or undefined; each rule with the doc it comes from. */
function promoteRefusal(
  s: State,
  t: SimFlexibleServer,
  mode: string | undefined,
  option: string | undefined,
): SimResponse | undefined {
  // REST servers/update, Replica: promoteMode Standalone|Switchover, promoteOption Planned|Forced.
  if (
    !['standalone', 'switchover'].includes(mode ?? '') ||
    !['planned', 'forced'].includes(option ?? '')
  )
    return armError(
      400,
      'InvalidParameterValue',
      `replica.promoteMode must be standalone or switchover and replica.promoteOption planned or forced (got ${mode}, ${option}).`,
    );
  // concepts-read-replicas-promote: "Promote refers to the process where a replica is commanded to end its replica mode".
  if (!isReplica(t))
    return armError(
      400,
      'ServerIsNotReplica',
      `Server '${t.name}' is not a read replica: only a replica can be promoted.`,
    );
  const source = find(s, t.source!)!;
  // ARM refuses a write while another operation runs on the resource (common-deployment-errors: Conflict).
  for (const x of [t, source])
    if (x.state !== 'Ready')
      return armError(
        409,
        'ServerBusy',
        `Server '${x.name}' is ${x.state}, not Ready: retry when its current operation has finished.`,
      );
  if (t.replicationState !== 'Active' && t.replicationState !== 'Catchup')
    return armError(
      409,
      'ReplicaNotReady',
      `Replica '${t.name}' is ${t.replicationState}: it can be promoted once replication is Active.`,
    );
  if (mode !== 'switchover') return undefined;
  // concepts-read-replicas-promote, "Promote to primary server": a virtual endpoint is needed, and
  // "the promotion is successful only if the targeted replica is included in the reader endpoint".
  const ve = s.ve;
  if (!ve || !ve.members.some((m) => m.toLowerCase() === t.name.toLowerCase()))
    return armError(
      400,
      'VirtualEndpointRequired',
      ve
        ? `The reader endpoint of virtual endpoint '${ve.name}' does not point at '${t.name}': a switchover promotes only the replica it names.`
        : `Promote to primary server (switchover) needs a virtual endpoint: writer on '${source.name}', reader on '${t.name}'.`,
    );
  // concepts-read-replicas-promote: the roles swap, so both servers need the same tier and storage.
  if (t.sku.tier !== source.sku.tier || t.storageSizeGB !== source.storageSizeGB)
    return armError(
      400,
      'ServerSymmetryRequired',
      `A switchover needs the same compute tier and storage on both servers: '${source.name}' is ${source.sku.tier} ${source.storageSizeGB} GB, '${t.name}' is ${t.sku.tier} ${t.storageSizeGB} GB.`,
    );
  return undefined;
}

function promote(s: State, t: SimFlexibleServer, req: RecordedRequest): SimResponse {
  let body: PatchBody;
  try {
    body = JSON.parse(req.body || '{}') as PatchBody;
  } catch {
    return armError(400, 'InvalidRequestContent', 'The request content could not be deserialized.');
  }
  // REST servers/update: the body is a ServerForPatch, its fields under `properties`.
  const replica = body.properties?.replica;
  const others = Object.keys(body.properties ?? {}).filter((k) => k !== 'replica');
  if (!replica || others.length > 0 || Object.keys(body).some((k) => k !== 'properties'))
    return armError(
      400,
      'InvalidParameterValue',
      'the lab simulator updates replica.promoteMode only',
    );
  const mode = replica.promoteMode?.toLowerCase();
  const option = replica.promoteOption?.toLowerCase();
  const refused = promoteRefusal(s, t, mode, option);
  if (refused) return refused;
  const source = find(s, t.source!)!;
  t.state = 'Updating';
  t.replicationState = 'Updating';
  const headers = runOperation(s, t.location, async () => {
    try {
      if (option === 'planned') await replayAll(s, source, t);
      // forced: "initiate the operation immediately, without waiting for data ... to be synchronized".
      await pgQuery(labUrl(s, t.server), 'SELECT pg_promote(true, 60)');
      t.role = 'Primary';
      t.source = null;
      t.replicationState = null;
    } finally {
      t.state = 'Ready';
    }
    if (mode === 'switchover') {
      // concepts-read-replicas-virtual-endpoints: the writer follows the new primary, the reader the new replica.
      s.ve = { ...s.ve!, on: t.name, members: [source.name] };
      // With its old primary down, the promotion ends; the demotion waits for the server.
      const up = await pgQuery(labUrl(s, source.server), 'SELECT 1').then(
        () => true,
        () => false,
      );
      const demoted = demote(s, source, t);
      if (up) await demoted;
      else {
        const p = demoted.finally(() => s.running.delete(p));
        s.running.add(p);
      }
    } else if (s.ve) {
      // "Promote to independent server": the writer is unchanged, the reader points at the primary.
      s.ve = { ...s.ve, members: [] };
    }
  });
  return { status: 202, headers };
}

interface CreateBody {
  location?: string;
  properties?: { createMode?: string; sourceServerResourceId?: string };
}

/** Servers - Create with createMode Replica: a new read replica of a primary. */
function createReplica(s: State, rg: string, name: string, req: RecordedRequest): SimResponse {
  let body: CreateBody;
  try {
    body = JSON.parse(req.body || '{}') as CreateBody;
  } catch {
    return armError(400, 'InvalidRequestContent', 'The request content could not be deserialized.');
  }
  const p = body.properties ?? {};
  if (p.createMode !== 'Replica' || !p.sourceServerResourceId || !body.location)
    return armError(
      400,
      'InvalidParameterValue',
      'the lab simulator creates read replicas only: location, properties.createMode Replica and sourceServerResourceId are required',
    );
  // The name is the server's DNS name: it must be free (REST servers/create; nameAvailability).
  if (find(s, name))
    return armError(409, 'ServerNameAlreadyExists', `A server named '${name}' already exists.`);
  const m = /\/flexibleServers\/([^/]+)$/i.exec(p.sourceServerResourceId);
  const source = m ? find(s, m[1]!) : undefined;
  if (!source || !p.sourceServerResourceId.toLowerCase().startsWith(`/subscriptions/${s.sub}/`))
    return armError(
      404,
      'ResourceNotFound',
      `Source server '${p.sourceServerResourceId}' was not found.`,
    );
  // concepts-read-replicas: a replica is created from a primary server that is ready.
  if (isReplica(source) || source.state !== 'Ready')
    return armError(
      400,
      'InvalidSourceServer',
      `Source server '${source.name}' must be a ready primary (it is ${isReplica(source) ? 'a replica' : source.state}).`,
    );
  const server: RegionRole = source.server === 'primary' ? 'secondary' : 'primary';
  const occupant = s.servers.find((x) => x.server === server);
  if (occupant)
    return armError(
      409,
      'Conflict',
      `the lab has one PostgreSQL server in that region and '${occupant.name}' holds it: delete it first`,
    );
  const created: SimFlexibleServer = {
    name,
    resourceGroup: rg,
    location: body.location,
    server,
    role: body.location === source.location ? 'AsyncReplica' : 'GeoAsyncReplica',
    source: source.name,
    state: 'Provisioning',
    replicationState: 'Provisioning',
    sku: { ...source.sku },
    storageSizeGB: source.storageSizeGB,
  };
  s.servers.push(created);
  const headers = runOperation(s, created.location, async () => {
    await labResync({ dir: s.opts.labDir, standby: server, method: 'rebuild' });
    created.state = 'Ready';
    created.replicationState = 'Active';
  });
  return json(201, serverJson(s.sub, created, source), headers);
}

function remove(s: State, x: SimFlexibleServer): SimResponse {
  // The lab deletes only servers outside a replication set (its one server per region is reused).
  if (isReplica(x) || s.servers.some((o) => o.source === x.name) || x.state !== 'Ready')
    return armError(
      409,
      'Conflict',
      `the lab simulator deletes only a ready server outside a replication set; '${x.name}' is not one`,
    );
  x.state = 'Dropping';
  const headers = runOperation(s, x.location, async () => {
    s.servers = s.servers.filter((o) => o !== x);
    if (s.ve?.on === x.name) s.ve = null;
  });
  return { status: 202, headers };
}

function virtualEndpoints(
  s: State,
  x: SimFlexibleServer,
  name: string | undefined,
  req: RecordedRequest,
) {
  if (req.method !== 'GET')
    return armError(
      405,
      'MethodNotAllowed',
      `${req.method} on virtual endpoints is not simulated.`,
    );
  // concepts-read-replicas-virtual-endpoints: they are managed "in the context of the primary server".
  const ve = s.ve && s.ve.on === x.name ? s.ve : null;
  if (name === undefined)
    return json(200, { value: ve ? [virtualEndpointJson(s.sub, x, ve)] : [] });
  if (!ve || ve.name !== name)
    return armError(
      404,
      'ResourceNotFound',
      `Virtual endpoint '${name}' of '${x.name}' was not found.`,
    );
  return json(200, virtualEndpointJson(s.sub, x, ve));
}

function operation(s: State, kind: string, id: string): SimResponse {
  const op = s.ops.get(id);
  if (!op) return armError(404, 'ResourceNotFound', `Operation ${id} was not found.`);
  if (kind.toLowerCase() === 'azureasyncoperation') return flexOperationJson(op);
  return op.status === 'InProgress' ? { status: 202, headers: { location: '' } } : { status: 204 };
}

function handle(s: State, auth: ArmAuth, req: RecordedRequest): SimResponse {
  const refused = armAuthError(req, auth) ?? armApiVersionError(req, [FLEXIBLE_API_VERSION]);
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
  const x = find(s, m[3]!);
  if (req.method === 'PUT' && !m[4]) return createReplica(s, m[2]!, m[3]!, req);
  if (!x || x.resourceGroup.toLowerCase() !== m[2]!.toLowerCase())
    return armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/${m[3]}' under resource group '${m[2]}' was not found.`,
    );
  if (m[4]) return virtualEndpoints(s, x, m[5], req);
  if (req.method === 'PATCH') return promote(s, x, req);
  if (req.method === 'DELETE') return remove(s, x);
  if (req.method !== 'GET')
    return armError(405, 'MethodNotAllowed', `${req.method} on a server is not simulated.`);
  return json(200, serverJson(s.sub, x, x.source ? find(s, x.source) : undefined));
}

export async function startAzureFlexibleSimulator(
  opts: AzureFlexibleSimOptions,
): Promise<AzureFlexibleSim> {
  const base = {
    state: 'Ready',
    sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
    storageSizeGB: 128,
  };
  const s: State = {
    opts,
    sub: opts.subscriptionId,
    servers: [
      { ...opts.primary, ...base, role: 'Primary', source: null, replicationState: null },
      {
        ...opts.secondary,
        ...base,
        sku: { ...base.sku },
        role:
          opts.secondary.location === opts.primary.location ? 'AsyncReplica' : 'GeoAsyncReplica',
        source: opts.primary.name,
        replicationState: 'Active',
      },
    ],
    ve: opts.virtualEndpoint
      ? { name: opts.virtualEndpoint, on: opts.primary.name, members: [opts.secondary.name] }
      : null,
    ops: new Map(),
    running: new Set(),
    url: '',
    closed: false,
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
    requests: http.requests,
    server: (name) => {
      const x = find(s, name);
      return x ? { ...x } : undefined;
    },
    virtualEndpoint: () => (s.ve ? { ...s.ve } : null),
    setServer(name, patch) {
      Object.assign(find(s, name)!, patch);
    },
    setVirtualEndpoint(ve) {
      s.ve = ve ? { ...ve, members: [...ve.members] } : null;
    },
    settled: async () => {
      while (s.running.size > 0) await Promise.all([...s.running]);
    },
    stop: async () => {
      s.closed = true;
      await Promise.all([...s.running]).catch(() => undefined);
      await http.close();
    },
  };
}
