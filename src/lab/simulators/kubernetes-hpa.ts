/**
 * The Kubernetes simulator's HorizontalPodAutoscalers (autoscaling/v2: list, get, merge patch)
 * and their controller. Rules from "Horizontal Pod Autoscaling"
 * (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/):
 * - "How does a HorizontalPodAutoscaler work?": the controller runs every sync period (15 s by
 *   default; `hpaSyncMs` here) and sets the target's replicas through its scale subresource, so a
 *   count set by someone else is overwritten at the next sync.
 * - "Algorithm details": desired = ceil(current * metric / target), held within [minReplicas,
 *   maxReplicas]. The simulator folds the metrics into one lever, the count they ask for
 *   (`metricsReplicas`, default minReplicas: an idle service).
 * - "Implicit maintenance-mode deactivation": a target scaled to 0 while minReplicas > 0 is left
 *   alone until someone scales it up or changes minReplicas.
 * Validation as the API server's: minReplicas >= 1, maxReplicas >= minReplicas.
 */
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import {
  setReplicas,
  workloadKey,
  type ClusterState,
  type SimHpa,
  type SimHpaSpec,
  type SimWorkload,
} from './kubernetes-cluster.js';

const MERGE_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];
const hpaKey = (ns: string, name: string): string => `${ns}/${name}`;
/** Syncs already scheduled (one per autoscaler at a time, as one controller loop). */
const pending = new WeakSet<SimHpa>();
const watching = new WeakSet<ClusterState>();

function failure(code: number, reason: string, message: string): SimResponse {
  return json(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
}

const targetOf = (c: ClusterState, h: SimHpa): SimWorkload | undefined =>
  c.workloads.get(workloadKey(h.target.kind, h.namespace, h.target.name));

/** The count the autoscaler wants for its target now, or undefined when it leaves it alone. */
function wanted(c: ClusterState, h: SimHpa): number | undefined {
  const w = targetOf(c, h);
  if (!w || (w.replicas === 0 && h.minReplicas > 0)) return undefined;
  return Math.min(h.maxReplicas, Math.max(h.minReplicas, h.metricsReplicas));
}

function scheduleSync(c: ClusterState, h: SimHpa): void {
  const want = wanted(c, h);
  if (want === undefined || want === targetOf(c, h)?.replicas || pending.has(h)) return;
  pending.add(h);
  const timer = setTimeout(() => {
    c.timers.delete(timer);
    pending.delete(h);
    const w = targetOf(c, h);
    const now = wanted(c, h);
    if (!w || now === undefined || now === w.replicas) return;
    const from = w.replicas;
    setReplicas(c, w, now);
    h.resourceVersion = ++c.seq;
    c.events.push({
      namespace: h.namespace,
      kind: 'HorizontalPodAutoscaler',
      name: h.name,
      type: 'Normal',
      reason: 'SuccessfulRescale',
      message: `New size: ${now}; reason: ${now < from ? 'All metrics below target' : now === h.minReplicas ? 'Current number of replicas below Spec.MinReplicas' : 'cpu resource utilization (percentage of request) above target'}`,
      at: Date.now(),
    });
  }, c.hpaSyncMs);
  c.timers.add(timer);
}

/** Adds autoscalers; from then on a change of a target brings its autoscaler's next sync. */
export function addHpas(c: ClusterState, specs: SimHpaSpec[]): void {
  for (const s of specs) {
    const h: SimHpa = {
      ...s,
      uid: `uid-${++c.seq}`,
      generation: 1,
      resourceVersion: ++c.seq,
      annotations: {},
      metricsReplicas: s.metricsReplicas ?? s.minReplicas,
    };
    c.hpas.set(hpaKey(s.namespace, s.name), h);
    scheduleSync(c, h);
  }
  if (watching.has(c)) return;
  watching.add(c);
  c.listeners.add((w) => {
    for (const h of c.hpas.values())
      if (h.namespace === w.namespace && h.target.kind === w.kind && h.target.name === w.name)
        scheduleSync(c, h);
  });
}

/** The load lever: the count the autoscaler's metrics ask for from now on. */
export function setHpaLoad(c: ClusterState, ns: string, name: string, replicas: number): void {
  const h = c.hpas.get(hpaKey(ns, name));
  if (!h) throw new Error(`no HorizontalPodAutoscaler ${ns}/${name} in the simulator`);
  h.metricsReplicas = replicas;
  scheduleSync(c, h);
}

export function hpaJson(c: ClusterState, h: SimHpa): Record<string, unknown> {
  const w = targetOf(c, h);
  const want = wanted(c, h);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: h.name,
      namespace: h.namespace,
      uid: h.uid,
      generation: h.generation,
      resourceVersion: String(h.resourceVersion),
      annotations: { ...h.annotations },
    },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: h.target.kind, name: h.target.name },
      minReplicas: h.minReplicas,
      maxReplicas: h.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    },
    status: {
      currentReplicas: w?.replicas ?? 0,
      desiredReplicas: want ?? w?.replicas ?? 0,
      conditions: [
        want === undefined
          ? { type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled' }
          : { type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound' },
      ],
    },
  };
}

