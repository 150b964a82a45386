/**
 * All cloud-side simulators of the lab in one call: Route 53 (with DNS over UDP), Traffic Manager
 * (https ARM, with DNS over UDP), one Kubernetes API server per region (one kubeconfig, a context
 * per region, each with a recent Velero backup and a storage location on one bucket), a health
 * endpoint per region, and S3 with the primary's bucket replicating to the secondary's (assets
 * and Terraform state alike). Route 53's health checks follow the
 * health endpoints, so stopping the primary's makes Route 53 fail over on its own, as in a real outage.
 * With `dns: 'route53-arc'` an ARC cluster runs too, and the health checks follow its routing
 * controls instead (a person or dr-bot switches; Route 53 does not fail over by itself).
 *
 * `components` is the config block (components.dns/kubernetes/verification/objectStorage) that points at them,
 * and `env` the variables the bot needs for them (dummy AWS credentials).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  azureComponents,
  azureEnv,
  describeAzure,
  startAzureIdentity,
  startAzureServices,
  type AzureIdentity,
  type AzureServices,
} from './azure-lab.js';
import { startHealthServer, type HealthServer } from './health.js';
import { kubeconfigFor, startKubernetesSimulator, type KubernetesSim } from './kubernetes.js';
import type { SimWorkloadSpec } from './kubernetes-cluster.js';
import { installCnpg, LAB_CNPG } from './cnpg-controller.js';
import { startRoute53Simulator, type Route53Sim } from './route53.js';
import { startDynamoDbSimulator, type DynamoDbSim } from './dynamodb.js';
import { startRoute53ArcSimulator, type ArcSim } from './route53-arc.js';
import { startS3Simulator, type S3Sim } from './s3.js';
import { LAB_STATE_BUCKETS, LAB_STATE_KEY, labStateFile } from './terraform-state.js';
import { startTrafficManagerSimulator, type TrafficManagerSim } from './traffic-manager.js';
import type {
  LabWorkload,
  Simulators,
  SimulatorsDescriptor,
  StartSimulatorsOptions,
} from './types.js';

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

const BUCKETS = { primary: 'lab-primary-assets', secondary: 'lab-secondary-assets' };
const LAB_LOCK_TABLE = 'lab-terraform-locks';

/** Every simulator once started, before they are described for the bot. */
interface Running {
  healthPrimary: HealthServer;
  healthSecondary: HealthServer;
  route53: Route53Sim;
  /** With `dns: 'route53-arc'`: the ARC cluster whose routing controls the failover records follow. */
  arc?: ArcSim;
  tm: TrafficManagerSim;
  k8sPrimary: KubernetesSim;
  k8sSecondary: KubernetesSim;
  s3: S3Sim;
  /** The primary state's lock table, as the S3 backend's dynamodb_table keeps it. */
  tfLocks: DynamoDbSim;
  azure?: { id: AzureIdentity; services: AzureServices };
}

/** Files the clients read: the kubeconfig (both contexts) and the Traffic Manager CA. */
interface ClientFiles {
  kubeconfigPath: string;
  caPath: string;
}

type Stoppable = { stop(): Promise<void> };

export function describeSimulators(s: Simulators): SimulatorsDescriptor {
  const { sim: _r53, ...route53 } = s.route53;
  const { sim: _tm, ...trafficManager } = s.trafficManager;
  const arc = s.arc ? (({ sim: _arc, ...rest }) => rest)(s.arc) : undefined;
  return {
    dir: s.dir,
    route53,
    ...(arc ? { arc } : {}),
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
    ...(s.azure ? { azure: s.azure } : {}),
    env: s.env,
  };
}

