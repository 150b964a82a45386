/**
 * All cloud-side simulators of the lab in one call: Route 53 (with DNS over UDP), Traffic Manager
 * (https ARM, with DNS over UDP), one Kubernetes API server per region (one kubeconfig, a context
 * per region, with a recent Velero backup in the secondary), a health endpoint per region, and S3
 * with the primary's bucket replicating to the secondary's. Route 53's health checks follow the
 * health endpoints, so stopping the primary's makes Route 53 fail over on its own, as in a real outage.
 *
 * `components` is the config block (components.dns/kubernetes/verification/objectStorage) that points at them,
 * and `env` the variables the bot needs for them (dummy AWS credentials).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DrConfigInput } from '../../config/schema.js';
import { startHealthServer, type HealthServer } from './health.js';
import {
  kubeconfigFor,
  startKubernetesSimulator,
  type KubernetesSim,
  type SimWorkloadSpec,
} from './kubernetes.js';
import { startRoute53Simulator, type Route53Sim } from './route53.js';
import { startS3Simulator, type S3Sim } from './s3.js';
import { startTrafficManagerSimulator, type TrafficManagerSim } from './traffic-manager.js';

export { startAwsHealthSimulator, type AwsHealthSim } from './aws-health.js';
export {
  startAzureResourceHealthSimulator,
  type AzureResourceHealthSim,
} from './azure-resource-health.js';
export { spawnSimulators, type SpawnedSimulators } from './spawn.js';

interface LabWorkload {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
  productionReplicas: number;
  standbyReplicas: number;
}

const DEFAULT_LAB_WORKLOADS: LabWorkload[] = [
  { kind: 'Deployment', namespace: 'shop', name: 'api', productionReplicas: 4, standbyReplicas: 1 },
  { kind: 'Deployment', namespace: 'shop', name: 'web', productionReplicas: 3, standbyReplicas: 1 },
  {
    kind: 'StatefulSet',
    namespace: 'shop',
    name: 'worker',
    productionReplicas: 2,
    standbyReplicas: 1,
  },
];

/** What a lab (or a test) needs to point a bot at running simulators: plain JSON, no live objects. */
export interface SimulatorsDescriptor {
  dir: string;
  route53: Omit<Simulators['route53'], 'sim'>;
  trafficManager: Omit<Simulators['trafficManager'], 'sim'>;
  kubernetes: {
    url: string;
    kubeconfigPath: string;
    primary: { url: string; context: string };
    secondary: { url: string; context: string };
  };
  health: { primaryUrl: string; secondaryUrl: string };
  s3: Omit<Simulators['s3'], 'sim'>;
  components: Simulators['components'];
  env: Record<string, string>;
}

export function describeSimulators(s: Simulators): SimulatorsDescriptor {
  const { sim: _r53, ...route53 } = s.route53;
  const { sim: _tm, ...trafficManager } = s.trafficManager;
  return {
    dir: s.dir,
    route53,
    trafficManager,
    kubernetes: {
      url: s.kubernetes.url,
      kubeconfigPath: s.kubernetes.kubeconfigPath,
      primary: { url: s.kubernetes.primary.url, context: s.kubernetes.primary.context },
      secondary: { url: s.kubernetes.secondary.url, context: s.kubernetes.secondary.context },
    },
    health: { primaryUrl: s.health.primaryUrl, secondaryUrl: s.health.secondaryUrl },
    s3: { url: s.s3.url, primaryBucket: s.s3.primaryBucket, secondaryBucket: s.s3.secondaryBucket },
    components: s.components,
    env: s.env,
  };
}

interface StartSimulatorsOptions {
  /** Where the kubeconfig and the Traffic Manager CA are written (default: a new temp dir). */
  dir?: string;
  workloads?: LabWorkload[];
  /** Time per pod to become ready in the simulated clusters (default 100 ms). */
  podReadyMs?: number;
  /** Time a Route 53 change stays PENDING (default 300 ms). */
  changeDelayMs?: number;
  ttl?: number;
}

