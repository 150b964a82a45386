/**
 * The Kubernetes simulator's one cluster: its Deployments and StatefulSets (ready replicas follow
 * spec.replicas one pod every `podReadyMs`, unless stalled or crash-looping), its autoscalers, its
 * Velero backups, and the apps/v1 JSON a client reads for them.
 *
 * Rollouts as the workload controllers report them ("Deployments", kubernetes.io/docs/concepts/
 * workloads/controllers/deployment/):
 * - status.observedGeneration trails metadata.generation until the controller has seen a spec
 *   change (`observeLagMs` later here); until then status is the one of the old spec.
 * - A pod template change ("Updating a Deployment") replaces the pods one at a time:
 *   status.updatedReplicas climbs to spec.replicas while the old pods keep serving.
 * - "Failed Deployment": pods that never get ready (here crash-looping ones) leave the rollout
 *   without progress; after spec.progressDeadlineSeconds the Progressing condition turns False
 *   with reason ProgressDeadlineExceeded.
 * - StatefulSets ("Rolling Updates", kubernetes.io/docs/concepts/workloads/controllers/
 *   statefulset/#rolling-updates): with a partition, pods with an ordinal below it keep the old
 *   revision (and are recreated at it); with OnDelete the controller replaces no pod itself, only
 *   new ones get the new revision. status.updatedReplicas counts the new-revision pods only.
 */
import { createRbac, type RbacMode, type SimRbac } from './kubernetes-rbac.js';
import type { SimBackupStorageLocation } from './kubernetes-velero.js';
export type WorkloadKind = 'Deployment' | 'StatefulSet';

export interface SimWorkloadSpec {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  replicas: number;
  /** StatefulSets: spec.updateStrategy (the API's default: RollingUpdate, partition 0). */
  updateStrategy?: { type: 'RollingUpdate'; partition?: number } | { type: 'OnDelete' };
}

export interface SimWorkload extends SimWorkloadSpec {
  uid: string;
  generation: number;
  resourceVersion: number;
  /** Ready count when spec.replicas last changed, and when. */
  readyFrom: number;
  changedAt: number;
  /**
   * Pods that became ready (or went away) since the change: one per fired timer, so each watch
   * event carries its own count even when a busy event loop fires several timers at once.
   */
  stepsDone: number;
  stalled: boolean;
  /** New pods crash on start (CrashLoopBackOff) and never get ready. */
  crashLoop: boolean;
  /** The generation and replica count the controller has acted on. */
  observedGeneration: number;
  observedReplicas: number;
  /** Pod template revision; a rollout is under way while some pods run an older one. */
  template: number;
  /** Pods of the current template during a rollout (undefined: none under way). */
  updatedDone?: number;
  /** Pods the StatefulSet controller keeps at an older revision (partition, OnDelete). */
  held?: number;
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
  /** How long the controllers take to observe a spec change (0: at once). */
  observeLagMs: number;
  /** spec.progressDeadlineSeconds of every Deployment, in ms (Kubernetes' default: 600 s). */
  readonly progressDeadlineMs: number;
  /** Events recorded by the controllers, newest last (core/v1 Event). */
  readonly events: SimEvent[];
  /** HorizontalPodAutoscalers (autoscaling/v2), keyed namespace/name. */
  readonly hpas: Map<string, SimHpa>;
  /** The autoscaler's sync period (--horizontal-pod-autoscaler-sync-period, 15 s by default). */
  readonly hpaSyncMs: number;
  /** What the token may do: every request and SelfSubjectAccessReview is judged by it. */
  rbac: SimRbac;
}

export interface SimEvent {
  namespace: string;
  kind: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  at: number;
}

export interface SimHpaSpec {
  namespace: string;
  name: string;
  target: { kind: WorkloadKind; name: string };
  minReplicas: number;
  maxReplicas: number;
  /** The count its metrics ask for (an idle service: minReplicas, the default). */
  metricsReplicas?: number;
}

export interface SimHpa extends SimHpaSpec {
  uid: string;
  generation: number;
  resourceVersion: number;
  annotations: Record<string, string>;
  metricsReplicas: number;
}

export const workloadKey = (kind: WorkloadKind, ns: string, name: string): string =>
  `${kind}/${ns}/${name}`;

export function createClusterState(opts: {
  token: string;
  podReadyMs: number;
  workloads?: SimWorkloadSpec[];
  veleroBackups?: SimVeleroBackup[];
  veleroLocations?: SimBackupStorageLocation[];
  observeLagMs?: number;
  progressDeadlineMs?: number;
  hpaSyncMs?: number;
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
    observeLagMs: opts.observeLagMs ?? 0,
    progressDeadlineMs: opts.progressDeadlineMs ?? 600_000,
    events: [],
    hpas: new Map(),
    hpaSyncMs: opts.hpaSyncMs ?? 0,
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
      crashLoop: false,
      observedGeneration: 1,
      observedReplicas: w.replicas,
      template: 1,
    });
  }
  return c;
}