export async function startSimulators(opts: StartSimulatorsOptions = {}): Promise<Simulators> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'dr-lab-sims-')));
  await mkdir(dir, { recursive: true });
  // A dir the caller passed is theirs (the lab removes its own); one made here goes with the simulators.
  const removeDir = async (): Promise<void> => {
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  };
  const workloads = opts.workloads ?? DEFAULT_LAB_WORKLOADS;
  const started: Stoppable[] = [];
  try {
    const running = await startEach(dir, opts, workloads, started);
    const files = await writeClientFiles(dir, running);
    const az = running.azure;
    return {
      ...describeRunning(dir, running, files),
      components: {
        ...labComponents(running, files, workloads),
        ...(az ? azureComponents(running.tm, files.caPath) : {}),
      },
      ...(az
        ? { azure: describeAzure(az.id, az.services), blobReplication: az.services.replication }
        : {}),
      env: {
        // The simulators do not check signatures; the SDK's credential chain needs something to sign with.
        AWS_ACCESS_KEY_ID: 'lab-simulator',
        AWS_SECRET_ACCESS_KEY: 'lab-simulator',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...(az ? azureEnv(az.id, az.services) : {}),
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

/** Start them one by one, each pushed on `started` at once so a failure stops the earlier ones. */
async function startEach(
  dir: string,
  opts: StartSimulatorsOptions,
  workloads: LabWorkload[],
  started: Stoppable[],
): Promise<Running> {
  const healthPrimary = await startHealthServer({ region: 'primary' });
  started.push(healthPrimary);
  const healthSecondary = await startHealthServer({ region: 'secondary' });
  started.push(healthSecondary);
  const up = (h: HealthServer): boolean => h.running && h.healthy;
  const arc = opts.dns === 'route53-arc' ? await startRoute53ArcSimulator() : undefined;
  if (arc) started.push(arc);

  const route53 = await startRoute53Simulator({
    changeDelayMs: opts.changeDelayMs ?? 300,
    ttl: opts.ttl ?? 60,
    endpointHealthy: (region) => up(region === 'primary' ? healthPrimary : healthSecondary),
    // With ARC, each failover record's health check follows its region's routing control.
    ...(arc
      ? {
          routingControls: {
            arns: { primary: arc.primaryControlArn, secondary: arc.secondaryControlArn },
            state: (arn: string) => arc.state(arn),
          },
        }
      : {}),
  });
  started.push(route53);
  // On Azure, Entra ID first: Traffic Manager checks its tokens (and shares its certificate).
  const id = opts.cloud === 'azure' ? await startAzureIdentity(started) : undefined;
  const tm = await startTrafficManagerSimulator({
    ttl: opts.ttl ?? 60,
    ...(id ? { tls: id.tls, verifier: id.entra } : {}),
  });
  started.push(tm);

  const { k8sPrimary, k8sSecondary } = await startClusters(opts, workloads, started);
  // Both regions' Terraform state, in step: the primary's state bucket replicates to the secondary's.
  const state = labStateFile();
  const s3 = await startS3Simulator({
    buckets: [
      BUCKETS.primary,
      BUCKETS.secondary,
      LAB_STATE_BUCKETS.primary,
      LAB_STATE_BUCKETS.secondary,
    ],
    replication: [
      { from: BUCKETS.primary, to: BUCKETS.secondary, delayMs: 500 },
      { from: LAB_STATE_BUCKETS.primary, to: LAB_STATE_BUCKETS.secondary, delayMs: 500 },
    ],
    // All in the lab's one AWS region: a config naming another is refused, as S3 refuses it.
    regions: Object.fromEntries(
      [...Object.values(BUCKETS), ...Object.values(LAB_STATE_BUCKETS)].map((b) => [b, 'us-east-1']),
    ),
    objects: [
      { bucket: LAB_STATE_BUCKETS.primary, key: LAB_STATE_KEY, body: state },
      { bucket: LAB_STATE_BUCKETS.secondary, key: LAB_STATE_KEY, body: state },
    ],
  });
  started.push(s3);
  const tfLocks = await startDynamoDbSimulator({ tables: { [LAB_LOCK_TABLE]: 'LockID' } });
  started.push(tfLocks);
  const azure = id
    ? { id, services: await startAzureServices(dir, id, 'lab-primary', started) }
    : undefined;
  return {
    healthPrimary,
    healthSecondary,
    route53,
    arc,
    tm,
    k8sPrimary,
    k8sSecondary,
    s3,
    tfLocks,
    azure,
  };
}

/** The production cluster at full size, the standby scaled down with a fresh Velero backup. */
async function startClusters(
  opts: StartSimulatorsOptions,
  workloads: LabWorkload[],
  started: Stoppable[],
): Promise<Pick<Running, 'k8sPrimary' | 'k8sSecondary'>> {
  const spec = (count: (w: LabWorkload) => number): SimWorkloadSpec[] =>
    workloads.map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      replicas: count(w),
    }));
  const podReadyMs = opts.podReadyMs ?? 100;
  // Shorter than the bot's 60 s ready timeout on the lab, so a crash loop turned on through the
  // control API fails the scale step as a stuck rollout (ProgressDeadlineExceeded), not a timeout.
  // The autoscalers sync every second rather than Kubernetes' 15 s, as the lab's pods are quicker.
  const rollout = { progressDeadlineMs: opts.progressDeadlineMs ?? 30_000, hpaSyncMs: 1000 };
  // A nightly Velero backup of the primary that finished an hour ago, in its storage location;
  // the secondary's read-only location on the same bucket has synced it, so readiness starts green.
  const veleroBackups = [
    {
      name: 'lab-nightly-1',
      phase: 'Completed' as const,
      completedAt: new Date(Date.now() - 3_600_000),
      schedule: 'lab-nightly',
    },
  ];
  const location = (accessMode: 'ReadWrite' | 'ReadOnly') => [
    { name: 'default', phase: 'Available' as const, bucket: 'lab-velero', accessMode },
  ];
  const k8sPrimary = await startKubernetesSimulator({
    workloads: spec((w) => w.productionReplicas),
    podReadyMs,
    ...rollout,
    token: 'lab-primary-token',
    contextName: 'lab-primary',
    // The bot's token holds only the Roles operators are given: the lab proves they suffice.
    rbac: 'dr-bot',
    veleroBackups,
    veleroLocations: location('ReadWrite'),
  });
  started.push(k8sPrimary);
  const k8sSecondary = await startKubernetesSimulator({
    workloads: spec((w) => w.standbyReplicas),
    podReadyMs,
    ...rollout,
    token: 'lab-secondary-token',
    contextName: 'lab-secondary',
    rbac: 'dr-bot',
    veleroBackups,
    veleroLocations: location('ReadOnly'),
  });
  started.push(k8sSecondary);
  if (opts.cnpg) {
    const operator = installCnpg(
      { primary: k8sPrimary, secondary: k8sSecondary },
      { labDir: opts.cnpg.labDir, namespace: LAB_CNPG.namespace, names: LAB_CNPG.names },
    );
    started.push(operator);
  }
  return { k8sPrimary, k8sSecondary };
}

