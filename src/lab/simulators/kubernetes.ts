/**
 * Kubernetes API server simulator for one cluster: apps/v1 Deployments and StatefulSets (GET), their
 * /scale subresource (GET, PUT, PATCH with merge-, strategic-merge- or json-patch), and /version.
 * Ready replicas follow spec.replicas one pod every `podReadyMs`, so a client sees "2/6 ready"
 * on its way up; `stall(name)` keeps a workload from ever getting there. Requests need a bearer
 * token (the one in the kubeconfig it writes). Velero's Backup resources (velero.io/v1) can be
 * listed per namespace, so backup age can be read as from a real cluster.
 */
import { writeFile } from 'node:fs/promises';
import {
  json,
  startHttpSim,
  type HttpSim,
  type RecordedRequest,
  type SimResponse,
} from './http-sim.js';

type WorkloadKind = 'Deployment' | 'StatefulSet';

export interface SimWorkloadSpec {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  replicas: number;
}

interface SimWorkload extends SimWorkloadSpec {
  uid: string;
  generation: number;
  resourceVersion: number;
  /** Ready count when spec.replicas last changed, and when. */
  readyFrom: number;
  changedAt: number;
  stalled: boolean;
}

interface KubernetesSimOptions {
  port?: number;
  workloads?: SimWorkloadSpec[];
  /** Time for each pod to become ready (or go away). 0: immediately. */
  podReadyMs?: number;
  token?: string;
  /** Name used for cluster, user and context when writing a kubeconfig. */
  contextName?: string;
  /** velero.io/v1 Backup resources served in their namespace (list only). */
  veleroBackups?: SimVeleroBackup[];
}

interface SimVeleroBackup {
  namespace?: string;
  name: string;
  phase: 'New' | 'InProgress' | 'Completed' | 'PartiallyFailed' | 'Failed';
  /** When it finished (Completed, PartiallyFailed, Failed). */
  completedAt?: Date;
}

export interface KubernetesSim {
  readonly url: string;
  readonly token: string;
  readonly contextName: string;
  readonly requests: RecordedRequest[];
  workload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
  ): { replicas: number; readyReplicas: number } | undefined;
  /** This workload's pods never become ready (image pull failure, no capacity...). */
  stall(name: string, stalled?: boolean): void;
  /** Next `times` requests answer this Status (403 Forbidden, 429, 500...). */
  failNext(
    status: number,
    reason: string,
    message: string,
    opts?: { times?: number; method?: string },
  ): void;
  /** Next `times` requests get 429 TooManyRequests (API priority and fairness). */
  throttleNext(times: number): void;
  /** The kubeconfig text for this cluster (http, bearer token). */
  kubeconfig(): string;
  writeKubeconfig(path: string): Promise<void>;
  /** Replace the Velero Backup resources the cluster lists. */
  setVeleroBackups(backups: SimVeleroBackup[]): void;
  stop(): Promise<void>;
}

const RESOURCE: Record<string, WorkloadKind> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
};
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

function status(
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

/** A kubeconfig holding several clusters (one context each) in one file. */
export function kubeconfigFor(
  clusters: { name: string; url: string; token: string }[],
  current?: string,
): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    // client-node refuses plain http unless TLS verification is off; the simulators speak http.
    ...clusters.flatMap((c) => [
      `- name: ${q(c.name)}`,
      '  cluster:',
      `    server: ${q(c.url)}`,
      ...(c.url.startsWith('http:') ? ['    insecure-skip-tls-verify: true'] : []),
    ]),
    'users:',
    ...clusters.flatMap((c) => [`- name: ${q(c.name)}`, '  user:', `    token: ${q(c.token)}`]),
    'contexts:',
    ...clusters.flatMap((c) => [
      `- name: ${q(c.name)}`,
      '  context:',
      `    cluster: ${q(c.name)}`,
      `    user: ${q(c.name)}`,
    ]),
    `current-context: ${q(current ?? clusters[0]?.name ?? '')}`,
    '',
  ].join('\n');
}

