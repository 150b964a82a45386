/**
 * Kubernetes API server simulator for one cluster: apps/v1 Deployments and StatefulSets (GET), their
 * /scale subresource (GET, PUT, PATCH with merge-, strategic-merge- or json-patch), and /version.
 * Ready replicas follow spec.replicas one pod every `podReadyMs`, so a client sees "2/6 ready"
 * on its way up; `stall(name)` keeps a workload from ever getting there, `crashLoop(name)` makes
 * its new pods crash. HorizontalPodAutoscalers reset their target's count at each sync; pods and
 * events say why pods are not ready. Requests need a bearer
 * token (the one in the kubeconfig it writes). Velero's Backup resources (velero.io/v1) can be
 * listed per namespace, so backup age can be read as from a real cluster.
 */
import { writeFile } from 'node:fs/promises';
import { startHttpSim, type HttpSim, type RecordedRequest } from './http-sim.js';
import {
  addCustomRoutes,
  handleKubernetesRequest,
  status,
  type CustomRoute,
} from './kubernetes-api.js';
import { createRbac, revokeRule, type RbacMode } from './kubernetes-rbac.js';
import type { SimBackupStorageLocation } from './kubernetes-velero.js';
import { addHpas, hpaJson, setHpaLoad } from './kubernetes-hpa.js';
import {
  createClusterState,
  crashLoopWorkload,
  ready,
  rolloutWorkload,
  stallWorkload,
  workloadJson,
  workloadKey,
  type ClusterState,
  type SimHpaSpec,
  type SimVeleroBackup,
  type SimWorkloadSpec,
  type WorkloadKind,
} from './kubernetes-cluster.js';

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
  /** velero.io/v1 BackupStorageLocations (get and list). */
  veleroLocations?: SimBackupStorageLocation[];
  /** autoscaling/v2 HorizontalPodAutoscalers, reconciled every `hpaSyncMs` (default 0: at once). */
  hpas?: SimHpaSpec[];
  hpaSyncMs?: number;
  /** spec.progressDeadlineSeconds of the Deployments, in ms (default 600 000, Kubernetes'). */
  progressDeadlineMs?: number;
  /**
   * What the token may do: `admin` (default) everything; `dr-bot` the Roles of
   * deploy/permissions/kubernetes-rbac.yaml, as the lab's bot identity.
   */
  rbac?: RbacMode;
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
  /** This workload's pods never become ready (no node has room: Pending, Unschedulable). */
  stall(name: string, stalled?: boolean): void;
  /** This workload's new pods crash on start (CrashLoopBackOff) and never become ready. */
  crashLoop(name: string, crashing?: boolean): void;
  /** A pod template change (a deploy): the pods are replaced one by one. */
  rollout(name: string): void;
  /** From now on the controllers observe a spec change only this long after it. */
  observeLag(ms: number): void;
  /** The workload as the API serves it (metadata and status included). */
  object(kind: WorkloadKind, namespace: string, name: string): Record<string, unknown> | undefined;
  /** The HorizontalPodAutoscaler as the API serves it. */
  hpa(namespace: string, name: string): Record<string, unknown> | undefined;
  /** Puts an autoscaler in front of a workload, as `kubectl autoscale` does; one of that name is refused. */
  addHpa(spec: SimHpaSpec): void;
  /** The count the autoscaler's metrics ask for from now on (its load). */
  setHpaLoad(namespace: string, name: string, replicas: number): void;
  /** Next `times` requests answer this Status (403 Forbidden, 429, 500...). */
  failNext(
    status: number,
    reason: string,
    message: string,
    opts?: { times?: number; method?: string; watch?: boolean },
  ): void;
  /** Next `times` requests get 429 TooManyRequests (API priority and fairness). */
  throttleNext(times: number): void;
  /** The kubeconfig text for this cluster (http, bearer token). */
  kubeconfig(): string;
  writeKubeconfig(path: string): Promise<void>;
  /** Take `verb` on `resource` ("deployments/scale") out of the token's Roles, as an operator might. */
  revoke(verb: string, resource: string): void;
  /** The token's Roles as deploy/permissions/kubernetes-rbac.yaml gives them again. */
  restoreRbac(): void;
  /** An operator's custom resources from now on (as installing its CRDs and controller would). */
  addRoutes(routes: CustomRoute[]): void;
  /** Replace the Velero Backup resources the cluster lists. */
  setVeleroBackups(backups: SimVeleroBackup[]): void;
  /** Replace the BackupStorageLocations the cluster serves. */
  setVeleroLocations(locations: SimBackupStorageLocation[]): void;
  stop(): Promise<void>;
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
  const c = createClusterState({
    token: opts.token ?? 'sim-token',
    podReadyMs: opts.podReadyMs ?? 0,
    workloads: opts.workloads,
    veleroBackups: opts.veleroBackups,
    veleroLocations: opts.veleroLocations,
    hpaSyncMs: opts.hpaSyncMs,
    progressDeadlineMs: opts.progressDeadlineMs,
    rbac: opts.rbac,
  });
  addHpas(c, opts.hpas ?? []);
  const http: HttpSim = await startHttpSim((req) => handleKubernetesRequest(c, req), {
    port: opts.port,
  });
  return kubernetesSim(c, http, opts.contextName ?? 'sim');
}

/** The simulator's handle: where it listens, and the levers a test pulls. */
function kubernetesSim(c: ClusterState, http: HttpSim, contextName: string): KubernetesSim {
  const { token } = c;
  const sim: KubernetesSim = {
    url: http.url,
    token,
    contextName,
    requests: http.requests,
    workload(kind, namespace, name) {
      const w = c.workloads.get(workloadKey(kind, namespace, name));
      return w ? { replicas: w.replicas, readyReplicas: ready(c, w) } : undefined;
    },
    stall: (name, stalled = true) => stallWorkload(c, name, stalled),
    crashLoop: (name, crashing = true) => crashLoopWorkload(c, name, crashing),
    rollout: (name) => rolloutWorkload(c, name),
    observeLag(ms) {
      c.observeLagMs = ms;
    },
    object(kind, namespace, name) {
      const w = c.workloads.get(workloadKey(kind, namespace, name));
      return w ? workloadJson(c, w) : undefined;
    },
    hpa(namespace, name) {
      const h = c.hpas.get(`${namespace}/${name}`);
      return h ? hpaJson(c, h) : undefined;
    },
    addHpa(spec) {
      if (c.hpas.has(`${spec.namespace}/${spec.name}`))
        throw new Error(`HorizontalPodAutoscaler ${spec.namespace}/${spec.name} already exists`);
      addHpas(c, [spec]);
    },
    setHpaLoad: (namespace, name, replicas) => setHpaLoad(c, namespace, name, replicas),
    failNext(code, reason, message, { times = 1, method, watch } = {}) {
      const isWatch = (r: RecordedRequest): boolean => r.query.watch === 'true';
      http.inject({
        response: status(code, reason, message),
        times,
        match: (r) =>
          (!method || r.method === method) && (watch === undefined || isWatch(r) === watch),
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
    revoke: (verb, resource) => revokeRule(c.rbac, verb, resource),
    restoreRbac() {
      c.rbac = createRbac(c.rbac.mode);
    },
    addRoutes: (routes) => addCustomRoutes(c, routes),
    setVeleroBackups(backups) {
      c.veleroBackups = [...backups];
    },
    setVeleroLocations(locations) {
      c.veleroLocations = [...locations];
    },
    stop: () => {
      for (const timer of c.timers) clearTimeout(timer);
      c.timers.clear();
      return http.close();
    },
  };
  return sim;
}
