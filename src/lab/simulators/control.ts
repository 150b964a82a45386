/**
 * The simulators' control API over HTTP, for when they run in their own process (`dr lab up`):
 * read the state, and play a region going down or coming back.
 *
 *   GET  /state                                  routing, health and replica counts
 *   POST /health/{primary|secondary}/{down|up}   health endpoint answers 503 / 200
 *   POST /health/{primary|secondary}/{stop|start} health endpoint refuses connections / listens again
 *   POST /s3/replication/{stall|resume}          S3 replication holds every copy back / delivers again
 *   POST /blob/replication/{stall|resume}        the same for Azure Blob replication (cloud azure)
 *   POST /kubernetes/{region}/revoke?verb=&resource=  take a right out of the bot's Roles there
 *   POST /kubernetes/{region}/restore            the Roles as kubernetes-rbac.yaml gives them
 *   POST /route53/{deny|allow}/{Operation}       IAM denies (or allows again) a Route 53 action
 *   POST /s3/{deny|allow}/{s3:Action}            IAM denies (or allows again) an S3 action
 *   POST /kubernetes/{region}/{workload}/...      crash-looping pods, an autoscaler (control-kubernetes.ts)
 *   POST /status-page, GET /status-page          a stand-in status page for the lab's custom HTTP
 *                                                step: records each post, GET shows {count, posts}
 */
import { kubernetesControl } from './control-kubernetes.js';
import {
  json,
  startHttpSim,
  type HttpSim,
  type RecordedRequest,
  type SimResponse,
} from './http-sim.js';
import type { Route53Operation } from './route53-api.js';
import type { Simulators } from './types.js';

type RegionName = 'primary' | 'secondary';

export interface CloudWorkloadState {
  kind: string;
  namespace: string;
  name: string;
  replicas?: number;
  readyReplicas?: number;
  /** The HorizontalPodAutoscaler named after it (the one the control API adds), when there is one. */
  autoscaler?: { minReplicas: number; maxReplicas: number };
}

/** GET /state: what a person would look at in the cloud consoles. */
export interface CloudState {
  route53: {
    answer: string[];
    servedBy: RegionName | 'unknown';
    primaryHealthCheckInverted: boolean | null;
    primaryHealthCheckDisabled: boolean | null;
  };
  /** With `dr lab up --dns route53-arc`: each region's routing control (its failover record follows it). */
  arc?: Record<RegionName, 'On' | 'Off'>;
  /** `switchesDns`: the lab config fails DNS over with Traffic Manager (`dr lab up --cloud azure`). */
  trafficManager: {
    served: string | null;
    primaryEndpointStatus: 'Enabled' | 'Disabled' | null;
    switchesDns: boolean;
  };
  health: Record<RegionName, { healthy: boolean; running: boolean }>;
  kubernetes: Record<RegionName, CloudWorkloadState[]>;
}

interface ControlServer {
  url: string;
  close(): Promise<void>;
}

function autoscaler(
  hpa: Record<string, unknown> | undefined,
): Pick<CloudWorkloadState, 'autoscaler'> {
  const spec = hpa?.spec as { minReplicas: number; maxReplicas: number } | undefined;
  return spec
    ? { autoscaler: { minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas } }
    : {};
}

/** GET /state: where DNS points, the health endpoints and each region's workloads. */
function cloudState(sims: Simulators): CloudState {
  const workloads = (sim: Simulators['kubernetes']['primary']['sim']) =>
    sims.components.kubernetes!.workloads.map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      ...sim.workload(w.kind, w.namespace, w.name),
      ...autoscaler(sim.hpa(w.namespace, w.name)),
    }));
  const r53 = sims.route53.sim;
  const tm = sims.trafficManager.sim;
  const answer = r53.answer();
  const servedBy: CloudState['route53']['servedBy'] = answer.includes(r53.primaryValue)
    ? 'primary'
    : answer.includes(r53.secondaryValue)
      ? 'secondary'
      : 'unknown';
  const state: CloudState = {
    route53: {
      answer,
      servedBy,
      primaryHealthCheckInverted:
        r53.healthCheck(sims.route53.primaryHealthCheckId)?.inverted ?? null,
      primaryHealthCheckDisabled:
        r53.healthCheck(sims.route53.primaryHealthCheckId)?.disabled ?? null,
    },
    ...(sims.arc
      ? {
          arc: {
            primary: sims.arc.sim.state(sims.arc.primaryControlArn),
            secondary: sims.arc.sim.state(sims.arc.secondaryControlArn),
          },
        }
      : {}),
    trafficManager: {
      served: tm.served()?.name ?? null,
      primaryEndpointStatus: tm.endpoint(tm.primaryEndpoint)?.endpointStatus ?? null,
      switchesDns: sims.components.dns?.provider === 'traffic-manager',
    },
    health: {
      primary: { healthy: sims.health.primary.healthy, running: sims.health.primary.running },
      secondary: {
        healthy: sims.health.secondary.healthy,
        running: sims.health.secondary.running,
      },
    },
    kubernetes: {
      primary: workloads(sims.kubernetes.primary.sim),
      secondary: workloads(sims.kubernetes.secondary.sim),
    },
  };
  return state;
}

