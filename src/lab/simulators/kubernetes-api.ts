/**
 * The Kubernetes simulator's API server: the bearer-token check, RBAC (kubernetes-rbac.ts), then a
 * route table (Velero backups, /version, apps/v1 workloads and their /scale subresource,
 * autoscaling/v2 HorizontalPodAutoscalers, core/v1 pods and events) of named handlers, answering
 * errors as the API server's Status objects.
 */
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import { authorize, selfSubjectAccessReview } from './kubernetes-rbac.js';
import { veleroLocationsResponse } from './kubernetes-velero.js';
import {
  scaleJson,
  setReplicas,
  veleroBackupListJson,
  workloadJson,
  workloadKey,
  type ClusterState,
  type SimWorkload,
  type WorkloadKind,
} from './kubernetes-cluster.js';
import { hpaRoute } from './kubernetes-hpa.js';
import { eventList, podList } from './kubernetes-pods.js';
import { workloadCollection } from './kubernetes-watch.js';

const RESOURCE: Record<string, WorkloadKind> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
};
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

export function status(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): SimResponse {
  return json(code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

type RouteHandler = (c: ClusterState, req: RecordedRequest, m: RegExpExecArray) => SimResponse;

/** A route an installed operator adds for its custom resources (after authentication and RBAC). */
export interface CustomRoute {
  path: RegExp;
  handle: (req: RecordedRequest, m: RegExpExecArray) => SimResponse;
}

const customRoutes = new WeakMap<ClusterState, CustomRoute[]>();

/** Serve an operator's custom resources from now on, after the built-in routes. */
export function addCustomRoutes(c: ClusterState, routes: CustomRoute[]): void {
  customRoutes.set(c, [...(customRoutes.get(c) ?? []), ...routes]);
}

const ROUTES: { path: RegExp; handle: RouteHandler }[] = [
  {
    path: /^\/apis\/authorization\.k8s\.io\/v1\/selfsubjectaccessreviews$/,
    handle: (c, req) => selfSubjectAccessReview(c.rbac, req),
  },
  { path: /^\/apis\/velero\.io\/v1\/namespaces\/([^/]+)\/backups$/, handle: veleroBackups },
  {
    path: /^\/apis\/velero\.io\/v1\/namespaces\/([^/]+)\/backupstoragelocations(?:\/([^/]+))?$/,
    handle: (c, req, m) => veleroLocationsResponse(c.veleroLocations, req, m[1]!, m[2]),
  },
  { path: /^\/version$/, handle: version },
  {
    path: /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)$/,
    handle: workloadCollection,
  },
  {
    path: /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)(\/scale)?$/,
    handle: workload,
  },
  {
    path: /^\/apis\/autoscaling\/v2\/namespaces\/([^/]+)\/horizontalpodautoscalers(?:\/([^/]+))?$/,
    handle: hpaRoute,
  },
  { path: /^\/api\/v1\/namespaces\/([^/]+)\/pods$/, handle: podList },
  { path: /^\/api\/v1\/namespaces\/([^/]+)\/events$/, handle: eventList },
];

export function handleKubernetesRequest(c: ClusterState, req: RecordedRequest): SimResponse {
  if (req.headers.authorization !== `Bearer ${c.token}`)
    return status(401, 'Unauthorized', 'Unauthorized');
  const forbidden = authorize(c.rbac, req);
  if (forbidden) return forbidden;
  for (const route of ROUTES) {
    const m = route.path.exec(req.path);
    if (m) return route.handle(c, req, m);
  }
  for (const route of customRoutes.get(c) ?? []) {
    const m = route.path.exec(req.path);
    if (m) return route.handle(req, m);
  }
  return status(404, 'NotFound', 'the server could not find the requested resource');
}

function veleroBackups(c: ClusterState, req: RecordedRequest, m: RegExpExecArray): SimResponse {
  return req.method === 'GET'
    ? json(200, veleroBackupListJson(c, m[1]!))
    : status(405, 'MethodNotAllowed', `${req.method} is not supported on backups by the simulator`);
}

function version(): SimResponse {
  return json(200, {
    major: '1',
    minor: '30',
    gitVersion: 'v1.30.0-sim',
    gitCommit: 'sim',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.22',
    compiler: 'gc',
    platform: 'linux/amd64',
  });
}

/** A workload the request names, with the words its errors use. */
interface Target {
  w: SimWorkload;
  resource: string;
  name: string;
}

function workload(c: ClusterState, req: RecordedRequest, m: RegExpExecArray): SimResponse {
  const [, ns, resource, name, scale] = m;
  const w = c.workloads.get(workloadKey(RESOURCE[resource], ns, name));
  if (!w)
    return status(404, 'NotFound', `${resource}.apps "${name}" not found`, {
      name,
      group: 'apps',
      kind: resource,
    });
  if (!scale)
    return req.method === 'GET'
      ? json(200, workloadJson(c, w))
      : status(405, 'MethodNotAllowed', `${req.method} is not supported here by the simulator`);
  if (req.method === 'GET') return json(200, scaleJson(c, w));
  if (req.method === 'PUT' || req.method === 'PATCH')
    return writeScale(c, req, { w, resource, name });
  return status(405, 'MethodNotAllowed', `${req.method} is not supported`);
}

/** The replicas a PUT or PATCH of /scale asks for, or the answer refusing it. */
type ScaleRequest = { replicas: number | undefined } | { refused: SimResponse };

function writeScale(c: ClusterState, req: RecordedRequest, t: Target): SimResponse {
  let asked: ScaleRequest;
  try {
    asked = req.method === 'PUT' ? scalePut(req, t) : scalePatch(req);
  } catch (err) {
    return status(400, 'BadRequest', `invalid body: ${(err as Error).message}`);
  }
  if ('refused' in asked) return asked.refused;
  const { replicas } = asked;
  if (typeof replicas !== 'number' || replicas < 0)
    return status(
      422,
      'Invalid',
      `Scale.autoscaling "${t.name}" is invalid: spec.replicas: Invalid value`,
    );
  setReplicas(c, t.w, replicas);
  return json(200, scaleJson(c, t.w));
}

function scalePut(req: RecordedRequest, t: Target): ScaleRequest {
  const body = JSON.parse(req.body) as {
    metadata?: { resourceVersion?: string };
    spec?: { replicas?: number };
  };
  if (
    body.metadata?.resourceVersion &&
    body.metadata.resourceVersion !== String(t.w.resourceVersion)
  )
    return {
      refused: status(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.resource}.apps "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
      ),
    };
  return { replicas: body.spec?.replicas };
}

function scalePatch(req: RecordedRequest): ScaleRequest {
  const contentType = String(req.headers['content-type'] ?? '');
  // As the API server: a PATCH says which kind of patch its body is, or it is refused.
  if (!PATCH_TYPES.some((t) => contentType.startsWith(t)))
    return {
      refused: status(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
      ),
    };
  return { replicas: replicasFromPatch(req.body, contentType) };
}

function replicasFromPatch(body: string, contentType: string): number | undefined {
  const doc = JSON.parse(body) as unknown;
  if (contentType.startsWith('application/json-patch+json')) {
    const op = (doc as { op: string; path: string; value: unknown }[]).find(
      (o) => o.path === '/spec/replicas' && (o.op === 'replace' || o.op === 'add'),
    );
    return typeof op?.value === 'number' ? op.value : undefined;
  }
  const r = (doc as { spec?: { replicas?: unknown } }).spec?.replicas;
  return typeof r === 'number' ? r : undefined;
}
