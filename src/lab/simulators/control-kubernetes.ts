/**
 * The control API's Kubernetes levers, so the cases the tests play on the simulator (a rollout
 * that crash-loops, a workload an autoscaler scales) can be repeated on a running lab:
 *
 *   POST /kubernetes/{primary|secondary}/{workload}/crash-loop/{on|off}
 *     its new pods crash on start (CrashLoopBackOff) and never become ready / start normally
 *   POST /kubernetes/{primary|secondary}/{workload}/autoscaler
 *     body {"minReplicas":2,"maxReplicas":6,"load":3}: a HorizontalPodAutoscaler named after the
 *     workload (as `kubectl autoscale` names it); `load` is the count its metrics ask for
 *     (default minReplicas: an idle service)
 */
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import type { Simulators } from './types.js';

type Lab = Pick<Simulators, 'kubernetes' | 'components'>;
const PATH = /^\/kubernetes\/(primary|secondary)\/([^/]+)\/(crash-loop\/(on|off)|autoscaler)$/;

const refuse = (status: number, error: string): SimResponse => json(status, { error });

interface AutoscalerBody {
  minReplicas: number;
  maxReplicas: number;
  load?: number;
}

/** The body's bounds, or what to fix in it (the API server's rules for an HPA's bounds). */
function parseBody(raw: string): AutoscalerBody | string {
  let b: Partial<Record<keyof AutoscalerBody, unknown>>;
  try {
    b = JSON.parse(raw || '{}') as typeof b;
  } catch {
    return 'the body is not JSON; send {"minReplicas":2,"maxReplicas":6} (and "load" optionally)';
  }
  const int = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;
  if (!int(b.minReplicas, 1)) return 'minReplicas must be a whole number of at least 1';
  if (!int(b.maxReplicas, b.minReplicas))
    return 'maxReplicas must be a whole number >= minReplicas';
  if (b.load !== undefined && !int(b.load, 0)) return 'load must be a whole number of at least 0';
  return { minReplicas: b.minReplicas, maxReplicas: b.maxReplicas, load: b.load };
}

/** The answer to a /kubernetes/... control request, or null when the path is not one. */
export function kubernetesControl(lab: Lab, req: RecordedRequest): SimResponse | null {
  const m = PATH.exec(req.path);
  if (!m || req.method !== 'POST') return null;
  const [, region, name, , onOff] = m as unknown as [
    string,
    'primary' | 'secondary',
    string,
    string,
    string?,
  ];
  const workloads = lab.components.kubernetes!.workloads;
  const w = workloads.find((x) => x.name === name);
  if (!w)
    return refuse(
      404,
      `no workload "${name}" on the lab; it has ${workloads.map((x) => x.name).join(', ')}`,
    );
  const sim = lab.kubernetes[region].sim;
  if (onOff) {
    sim.crashLoop(w.name, onOff === 'on');
    return json(200, { region, workload: w.name, crashLoop: onOff === 'on' });
  }
  const body = parseBody(req.body);
  if (typeof body === 'string') return refuse(400, body);
  if (sim.hpa(w.namespace, w.name))
    return refuse(409, `${w.namespace}/${w.name} already has an autoscaler in the ${region}`);
  sim.addHpa({
    namespace: w.namespace,
    name: w.name,
    target: { kind: w.kind, name: w.name },
    minReplicas: body.minReplicas,
    maxReplicas: body.maxReplicas,
    metricsReplicas: body.load,
  });
  return json(201, sim.hpa(w.namespace, w.name));
}
