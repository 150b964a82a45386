/**
 * The Kubernetes simulator's one cluster: its Deployments and StatefulSets (ready replicas follow
 * spec.replicas one pod every `podReadyMs`, unless stalled), its Velero backups, and the apps/v1
 * JSON a client reads for them.
 */
import { createRbac, type RbacMode, type SimRbac } from './kubernetes-rbac.js';
import type { SimBackupStorageLocation } from './kubernetes-velero.js';
export type WorkloadKind = 'Deployment' | 'StatefulSet';

export interface SimWorkloadSpec {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  replicas: number;
}

export interface SimWorkload extends SimWorkloadSpec {
  uid: string;
  generation: number;
  resourceVersion: number;
  /** Ready count when spec.replicas last changed, and when. */
  readyFrom: number;
  changedAt: number;
  /**
   * Readiness steps whose timers have fired. Node can fire a timer a millisecond before the
   * wall clock says it is due, so the clock alone could report one pod short at the last event.
   */
  stepsDone: number;
  stalled: boolean;
}

export interface SimVeleroBackup {
  namespace?: string;
  name: string;
  phase: 'New' | 'InProgress' | 'Completed' | 'PartiallyFailed' | 'Failed';
  /** When it finished (Completed, PartiallyFailed, Failed). */
  completedAt?: Date;
  /** The Schedule that made it (label velero.io/schedule-name). */
  schedule?: string;
  /** spec.storageLocation (default "default"). */
  storageLocation?: string;
}

export interface ClusterState {
  readonly token: string;
  /** Time for each pod to become ready (or go away). 0: immediately. */
  readonly podReadyMs: number;
  /** Source of uids and resourceVersions. */
  seq: number;
  readonly workloads: Map<string, SimWorkload>;
  veleroBackups: SimVeleroBackup[];
  /** Told of every change of a workload (spec or readiness): the watches. */
  readonly listeners: Set<(w: SimWorkload) => void>;
  /** Pending readiness changes, cleared when the simulator stops. */
  readonly timers: Set<NodeJS.Timeout>;
  /** The oldest resourceVersion a watch can start from (the simulator keeps no older history). */
  readonly firstSeq: number;
  veleroLocations: SimBackupStorageLocation[];
  /** What the token may do: every request and SelfSubjectAccessReview is judged by it. */
  rbac: SimRbac;
}

export const workloadKey = (kind: WorkloadKind, ns: string, name: string): string =>
  `${kind}/${ns}/${name}`;

export function createClusterState(opts: {
  token: string;
  podReadyMs: number;
  workloads?: SimWorkloadSpec[];
  veleroBackups?: SimVeleroBackup[];
  veleroLocations?: SimBackupStorageLocation[];
  rbac?: RbacMode;
}): ClusterState {
  const c: ClusterState = {
    token: opts.token,
    podReadyMs: opts.podReadyMs,
    seq: 100,
    workloads: new Map(),
    veleroBackups: opts.veleroBackups ?? [],
    listeners: new Set(),
    timers: new Set(),
    firstSeq: 100,
    veleroLocations: opts.veleroLocations ?? [],
    rbac: createRbac(opts.rbac ?? 'admin'),
  };
  for (const w of opts.workloads ?? []) {
    c.workloads.set(workloadKey(w.kind, w.namespace, w.name), {
      ...w,
      uid: `uid-${++c.seq}`,
      generation: 1,
      resourceVersion: ++c.seq,
      readyFrom: w.replicas,
      changedAt: 0,
      stepsDone: 0,
      stalled: false,
    });
  }
  return c;
}

export function ready(c: ClusterState, w: SimWorkload): number {
  if (w.stalled) return Math.min(w.readyFrom, w.replicas);
  if (c.podReadyMs <= 0) return w.replicas;
  const steps = Math.max(w.stepsDone, Math.floor((Date.now() - w.changedAt) / c.podReadyMs));
  return w.readyFrom < w.replicas
    ? Math.min(w.replicas, w.readyFrom + steps)
    : Math.max(w.replicas, w.readyFrom - steps);
}

export function setReplicas(c: ClusterState, w: SimWorkload, replicas: number): void {
  if (replicas === w.replicas) return;
  w.readyFrom = ready(c, w);
  w.changedAt = Date.now();
  w.stepsDone = 0;
  w.replicas = replicas;
  w.generation += 1;
  w.resourceVersion = ++c.seq;
  notify(c, w);
  scheduleReadiness(c, w);
}

/** The current readiness schedule of each workload; an older one's timers do nothing. */
const schedules = new WeakMap<SimWorkload, object>();

function notify(c: ClusterState, w: SimWorkload): void {
  for (const listener of c.listeners) listener(w);
}

/**
 * A pod becoming ready (or going away) changes the workload's status, so, as on a real cluster,
 * its resourceVersion moves and watches see a MODIFIED event at that moment.
 */
function scheduleReadiness(c: ClusterState, w: SimWorkload): void {
  const epoch = {};
  schedules.set(w, epoch);
  if (c.podReadyMs <= 0 || w.stalled) return;
  const since = w.changedAt;
  const steps = Math.abs(w.replicas - w.readyFrom);
  for (let k = 1; k <= steps; k++) {
    const timer = setTimeout(
      () => {
        c.timers.delete(timer);
        // A later change or a stall replaced this schedule.
        if (schedules.get(w) !== epoch) return;
        w.stepsDone = Math.max(w.stepsDone, k);
        w.resourceVersion = ++c.seq;
        notify(c, w);
      },
      Math.max(0, since + k * c.podReadyMs - Date.now()),
    );
    c.timers.add(timer);
  }
}

/** Every workload of that name stops (true) or resumes (false) getting pods ready. */
export function stallWorkload(c: ClusterState, name: string, stalled: boolean): void {
  for (const w of c.workloads.values()) {
    if (w.name !== name) continue;
    w.readyFrom = ready(c, w);
    w.changedAt = Date.now();
    w.stepsDone = 0;
    w.stalled = stalled;
    scheduleReadiness(c, w);
  }
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

export function workloadJson(c: ClusterState, w: SimWorkload): Record<string, unknown> {
  const r = ready(c, w);
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

export function scaleJson(c: ClusterState, w: SimWorkload): Record<string, unknown> {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: meta(w),
    spec: { replicas: w.replicas },
    status: { replicas: Math.max(ready(c, w), w.replicas), selector: `app=${w.name}` },
  };
}

export function veleroBackupListJson(c: ClusterState, ns: string): Record<string, unknown> {
  const items = c.veleroBackups
    .filter((b) => (b.namespace ?? 'velero') === ns)
    .map((b) => ({
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: {
        name: b.name,
        namespace: ns,
        uid: `uid-${b.name}`,
        resourceVersion: String(++c.seq),
        // Velero labels a backup with its location, and with its Schedule when one made it.
        labels: {
          'velero.io/storage-location': b.storageLocation ?? 'default',
          ...(b.schedule ? { 'velero.io/schedule-name': b.schedule } : {}),
        },
      },
      spec: {
        includedNamespaces: ['*'],
        storageLocation: b.storageLocation ?? 'default',
        ttl: '720h0m0s',
      },
      status: {
        phase: b.phase,
        ...(b.completedAt
          ? { completionTimestamp: b.completedAt.toISOString().replace(/\.\d{3}Z$/, 'Z') }
          : {}),
      },
    }));
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupList',
    metadata: { resourceVersion: String(++c.seq) },
    items,
  };
}