export async function startKubernetesSimulator(
  opts: KubernetesSimOptions = {},
): Promise<KubernetesSim> {
  const token = opts.token ?? 'sim-token';
  const podReadyMs = opts.podReadyMs ?? 0;
  const contextName = opts.contextName ?? 'sim';
  let seq = 100;
  const workloads = new Map<string, SimWorkload>();
  const key = (kind: WorkloadKind, ns: string, name: string): string => `${kind}/${ns}/${name}`;
  for (const w of opts.workloads ?? []) {
    workloads.set(key(w.kind, w.namespace, w.name), {
      ...w,
      uid: `uid-${++seq}`,
      generation: 1,
      resourceVersion: ++seq,
      readyFrom: w.replicas,
      changedAt: 0,
      stalled: false,
    });
  }

  function ready(w: SimWorkload): number {
    if (w.stalled) return Math.min(w.readyFrom, w.replicas);
    if (podReadyMs <= 0) return w.replicas;
    const steps = Math.floor((Date.now() - w.changedAt) / podReadyMs);
    return w.readyFrom < w.replicas
      ? Math.min(w.replicas, w.readyFrom + steps)
      : Math.max(w.replicas, w.readyFrom - steps);
  }

  function setReplicas(w: SimWorkload, replicas: number): void {
    if (replicas === w.replicas) return;
    w.readyFrom = ready(w);
    w.changedAt = Date.now();
    w.replicas = replicas;
    w.generation += 1;
    w.resourceVersion = ++seq;
  }

  function meta(w: SimWorkload): Record<string, unknown> {
    return {
      name: w.name,
      namespace: w.namespace,
      uid: w.uid,
      generation: w.generation,
      resourceVersion: String(w.resourceVersion),
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: w.name },
    };
  }

  function workloadJson(w: SimWorkload): Record<string, unknown> {
    const r = ready(w);
    const current = Math.max(r, w.replicas);
    return {
      apiVersion: 'apps/v1',
      kind: w.kind,
      metadata: meta(w),
      spec: {
        replicas: w.replicas,
        selector: { matchLabels: { app: w.name } },
        ...(w.kind === 'StatefulSet' ? { serviceName: w.name } : {}),
        template: {
          metadata: { labels: { app: w.name } },
          spec: { containers: [{ name: w.name, image: `registry.example/${w.name}:1` }] },
        },
      },
      status: {
        observedGeneration: w.generation,
        replicas: current,
        readyReplicas: r,
        availableReplicas: r,
        updatedReplicas: current,
        ...(w.kind === 'StatefulSet' ? { currentReplicas: current } : {}),
      },
    };
  }

  function scaleJson(w: SimWorkload): Record<string, unknown> {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: meta(w),
      spec: { replicas: w.replicas },
      status: { replicas: Math.max(ready(w), w.replicas), selector: `app=${w.name}` },
    };
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

  let veleroBackups = opts.veleroBackups ?? [];
  function veleroList(ns: string): SimResponse {
    const items = veleroBackups
      .filter((b) => (b.namespace ?? 'velero') === ns)
      .map((b) => ({
        apiVersion: 'velero.io/v1',
        kind: 'Backup',
        metadata: {
          name: b.name,
          namespace: ns,
          uid: `uid-${b.name}`,
          resourceVersion: String(++seq),
        },
        spec: { includedNamespaces: ['*'], storageLocation: 'default', ttl: '720h0m0s' },
        status: {
          phase: b.phase,
          ...(b.completedAt
            ? { completionTimestamp: b.completedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') }
            : {}),
        },
      }));
    return json(200, {
      apiVersion: 'velero.io/v1',
      kind: 'BackupList',
      metadata: { resourceVersion: String(++seq) },
      items,
    });
  }

  function handle(req: RecordedRequest): SimResponse {
    if (req.headers.authorization !== `Bearer ${token}`)
      return status(401, 'Unauthorized', 'Unauthorized');
    const velero = /^\/apis\/velero\.io\/v1\/namespaces\/([^/]+)\/backups$/.exec(req.path);
    if (velero)
      return req.method === 'GET'
        ? veleroList(velero[1]!)
        : status(
            405,
            'MethodNotAllowed',
            `${req.method} is not supported on backups by the simulator`,
          );
    if (req.path === '/version')
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
    const m =
      /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)(\/scale)?$/.exec(
        req.path,
      );
    if (!m) return status(404, 'NotFound', 'the server could not find the requested resource');
    const [, ns, resource, name, scale] = m;
    const w = workloads.get(key(RESOURCE[resource], ns, name));
    if (!w)
      return status(404, 'NotFound', `${resource}.apps "${name}" not found`, {
        name,
        group: 'apps',
        kind: resource,
      });
    if (!scale)
      return req.method === 'GET'
        ? json(200, workloadJson(w))
        : status(405, 'MethodNotAllowed', `${req.method} is not supported here by the simulator`);
    if (req.method === 'GET') return json(200, scaleJson(w));
    if (req.method === 'PUT' || req.method === 'PATCH') {
      let replicas: number | undefined;
      try {
        if (req.method === 'PUT') {
          const body = JSON.parse(req.body) as {
            metadata?: { resourceVersion?: string };
            spec?: { replicas?: number };
          };
          if (
            body.metadata?.resourceVersion &&
            body.metadata.resourceVersion !== String(w.resourceVersion)
          )
            return status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${resource}.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            );
          replicas = body.spec?.replicas;
        } else {
          const contentType = String(req.headers['content-type'] ?? '');
          // As the API server: a PATCH says which kind of patch its body is, or it is refused.
          if (!PATCH_TYPES.some((t) => contentType.startsWith(t)))
            return status(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
            );
          replicas = replicasFromPatch(req.body, contentType);
        }
      } catch (err) {
        return status(400, 'BadRequest', `invalid body: ${(err as Error).message}`);
      }
      if (typeof replicas !== 'number' || replicas < 0)
        return status(
          422,
          'Invalid',
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value`,
        );
      setReplicas(w, replicas);
      return json(200, scaleJson(w));
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not supported`);
  }

  const http: HttpSim = await startHttpSim(handle, { port: opts.port });
  const sim: KubernetesSim = {
    url: http.url,
    token,
    contextName,
    requests: http.requests,
    workload(kind, namespace, name) {
      const w = workloads.get(key(kind, namespace, name));
      return w ? { replicas: w.replicas, readyReplicas: ready(w) } : undefined;
    },
    stall(name, stalled = true) {
      for (const w of workloads.values()) {
        if (w.name !== name) continue;
        w.readyFrom = ready(w);
        w.changedAt = Date.now();
        w.stalled = stalled;
      }
    },
    failNext(code, reason, message, { times = 1, method } = {}) {
      http.inject({
        response: status(code, reason, message),
        times,
        match: method ? (r) => r.method === method : undefined,
      });
    },
    throttleNext(times) {
      const r = status(429, 'TooManyRequests', 'Too many requests, please try again later.', {
        retryAfterSeconds: 1,
      });
      http.inject({ response: { ...r, headers: { ...r.headers, 'retry-after': '1' } }, times });
    },
    kubeconfig: () => kubeconfigFor([{ name: contextName, url: http.url, token }]),
    writeKubeconfig: (path) => writeFile(path, sim.kubeconfig(), { mode: 0o600 }),
    setVeleroBackups(backups) {
      veleroBackups = [...backups];
    },
    stop: () => http.close(),
  };
  return sim;
}