export function ready(c: ClusterState, w: SimWorkload): number {
  const want = w.observedReplicas;
  if (w.stalled || w.crashLoop) return Math.min(w.readyFrom, want);
  if (c.podReadyMs <= 0) return want;
  return w.readyFrom < want
    ? Math.min(want, w.readyFrom + w.stepsDone)
    : Math.max(want, w.readyFrom - w.stepsDone);
}

export function setReplicas(c: ClusterState, w: SimWorkload, replicas: number): void {
  if (replicas === w.replicas) return;
  w.replicas = replicas;
  changeSpec(c, w);
}

/** A pod template change (`kubectl set image`, a deploy): the pods are replaced one at a time. */
export function rolloutWorkload(c: ClusterState, name: string): void {
  for (const w of c.workloads.values()) {
    if (w.name !== name) continue;
    w.template += 1;
    changeSpec(c, w);
  }
}

/** The template the running pods were made from, as the pod-template-hash label shows it. */
export const templateHash = (w: SimWorkload, template = w.template): string =>
  `${w.name.length.toString(16)}c${(template * 7919).toString(16)}f5d`;

function changeSpec(c: ClusterState, w: SimWorkload): void {
  w.generation += 1;
  w.resourceVersion = ++c.seq;
  notify(c, w);
  if (c.observeLagMs <= 0) return observeSpec(c, w);
  const timer = setTimeout(() => {
    c.timers.delete(timer);
    observeSpec(c, w);
  }, c.observeLagMs);
  c.timers.add(timer);
}

/** The controller acts on the latest spec: pods start (or go), status says so from now on. */
function observeSpec(c: ClusterState, w: SimWorkload): void {
  if (w.observedGeneration === w.generation) return;
  w.readyFrom = ready(c, w);
  w.changedAt = Date.now();
  w.stepsDone = 0;
  if (w.observedReplicas !== w.replicas) recordScaling(c, w, w.observedReplicas, w.replicas);
  // A template the controller has not rolled out yet: its pods get replaced, one at a time.
  if ((rolledOut.get(w) ?? 1) !== w.template) {
    rolledOut.set(w, w.template);
    const strategy = w.kind === 'StatefulSet' ? w.updateStrategy : undefined;
    // OnDelete: the pods there now stay as they are; partition: those below it.
    if (strategy?.type === 'OnDelete') w.held = w.observedReplicas;
    else w.held = strategy?.partition || undefined;
    w.updatedDone = strategy?.type === 'OnDelete' ? undefined : 0;
  }
  w.observedReplicas = w.replicas;
  w.observedGeneration = w.generation;
  w.resourceVersion = ++c.seq;
  notify(c, w);
  scheduleReadiness(c, w);
}

/** The template each workload's controller last started a rollout to. */
const rolledOut = new WeakMap<SimWorkload, number>();

function recordScaling(c: ClusterState, w: SimWorkload, from: number, to: number): void {
  const up = to > from;
  const event = (message: string): void => {
    c.events.push({
      namespace: w.namespace,
      kind: w.kind,
      name: w.name,
      type: 'Normal',
      reason: up ? 'SuccessfulCreate' : 'SuccessfulDelete',
      message,
      at: Date.now(),
    });
  };
  if (w.kind === 'Deployment')
    c.events.push({
      namespace: w.namespace,
      kind: w.kind,
      name: w.name,
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: `Scaled ${up ? 'up' : 'down'} replica set ${w.name}-${templateHash(w)} from ${from} to ${to}`,
      at: Date.now(),
    });
  else
    for (let i = Math.min(from, to); i < Math.max(from, to); i++)
      event(`${up ? 'create' : 'delete'} Pod ${w.name}-${i} in StatefulSet ${w.name} successful`);
  c.events.splice(0, Math.max(0, c.events.length - 200));
}

/** The current readiness schedule of each workload; an older one's timers do nothing. */
const schedules = new WeakMap<SimWorkload, object>();

function notify(c: ClusterState, w: SimWorkload): void {
  for (const listener of c.listeners) listener(w);
}

/** Pods of the current template during a rollout (crash-looping ones start and fail: one surge pod). */
export function updated(w: SimWorkload, current: number): number {
  if (w.updatedDone === undefined) return current;
  return w.crashLoop || w.stalled ? Math.min(1, w.observedReplicas) : w.updatedDone;
}

/** status.updatedReplicas: the pods at the newest revision, without those held back. */
const updatedReplicas = (w: SimWorkload, current: number): number =>
  Math.max(0, updated(w, current) - Math.min(w.held ?? 0, w.observedReplicas));

/** The rollout has finished: every pod ready, of the current template, none left over. */
function complete(c: ClusterState, w: SimWorkload): boolean {
  const r = ready(c, w);
  return (
    w.observedGeneration === w.generation &&
    w.updatedDone === undefined &&
    r >= w.observedReplicas &&
    r <= w.observedReplicas
  );
}

