/**
 * The `components` section: one optional block per component the bot acts on. A component left
 * out is skipped as "not configured". Kubernetes, object storage and verification live here; the
 * data stores and DNS have their own modules.
 */
import { z } from 'zod';
import { postgres, redis } from './databases.js';
import { dns } from './dns.js';
import { envName } from './fields.js';
import { terraformState } from './terraform-state.js';

const clusterRef = z
  .object({
    /** Path to a kubeconfig file; default: the standard lookup (KUBECONFIG, ~/.kube/config). */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
  })
  .strict();

const workload = z
  .object({
    kind: z.enum(['Deployment', 'StatefulSet']),
    namespace: z.string().min(1),
    name: z.string().min(1),
    productionReplicas: z.number().int().min(0),
    standbyReplicas: z.number().int().min(0),
    /** A HorizontalPodAutoscaler on it: raise its bounds to production size, or leave it (refused). */
    autoscaler: z.enum(['raise', 'leave']).default('raise'),
  })
  .strict();

const kubernetes = z
  .object({
    primary: clusterRef,
    secondary: clusterRef,
    workloads: z.array(workload).min(1),
    readyTimeoutSeconds: z.number().int().positive().default(600),
    /**
     * Readiness: Velero backups of the cluster state, read from the primary cluster (its storage
     * location), and the secondary's location that must see them for a restore there.
     */
    velero: z
      .object({
        namespace: z.string().min(1).default('velero'),
        /** The newest completed backup (of each schedule) must be younger than this. */
        maxAgeHours: z.number().positive().default(24),
        /** Schedules whose newest backup is judged; empty: the newest backup of any. */
        schedules: z.array(z.string().min(1)).default([]),
        /** The primary's BackupStorageLocation the backups are stored in. */
        storageLocation: z.string().min(1).default('default'),
        /** The secondary's location on the same bucket; default the same name. */
        secondaryStorageLocation: z.string().min(1).optional(),
        /** The secondary's location must have synced within this. */
        maxSyncAgeMinutes: z.number().positive().default(10),
      })
      .strict()
      .optional(),
  })
  .strict();

/** One bucket (S3) or container (Azure Blob) of one region. */
const objectStorageSide = z
  .object({
    /** S3: bucket name and its region; endpoint overrides the API URL (S3-compatible servers, the lab). */
    bucket: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    endpoint: z.string().url().optional(),
    /** Azure Blob: container, and either accountUrl (DefaultAzureCredential) or connectionStringEnv. */
    container: z.string().min(1).optional(),
    accountUrl: z.string().url().optional(),
    /** Name of an environment variable holding a connection string (never the string itself). */
    connectionStringEnv: envName.optional(),
  })
  .strict();

const objectStorage = z
  .object({
    provider: z.enum(['s3', 'azure-blob']),
    primary: objectStorageSide,
    secondary: objectStorageSide,
    /** S3: path-style addressing (S3-compatible servers, the lab simulator). */
    forcePathStyle: z.boolean().default(false),
    /** The canary object is <canaryPrefix><environment>; the replication rule must cover the prefix. */
    canaryPrefix: z.string().min(1).default('dr-bot-canary/'),
    /** How long the canary may take to reach the secondary; default targets.rpoMinutesByComponent.objectStorage (1 min). */
    rpoSeconds: z.number().positive().optional(),
    /** A rule replicates the secondary back to the primary: failback checks it with a reverse canary. */
    reverseReplication: z.boolean().default(false),
  })
  .strict()
  .superRefine((o, ctx) => {
    for (const side of ['primary', 'secondary'] as const) {
      const s = o[side];
      const problem = (message: string): void =>
        void ctx.addIssue({ code: 'custom', path: [side], message });
      if (o.provider === 's3') {
        if (!s.bucket) problem('provider s3 needs `bucket`');
        if (s.container || s.accountUrl || s.connectionStringEnv)
          problem(
            'container, accountUrl and connectionStringEnv are for provider azure-blob; use bucket, region, endpoint',
          );
      } else {
        if (!s.container) problem('provider azure-blob needs `container`');
        if ((s.accountUrl === undefined) === (s.connectionStringEnv === undefined))
          problem('provider azure-blob needs exactly one of `accountUrl` or `connectionStringEnv`');
        if (s.bucket || s.region || s.endpoint)
          problem(
            'bucket, region and endpoint are for provider s3; use container with accountUrl or connectionStringEnv',
          );
      }
    }
  });

const httpCheck = z
  .object({
    name: z.string().min(1),
    url: z.string().url(),
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyMatch: z.string().optional(),
    timeoutSeconds: z.number().positive().default(5),
    retries: z.number().int().min(0).default(3),
  })
  .strict();

const commandCheck = z
  .object({
    name: z.string().min(1),
    command: z.string().min(1),
    timeoutSeconds: z.number().positive().default(300),
  })
  .strict();

const regionChecks = z
  .object({
    http: z.array(httpCheck).default([]),
    commands: z.array(commandCheck).default([]),
  })
  .strict();

const verification = z
  .object({
    primary: regionChecks.default({ http: [], commands: [] }),
    secondary: regionChecks.default({ http: [], commands: [] }),
  })
  .strict();

export const components = z
  .object({
    postgres: postgres.optional(),
    redis: redis.optional(),
    dns: dns.optional(),
    kubernetes: kubernetes.optional(),
    verification: verification.optional(),
    objectStorage: objectStorage.optional(),
    terraformState: terraformState.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // cloudnative-pg: each side's Kubernetes API, from its own block or components.kubernetes.
    const cnpg = c.postgres?.driver === 'cloudnative-pg' ? c.postgres.cloudnativePg : undefined;
    if (!cnpg) return;
    const where = (side: 'primary' | 'secondary'): string =>
      `${cnpg[side].kubeconfig ?? c.kubernetes?.[side].kubeconfig ?? '(default kubeconfig)'} / ${cnpg[side].context ?? c.kubernetes?.[side].context ?? '(current context)'}`;
    if (where('primary') === where('secondary'))
      ctx.addIssue({
        code: 'custom',
        path: ['postgres', 'cloudnativePg', 'secondary', 'context'],
        message: `both Clusters would be reached through the same Kubernetes API (${where('primary')}): set context (or kubeconfig) on cloudnativePg.primary and .secondary, or components.kubernetes.primary/secondary`,
      });
  })
  .default({});
