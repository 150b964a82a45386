/**
 * The shapes of the lab's simulator set: what startSimulators returns (live simulators), the
 * plain-JSON descriptor a detached simulator process announces, and the options and workloads
 * they are started with. Types only, so every part of the folder can share them.
 */
import type { DrConfigInput } from '../../config/schema.js';
import type { AzureDescriptor } from './azure-lab.js';
import type { BlobReplication } from './blob-replication.js';
import type { HealthServer } from './health.js';
import type { KubernetesSim } from './kubernetes.js';
import type { Route53Sim } from './route53.js';
import type { ArcSim } from './route53-arc.js';
import type { S3Sim } from './s3.js';
import type { TrafficManagerSim } from './traffic-manager.js';

export interface LabWorkload {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
  productionReplicas: number;
  standbyReplicas: number;
}

/** What a lab (or a test) needs to point a bot at running simulators: plain JSON, no live objects. */
export interface SimulatorsDescriptor {
  dir: string;
  route53: Omit<Simulators['route53'], 'sim'>;
  arc?: Omit<NonNullable<Simulators['arc']>, 'sim'>;
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
  azure?: AzureDescriptor;
  env: Record<string, string>;
}

export interface StartSimulatorsOptions {
  /** Where the kubeconfig and the Traffic Manager CA are written (default: a new temp dir). */
  dir?: string;
  workloads?: LabWorkload[];
  /** Time per pod to become ready in the simulated clusters (default 100 ms). */
  podReadyMs?: number;
  /** A Deployment's progress deadline in the simulated clusters (default 30 s). */
  progressDeadlineMs?: number;
  /** Time a Route 53 change stays PENDING (default 300 ms). */
  changeDelayMs?: number;
  ttl?: number;
  /**
   * Which cloud the bot config points at: 'aws' (default: Route 53, S3) or 'azure' (Traffic
   * Manager, Blob on Azurite, Resource Health, with tokens from a local Entra ID).
   */
  cloud?: 'aws' | 'azure';
  /**
   * How the bot config switches DNS on AWS: 'route53' (default: failover records and the primary's
   * health check) or 'route53-arc' (an ARC cluster's routing controls, which the records follow).
   */
  dns?: 'route53' | 'route53-arc';
  /**
   * CloudNativePG in both Kubernetes simulators (the Clusters and an operator acting on the lab
   * whose lab.json is in `labDir`): `dr lab up --postgres cloudnative-pg`.
   */
  cnpg?: { labDir: string };
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
  /** With `dns: 'route53-arc'`: the ARC cluster, its regional endpoints and routing controls. */
  arc?: {
    endpoints: { url: string; region: string }[];
    controlPanelArn: string;
    primaryControlArn: string;
    secondaryControlArn: string;
    sim: ArcSim;
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
  /** The Azure parts, with `cloud: 'azure'`. */
  azure?: AzureDescriptor;
  /** Blob replication between the Azure containers, with `cloud: 'azure'`. */
  blobReplication?: BlobReplication;
  /** Environment the bot needs for these simulators. */
  env: Record<string, string>;
  stop(): Promise<void>;
}