/** "Failed Deployment": no progress for progressDeadlineSeconds since the last change. */
function deadlineExceeded(c: ClusterState, w: SimWorkload): boolean {
  return (
    (w.stalled || w.crashLoop) &&
    !complete(c, w) &&
    Date.now() - w.changedAt >= c.progressDeadlineMs
  );
}

/**
 * A pod becoming ready (or going away), or replaced by one of the new template, changes the
 * workload's status, so, as on a real cluster, its resourceVersion moves and watches see a
 * MODIFIED event at that moment. A stuck rollout changes once more, at its progress deadline.
 */
function scheduleReadiness(c: ClusterState, w: SimWorkload): void {
  const epoch = {};
  schedules.set(w, epoch);
  const at = (ms: number, fn: () => void): void => {
    const timer = setTimeout(
      () => {
        c.timers.delete(timer);
        // A later change or a stall replaced this schedule.
        if (schedules.get(w) !== epoch) return;
        fn();
        w.resourceVersion = ++c.seq;
        notify(c, w);
      },
      Math.max(0, w.changedAt + ms - Date.now()),
    );
    c.timers.add(timer);
  };
  if (w.stalled || w.crashLoop) {
    if (w.kind === 'Deployment' && !complete(c, w)) at(c.progressDeadlineMs, () => {});
    return;
  }
  const steps = Math.abs(w.observedReplicas - w.readyFrom);
  if (c.podReadyMs <= 0) {
    w.updatedDone = undefined;
    return;
  }
  for (let k = 1; k <= steps; k++)
    at(k * c.podReadyMs, () => (w.stepsDone = Math.max(w.stepsDone, k)));
  if (w.updatedDone === undefined) return;
  const from = w.updatedDone;
  for (let k = from + 1; k <= w.observedReplicas; k++)
    at((steps + k - from) * c.podReadyMs, () => {
      w.updatedDone = k >= w.observedReplicas ? undefined : k;
    });
}

/** Every workload of that name stops (true) or resumes (false) getting pods ready. */
export function stallWorkload(c: ClusterState, name: string, stalled: boolean): void {
  failPods(c, name, (w) => (w.stalled = stalled));
}

/** Every workload of that name gets (or stops getting) pods that crash on start. */
export function crashLoopWorkload(c: ClusterState, name: string, crash: boolean): void {
  failPods(c, name, (w) => (w.crashLoop = crash));
}

function failPods(c: ClusterState, name: string, set: (w: SimWorkload) => void): void {
  for (const w of c.workloads.values()) {
    if (w.name !== name) continue;
    w.readyFrom = ready(c, w);
    w.changedAt = Date.now();
    w.stepsDone = 0;
    set(w);
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
  const surge = w.updatedDone !== undefined && (w.crashLoop || w.stalled) ? 1 : 0;
  const current = Math.max(r, w.observedReplicas) + surge;
  return {
    apiVersion: 'apps/v1',
    kind: w.kind,
    metadata: meta(w),
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: { app: w.name } },
      ...(w.kind === 'StatefulSet'
        ? {
            serviceName: w.name,
            updateStrategy:
              w.updateStrategy?.type === 'OnDelete'
                ? { type: 'OnDelete' }
                : {
                    type: 'RollingUpdate',
                    rollingUpdate: { partition: w.updateStrategy?.partition ?? 0 },
                  },
          }
        : { progressDeadlineSeconds: c.progressDeadlineMs / 1000 }),
      template: {
        metadata: { labels: { app: w.name } },
        spec: {
          containers: [{ name: w.name, image: `registry.example/${w.name}:${w.template}` }],
        },
      },
    },
    status: {
      observedGeneration: w.observedGeneration,
      replicas: current,
      readyReplicas: r,
      availableReplicas: r,
      updatedReplicas: updatedReplicas(w, current),
      ...(w.kind === 'StatefulSet'
        ? {
            currentReplicas: w.held ? current - updatedReplicas(w, current) : current,
            currentRevision: `${w.name}-${templateHash(w, w.held ? w.template - 1 : w.template)}`,
            updateRevision: `${w.name}-${templateHash(w)}`,
          }
        : { conditions: [progressing(c, w)] }),
    },
  };
}

/** The Deployment's Progressing condition, with the reasons the deployment controller uses. */
function progressing(c: ClusterState, w: SimWorkload): Record<string, unknown> {
  const rs = `ReplicaSet "${w.name}-${templateHash(w)}"`;
  const [status, reason, message] = deadlineExceeded(c, w)
    ? ['False', 'ProgressDeadlineExceeded', `${rs} has timed out progressing.`]
    : complete(c, w)
      ? ['True', 'NewReplicaSetAvailable', `${rs} has successfully progressed.`]
      : ['True', 'ReplicaSetUpdated', `${rs} is progressing.`];
  const at = new Date(w.changedAt || Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    type: 'Progressing',
    status,
    reason,
    message,
    lastUpdateTime: at,
    lastTransitionTime: at,
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