export async function startControlServer(sims: Simulators): Promise<ControlServer> {
  // Not a vendor's API: the endpoint a team's own runbook step (config runbook.steps[].http)
  // calls, so a test or the demo can see that the call happened, and how often.
  const statusPosts: { at: string; body: string }[] = [];
  const server: HttpSim = await startHttpSim(async (req) => {
    if (req.path === '/status-page' && (req.method === 'POST' || req.method === 'GET')) {
      if (req.method === 'POST') statusPosts.push({ at: new Date().toISOString(), body: req.body });
      return json(200, { count: statusPosts.length, posts: statusPosts });
    }
    if (req.method === 'GET' && req.path === '/state') return json(200, cloudState(sims));
    const m = /^\/health\/(primary|secondary)\/(down|up|stop|start)$/.exec(req.path);
    if (req.method === 'POST' && m) {
      const region = m[1] as 'primary' | 'secondary';
      const health = sims.health[region];
      if (m[2] === 'down' || m[2] === 'up') health.setHealthy(m[2] === 'up');
      else if (m[2] === 'stop') await health.stop();
      else await health.start();
      // Traffic Manager probes the same endpoints in a real setup.
      sims.trafficManager.sim.setEndpointHealthy(region, health.healthy && health.running);
      return json(200, { region, healthy: health.healthy, running: health.running });
    }
    const rights = rightsControl(sims, req);
    if (rights) return rights;
    const s3 = /^\/s3\/replication\/(stall|resume)$/.exec(req.path);
    if (req.method === 'POST' && s3) {
      sims.s3.sim.stallReplication(s3[1] === 'stall');
      return json(200, { replication: s3[1] === 'stall' ? 'stalled' : 'running' });
    }
    const blob = /^\/blob\/replication\/(stall|resume)$/.exec(req.path);
    if (req.method === 'POST' && blob && sims.blobReplication) {
      sims.blobReplication.stall(blob[1] === 'stall');
      return json(200, { replication: blob[1] === 'stall' ? 'stalled' : 'running' });
    }
    const k8s = kubernetesControl(sims, req);
    if (k8s) return k8s;
    return json(404, {
      error: `unknown control request ${req.method} ${req.path}; see GET /state, POST /health/{region}/{down|up|stop|start}, POST /{s3|blob}/replication/{stall|resume} (blob: cloud azure only), POST /kubernetes/{region}/{revoke|restore}, POST /kubernetes/{region}/{workload}/{crash-loop/on|crash-loop/off|autoscaler}, POST /route53/{deny|allow}/{Operation}, POST /s3/{deny|allow}/{action}, GET|POST /status-page`,
    });
  });
  return { url: server.url, close: () => server.close() };
}

/** The bot's rights in the simulated clouds: what a test takes away to see preflight name it. */
function rightsControl(sims: Simulators, req: RecordedRequest): SimResponse | null {
  if (req.method !== 'POST') return null;
  const k8s = /^\/kubernetes\/(primary|secondary)\/(revoke|restore)$/.exec(req.path);
  if (k8s) {
    const sim = sims.kubernetes[k8s[1] as RegionName].sim;
    const { verb, resource } = req.query;
    if (k8s[2] === 'restore') sim.restoreRbac();
    else if (verb && resource) sim.revoke(verb, resource);
    else return json(400, { error: 'revoke needs ?verb=patch&resource=deployments/scale' });
    return json(200, {
      region: k8s[1],
      [k8s[2]!]: k8s[2] === 'revoke' ? { verb, resource } : true,
    });
  }
  const r53 = /^\/route53\/(deny|allow)\/(\w+)$/.exec(req.path);
  if (r53) {
    sims.route53.sim.deny(r53[2] as Route53Operation, r53[1] === 'deny');
    return json(200, { operation: r53[2], denied: r53[1] === 'deny' });
  }
  const s3 = /^\/s3\/(deny|allow)\/(s3:(?:PutObject|GetObject|ListBucket))$/.exec(req.path);
  if (s3) {
    sims.s3.sim.deny(s3[2] as 's3:PutObject', s3[1] === 'deny');
    return json(200, { action: s3[2], denied: s3[1] === 'deny' });
  }
  return null;
}