async function writeClientFiles(dir: string, r: Running): Promise<ClientFiles> {
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  await writeFile(
    kubeconfigPath,
    kubeconfigFor([
      { name: r.k8sPrimary.contextName, url: r.k8sPrimary.url, token: r.k8sPrimary.token },
      { name: r.k8sSecondary.contextName, url: r.k8sSecondary.url, token: r.k8sSecondary.token },
    ]),
    { mode: 0o600 },
  );
  const caPath = join(dir, 'traffic-manager-ca.pem');
  await writeFile(caPath, r.tm.ca);
  return { kubeconfigPath, caPath };
}

/** Where each simulator listens, with the live simulator beside it (`sim`). */
function describeRunning(
  dir: string,
  r: Running,
  files: ClientFiles,
): Omit<Simulators, 'components' | 'env' | 'stop'> {
  const { route53, arc, tm, k8sPrimary, k8sSecondary, healthPrimary, healthSecondary, s3 } = r;
  return {
    dir,
    ...(arc
      ? {
          arc: {
            endpoints: arc.endpoints,
            controlPanelArn: arc.controlPanelArn,
            primaryControlArn: arc.primaryControlArn,
            secondaryControlArn: arc.secondaryControlArn,
            sim: arc,
          },
        }
      : {}),
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
      caPath: files.caPath,
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
      kubeconfigPath: files.kubeconfigPath,
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
      primaryBucket: BUCKETS.primary,
      secondaryBucket: BUCKETS.secondary,
      sim: s3,
    },
  };
}

/** The bot config's components block pointing at the simulators (Route 53 as the DNS provider). */
function labComponents(
  r: Running,
  files: ClientFiles,
  workloads: LabWorkload[],
): Simulators['components'] {
  const { k8sPrimary, k8sSecondary, s3 } = r;
  const { kubeconfigPath } = files;
  return {
    dns: labDns(r),
    kubernetes: {
      primary: { kubeconfig: kubeconfigPath, context: k8sPrimary.contextName },
      secondary: { kubeconfig: kubeconfigPath, context: k8sSecondary.contextName },
      workloads,
      readyTimeoutSeconds: 60,
      velero: { namespace: 'velero', maxAgeHours: 24, schedules: ['lab-nightly'] },
    },
    objectStorage: {
      provider: 's3',
      primary: { bucket: BUCKETS.primary, region: 'us-east-1', endpoint: s3.url },
      secondary: { bucket: BUCKETS.secondary, region: 'us-east-1', endpoint: s3.url },
      forcePathStyle: true,
      rpoSeconds: 10,
    },
    terraformState: {
      // The primary's lock in a DynamoDB table, the secondary's a lockfile: both kinds on the lab.
      primary: {
        ...labStateSide('primary', s3.url),
        lock: 'dynamodb' as const,
        lockTable: LAB_LOCK_TABLE,
        lockEndpoint: r.tfLocks.url,
      },
      secondary: labStateSide('secondary', s3.url),
    },
    verification: {
      primary: { http: [healthCheck('primary', r.healthPrimary.url)], commands: [] },
      secondary: { http: [healthCheck('secondary', r.healthSecondary.url)], commands: [] },
    },
  };
}

/** components.dns: Route 53's failover records, or with an ARC cluster its routing controls. */
function labDns({ route53, arc }: Running): NonNullable<Simulators['components']['dns']> {
  if (arc)
    return {
      provider: 'route53-arc',
      route53Arc: {
        endpoints: arc.endpoints,
        primaryRoutingControlArn: arc.primaryControlArn,
        secondaryRoutingControlArn: arc.secondaryControlArn,
        timeoutSeconds: 2,
      },
    };
  return {
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
  };
}

function labStateSide(region: 'primary' | 'secondary', url: string) {
  return {
    backend: 's3' as const,
    bucket: LAB_STATE_BUCKETS[region],
    key: LAB_STATE_KEY,
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
  };
}

function healthCheck(region: 'primary' | 'secondary', url: string) {
  return {
    name: `${region} health`,
    url,
    expectStatus: 200,
    bodyMatch: '"status":"ok"',
    timeoutSeconds: 2,
    retries: 2,
  };
}
