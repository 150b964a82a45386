/**
 * The Kubernetes simulator's core/v1 pods and events, made from each workload's state so a client
 * sees why pods are not ready, as on a real cluster:
 * - "Pod Lifecycle" (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/): a container
 *   that keeps failing is `waiting` with reason CrashLoopBackOff, its restartCount climbing and
 *   its lastState `terminated`; a pod no node can take stays Pending with condition PodScheduled
 *   False, reason Unschedulable; one still starting waits in ContainerCreating.
 * - The kubelet records a Warning event BackOff ("Back-off restarting failed container") for a
 *   crash-looping pod, the scheduler FailedScheduling for an unschedulable one.
 * - "Labels and Selectors": list filters by an equality-based labelSelector (`app=api,tier=web`);
 *   set-based selectors are refused here with 400.
 */
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import {
  ready,
  templateHash,
  updated,
  type ClusterState,
  type SimEvent,
  type SimWorkload,
} from './kubernetes-cluster.js';

interface SimPod {
  w: SimWorkload;
  name: string;
  template: number;
  ready: boolean;
}

const UNSCHEDULABLE =
  '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';

function failure(code: number, reason: string, message: string): SimResponse {
  return json(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The pods a workload runs now: the ready ones first; during a rollout, the new template's. */
function podsOf(c: ClusterState, w: SimWorkload): SimPod[] {
  const r = ready(c, w);
  const surge = w.updatedDone !== undefined && (w.crashLoop || w.stalled) ? 1 : 0;
  const current = Math.max(r, w.observedReplicas) + surge;
  const fresh = updated(w, current);
  const failing = w.crashLoop || w.stalled;
  return Array.from({ length: current }, (_, i) => {
    // During a rollout the first pods are the new template's (failing ones never ready).
    const isNew = w.updatedDone === undefined || i < fresh;
    const template = isNew ? w.template : w.template - 1;
    const name =
      w.kind === 'StatefulSet'
        ? `${w.name}-${i}`
        : `${w.name}-${templateHash(w, template)}-${(0x1f2a3 + i * 7741).toString(36).slice(-5)}`;
    const isReady = w.updatedDone === undefined ? i < r : !isNew || !failing;
    return { w, name, template, ready: isReady };
  });
}

function podJson(c: ClusterState, p: SimPod): Record<string, unknown> {
  const { w } = p;
  const since = w.changedAt || Date.now();
  const crash = !p.ready && w.crashLoop;
  const unschedulable = !p.ready && !crash && w.stalled;
  const waiting = crash
    ? {
        reason: 'CrashLoopBackOff',
        message: `back-off 40s restarting failed container=${w.name} pod=${p.name}_${w.namespace}(uid-${p.name})`,
      }
    : { reason: 'ContainerCreating' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: w.namespace,
      uid: `uid-${p.name}`,
      labels: { app: w.name, 'pod-template-hash': templateHash(w, p.template) },
      ownerReferences: [
        w.kind === 'StatefulSet'
          ? { apiVersion: 'apps/v1', kind: 'StatefulSet', name: w.name, uid: w.uid }
          : {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: `${w.name}-${templateHash(w, p.template)}`,
            },
      ],
    },
    spec: { containers: [{ name: w.name, image: `registry.example/${w.name}:${p.template}` }] },
    status: {
      phase: p.ready || crash ? 'Running' : 'Pending',
      conditions: [
        unschedulable
          ? {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: UNSCHEDULABLE,
            }
          : { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: p.ready ? 'True' : 'False' },
      ],
      ...(unschedulable
        ? {}
        : {
            containerStatuses: [
              {
                name: w.name,
                ready: p.ready,
                restartCount: crash ? 1 + Math.floor((Date.now() - since) / 2000) : 0,
                state: p.ready ? { running: { startedAt: stamp(since) } } : { waiting },
                ...(crash
                  ? {
                      lastState: {
                        terminated: { reason: 'Error', exitCode: 1, finishedAt: stamp(Date.now()) },
                      },
                    }
                  : {}),
              },
            ],
          }),
    },
  };
}

/** `app=api,tier=web` (or `==`); anything else is refused. */
function labelMatcher(
  selector: string | undefined,
): ((l: Record<string, string>) => boolean) | string {
  const terms = (selector ?? '').split(',').filter(Boolean);
  const wants: [string, string][] = [];
  for (const term of terms) {
    const m = /^([\w./-]+)(?:==|=)([\w.-]*)$/.exec(term.trim());
    if (!m) return `labelSelector "${term}" is not supported by the simulator (equality only)`;
    wants.push([m[1]!, m[2]!]);
  }
  return (labels) => wants.every(([k, v]) => labels[k] === v);
}

export function podList(c: ClusterState, req: RecordedRequest, m: RegExpExecArray): SimResponse {
  const ns = m[1]!;
  if (req.method !== 'GET')
    return failure(405, 'MethodNotAllowed', `${req.method} is not supported on pods`);
  const match = labelMatcher(req.query.labelSelector);
  if (typeof match === 'string') return failure(400, 'BadRequest', match);
  const pods = [...c.workloads.values()]
    .filter((w) => w.namespace === ns)
    .flatMap((w) => podsOf(c, w))
    .map((p) => podJson(c, p))
    .filter((p) => match((p.metadata as { labels: Record<string, string> }).labels));
  return json(200, {
    apiVersion: 'v1',
    kind: 'PodList',
    metadata: { resourceVersion: String(c.seq) },
    items: pods,
  });
}

/** What the kubelet and scheduler say about the pods that are not ready, right now. */
function podEvents(c: ClusterState, ns: string): SimEvent[] {
  return [...c.workloads.values()]
    .filter((w) => w.namespace === ns && (w.crashLoop || w.stalled))
    .flatMap((w) => podsOf(c, w).filter((p) => !p.ready))
    .map((p) =>
      p.w.crashLoop
        ? {
            namespace: ns,
            kind: 'Pod',
            name: p.name,
            type: 'Warning' as const,
            reason: 'BackOff',
            message: `Back-off restarting failed container ${p.w.name} in pod ${p.name}_${ns}(uid-${p.name})`,
            at: Date.now(),
          }
        : {
            namespace: ns,
            kind: 'Pod',
            name: p.name,
            type: 'Warning' as const,
            reason: 'FailedScheduling',
            message: UNSCHEDULABLE,
            at: Date.now(),
          },
    );
}

/** Who records an event of that reason. */
const SOURCES: Record<string, string> = {
  BackOff: 'kubelet',
  FailedScheduling: 'default-scheduler',
  SuccessfulRescale: 'horizontal-pod-autoscaler',
};

const EVENT_FIELDS: Record<string, (e: SimEvent) => string> = {
  'involvedObject.name': (e) => e.name,
  'involvedObject.kind': (e) => e.kind,
  type: (e) => e.type,
  reason: (e) => e.reason,
};

export function eventList(c: ClusterState, req: RecordedRequest, m: RegExpExecArray): SimResponse {
  const ns = m[1]!;
  if (req.method !== 'GET')
    return failure(405, 'MethodNotAllowed', `${req.method} is not supported on events`);
  const wants: ((e: SimEvent) => boolean)[] = [];
  for (const term of (req.query.fieldSelector ?? '').split(',').filter(Boolean)) {
    const f = /^([\w.]+)(?:==|=)(.*)$/.exec(term);
    const read = f ? EVENT_FIELDS[f[1]!] : undefined;
    if (!f || !read) return failure(400, 'BadRequest', `field label not supported: ${term}`);
    wants.push((e) => read(e) === f[2]);
  }
  const events = [...c.events.filter((e) => e.namespace === ns), ...podEvents(c, ns)].filter((e) =>
    wants.every((want) => want(e)),
  );
  return json(200, {
    apiVersion: 'v1',
    kind: 'EventList',
    metadata: { resourceVersion: String(c.seq) },
    items: events.map((e, i) => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${e.name}.${(e.at + i).toString(16)}`, namespace: ns },
      involvedObject: { kind: e.kind, name: e.name, namespace: ns },
      type: e.type,
      reason: e.reason,
      message: e.message,
      count: 1,
      firstTimestamp: stamp(e.at),
      lastTimestamp: stamp(e.at),
      source: { component: SOURCES[e.reason] ?? `${e.kind.toLowerCase()}-controller` },
    })),
  });
}
