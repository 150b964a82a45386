/**
 * The simulators' control API over HTTP, for when they run in their own process (`dr lab up`):
 * read the state, and play a region going down or coming back.
 *
 *   GET  /state                                  routing, health and replica counts
 *   POST /health/{primary|secondary}/{down|up}   health endpoint answers 503 / 200
 *   POST /health/{primary|secondary}/{stop|start} health endpoint refuses connections / listens again
 *   POST /s3/replication/{stall|resume}          S3 replication holds every copy back / delivers again
 *   POST /blob/replication/{stall|resume}        the same for Azure Blob replication (cloud azure)
 *   POST /status-page, GET /status-page          a stand-in status page for the lab's custom HTTP
 *                                                step: records each post, GET shows {count, posts}
 */
import { json, startHttpSim, type HttpSim } from './http-sim.js';
import type { Simulators } from './types.js';

type RegionName = 'primary' | 'secondary';

export interface CloudWorkloadState {
  kind: string;
  namespace: string;
  name: string;
  replicas?: number;
  readyReplicas?: number;
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
  trafficManager: { served: string | null };
  health: Record<RegionName, { healthy: boolean; running: boolean }>;
  kubernetes: Record<RegionName, CloudWorkloadState[]>;
}

interface ControlServer {
  url: string;
  close(): Promise<void>;
}

export async function startControlServer(sims: Simulators): Promise<ControlServer> {
  const workloads = (sim: Simulators['kubernetes']['primary']['sim']) =>
    sims.components.kubernetes!.workloads.map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      ...sim.workload(w.kind, w.namespace, w.name),
    }));
  // Not a vendor's API: the endpoint a team's own runbook step (config runbook.steps[].http)
  // calls, so a test or the demo can see that the call happened, and how often.
  const statusPosts: { at: string; body: string }[] = [];
  const server: HttpSim = await startHttpSim(async (req) => {
    if (req.path === '/status-page' && (req.method === 'POST' || req.method === 'GET')) {
      if (req.method === 'POST') statusPosts.push({ at: new Date().toISOString(), body: req.body });
      return json(200, { count: statusPosts.length, posts: statusPosts });
    }
    if (req.method === 'GET' && req.path === '/state') {
      const r53 = sims.route53.sim;
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
        trafficManager: { served: sims.trafficManager.sim.served()?.name ?? null },
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
      return json(200, state);
    }
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
    return json(404, {
      error: `unknown control request ${req.method} ${req.path}; see GET /state, POST /health/{region}/{down|up|stop|start}, POST /{s3|blob}/replication/{stall|resume} (blob: cloud azure only), GET|POST /status-page`,
    });
  });
  return { url: server.url, close: () => server.close() };
}