export interface Simulators {
  dir: string;
  route53: {
    url: string;
    zoneId: string;
    recordName: string;
    recordType: 'A' | 'AAAA' | 'CNAME';
    primarySetIdentifier: string;
    secondarySetIdentifier: string;
    primaryHealthCheckId: string;
    /** "127.0.0.1:<port>" of its DNS server. */
    dnsServer: string;
    sim: Route53Sim;
  };
  trafficManager: {
    url: string;
    caPath: string;
    token: string;
    subscriptionId: string;
    resourceGroup: string;
    profileName: string;
    primaryEndpoint: string;
    secondaryEndpoint: string;
    fqdn: string;
    dnsServer: string;
    sim: TrafficManagerSim;
  };
  kubernetes: {
    /** The secondary cluster's API server (the one a failover scales). */
    url: string;
    kubeconfigPath: string;
    primary: { url: string; context: string; sim: KubernetesSim };
    secondary: { url: string; context: string; sim: KubernetesSim };
  };
  health: {
    primaryUrl: string;
    secondaryUrl: string;
    primary: HealthServer;
    secondary: HealthServer;
  };
  /** One S3 endpoint holding both regions' buckets, replicating primary → secondary. */
  s3: { url: string; primaryBucket: string; secondaryBucket: string; sim: S3Sim };
  /** components.dns / kubernetes / verification for the bot config (Route 53 as the DNS provider). */
  components: NonNullable<DrConfigInput['components']>;
  /** Environment the bot needs for these simulators. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startSimulators(opts: StartSimulatorsOptions = {}): Promise<Simulators> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'dr-lab-sims-')));
  await mkdir(dir, { recursive: true });
  // A dir the caller passed is theirs (the lab removes its own); one made here goes with the simulators.
  const removeDir = async (): Promise<void> => {
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  };
  const workloads = opts.workloads ?? DEFAULT_LAB_WORKLOADS;
  const started: { stop(): Promise<void> }[] = [];
  try {
    const healthPrimary = await startHealthServer({ region: 'primary' });
    started.push(healthPrimary);
    const healthSecondary = await startHealthServer({ region: 'secondary' });
    started.push(healthSecondary);
    const up = (h: HealthServer): boolean => h.running && h.healthy;

    const route53 = await startRoute53Simulator({
      changeDelayMs: opts.changeDelayMs ?? 300,
      ttl: opts.ttl ?? 60,
      endpointHealthy: (region) => up(region === 'primary' ? healthPrimary : healthSecondary),
    });
    started.push(route53);
    const tm = await startTrafficManagerSimulator({ ttl: opts.ttl ?? 60 });
    started.push(tm);

    const spec = (count: (w: LabWorkload) => number): SimWorkloadSpec[] =>
      workloads.map((w) => ({
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        replicas: count(w),
      }));
    const podReadyMs = opts.podReadyMs ?? 100;
    const k8sPrimary = await startKubernetesSimulator({
      workloads: spec((w) => w.productionReplicas),
      podReadyMs,
      token: 'lab-primary-token',
      contextName: 'lab-primary',
    });
    started.push(k8sPrimary);
    // A nightly Velero backup that finished an hour ago, so readiness starts green.
    const veleroBackups = [
      {
        name: 'lab-nightly',
        phase: 'Completed' as const,
        completedAt: new Date(Date.now() - 3_600_000),
      },
    ];
    const k8sSecondary = await startKubernetesSimulator({
      workloads: spec((w) => w.standbyReplicas),
      podReadyMs,
      token: 'lab-secondary-token',
      contextName: 'lab-secondary',
      veleroBackups,
    });
    started.push(k8sSecondary);
    const buckets = { primary: 'lab-primary-assets', secondary: 'lab-secondary-assets' };
    const s3 = await startS3Simulator({
      buckets: [buckets.primary, buckets.secondary],
      replication: [{ from: buckets.primary, to: buckets.secondary, delayMs: 500 }],
    });
    started.push(s3);

    const kubeconfigPath = join(dir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfigPath,
      kubeconfigFor([
        { name: k8sPrimary.contextName, url: k8sPrimary.url, token: k8sPrimary.token },
        { name: k8sSecondary.contextName, url: k8sSecondary.url, token: k8sSecondary.token },
      ]),
      { mode: 0o600 },
    );
    const caPath = join(dir, 'traffic-manager-ca.pem');
    await writeFile(caPath, tm.ca);

    const healthCheck = (region: 'primary' | 'secondary', url: string) => ({
      name: `${region} health`,
      url,
      expectStatus: 200,
      bodyMatch: '"status":"ok"',
      timeoutSeconds: 2,
      retries: 2,
    });

    return {
      dir,
      route53: {
        url: route53.url,
        zoneId: route53.zoneId,
        recordName: route53.recordName,
        recordType: route53.recordType,
        primarySetIdentifier: route53.primarySetIdentifier,
        secondarySetIdentifier: route53.secondarySetIdentifier,
        primaryHealthCheckId: route53.primaryHealthCheckId,
        dnsServer: route53.dnsServer!,
        sim: route53,
      },
      trafficManager: {
        url: tm.url,
        caPath,
        token: tm.token,
        subscriptionId: tm.subscriptionId,
        resourceGroup: tm.resourceGroup,
        profileName: tm.profileName,
        primaryEndpoint: tm.primaryEndpoint,
        secondaryEndpoint: tm.secondaryEndpoint,
        fqdn: tm.fqdn,
        dnsServer: tm.dnsServer!,
        sim: tm,
      },
      kubernetes: {
        url: k8sSecondary.url,
        kubeconfigPath,
        primary: { url: k8sPrimary.url, context: k8sPrimary.contextName, sim: k8sPrimary },
        secondary: { url: k8sSecondary.url, context: k8sSecondary.contextName, sim: k8sSecondary },
      },
      health: {
        primaryUrl: healthPrimary.url,
        secondaryUrl: healthSecondary.url,
        primary: healthPrimary,
        secondary: healthSecondary,
      },
      s3: {
        url: s3.url,
        primaryBucket: buckets.primary,
        secondaryBucket: buckets.secondary,
        sim: s3,
      },
      components: {
        dns: {
          provider: 'route53',
          route53: {
            hostedZoneId: route53.zoneId,
            recordName: route53.recordName,
            recordType: route53.recordType,
            primarySetIdentifier: route53.primarySetIdentifier,
            secondarySetIdentifier: route53.secondarySetIdentifier,
            method: 'invert-health-check',
            primaryHealthCheckId: route53.primaryHealthCheckId,
            endpoint: route53.url,
            region: 'us-east-1',
            changeTimeoutSeconds: 30,
          },
        },
        kubernetes: {
          primary: { kubeconfig: kubeconfigPath, context: k8sPrimary.contextName },
          secondary: { kubeconfig: kubeconfigPath, context: k8sSecondary.contextName },
          workloads,
          readyTimeoutSeconds: 60,
          velero: { namespace: 'velero', maxAgeHours: 24 },
        },
        objectStorage: {
          provider: 's3',
          primary: { bucket: buckets.primary, region: 'us-east-1', endpoint: s3.url },
          secondary: { bucket: buckets.secondary, region: 'us-east-1', endpoint: s3.url },
          forcePathStyle: true,
          rpoSeconds: 10,
        },
        verification: {
          primary: { http: [healthCheck('primary', healthPrimary.url)], commands: [] },
          secondary: { http: [healthCheck('secondary', healthSecondary.url)], commands: [] },
        },
      },
      env: {
        // The simulators do not check signatures; the SDK's credential chain needs something to sign with.
        AWS_ACCESS_KEY_ID: 'lab-simulator',
        AWS_SECRET_ACCESS_KEY: 'lab-simulator',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      async stop() {
        await Promise.all(started.map((s) => s.stop()));
        await removeDir();
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
    await removeDir().catch(() => undefined);
    throw err;
  }
}