export function hpaRoute(c: ClusterState, req: RecordedRequest, m: RegExpExecArray): SimResponse {
  const [, ns, name] = m;
  if (!name) {
    if (req.method !== 'GET')
      return failure(405, 'MethodNotAllowed', `${req.method} is not supported on the collection`);
    return json(200, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscalerList',
      metadata: { resourceVersion: String(c.seq) },
      items: [...c.hpas.values()].filter((h) => h.namespace === ns).map((h) => hpaJson(c, h)),
    });
  }
  const h = c.hpas.get(hpaKey(ns!, name));
  if (!h)
    return failure(404, 'NotFound', `horizontalpodautoscalers.autoscaling "${name}" not found`);
  if (req.method === 'GET') return json(200, hpaJson(c, h));
  if (req.method !== 'PATCH')
    return failure(405, 'MethodNotAllowed', `${req.method} is not supported`);
  const type = String(req.headers['content-type'] ?? '');
  if (!MERGE_TYPES.some((t) => type.startsWith(t)))
    return failure(415, 'UnsupportedMediaType', `the simulator accepts ${MERGE_TYPES.join(', ')}`);
  let body: {
    metadata?: { annotations?: Record<string, string | null> };
    spec?: Partial<SimHpaSpec>;
  };
  try {
    body = JSON.parse(req.body) as typeof body;
  } catch (err) {
    return failure(400, 'BadRequest', `invalid body: ${(err as Error).message}`);
  }
  return patchHpa(c, h, body);
}

function patchHpa(
  c: ClusterState,
  h: SimHpa,
  body: { metadata?: { annotations?: Record<string, string | null> }; spec?: Partial<SimHpaSpec> },
): SimResponse {
  const min = body.spec?.minReplicas ?? h.minReplicas;
  const max = body.spec?.maxReplicas ?? h.maxReplicas;
  const invalid = (field: string, value: number, rule: string): SimResponse =>
    failure(
      422,
      'Invalid',
      `HorizontalPodAutoscaler.autoscaling "${h.name}" is invalid: spec.${field}: Invalid value: ${value}: ${rule}`,
    );
  if (!Number.isInteger(min) || min < 1)
    return invalid('minReplicas', min, 'must be greater than or equal to 1');
  if (!Number.isInteger(max) || max < min)
    return invalid('maxReplicas', max, 'must be greater than or equal to `minReplicas`');
  // JSON merge patch (RFC 7386): null removes an annotation.
  for (const [k, v] of Object.entries(body.metadata?.annotations ?? {}))
    if (v === null) delete h.annotations[k];
    else h.annotations[k] = String(v);
  if (min !== h.minReplicas || max !== h.maxReplicas) h.generation += 1;
  h.minReplicas = min;
  h.maxReplicas = max;
  h.resourceVersion = ++c.seq;
  scheduleSync(c, h);
  return json(200, hpaJson(c, h));
}
