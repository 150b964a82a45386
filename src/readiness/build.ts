/**
 * The readiness checks of a config: one per configured component, plus the drill age. Object
 * storage and Velero readers are built here from their config blocks, because no operation step
 * uses them; the other checks reuse the operation's providers.
 */
import type { DrConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { createAzureBlobSide } from '../providers/azure-blob.js';
import { createAzureCredential } from '../providers/azure-credential.js';
import {
  createObjectStorageProvider,
  type ObjectStorageProvider,
  type ObjectStoreSide,
} from '../providers/object-storage.js';
import { createS3Side } from '../providers/s3.js';
import type { Providers } from '../providers/types.js';
import { createVeleroReader } from '../providers/velero.js';
import {
  dnsCheck,
  drillCheck,
  objectStorageCheck,
  postgresCheck,
  redisCheck,
  standbyWorkloadsCheck,
  veleroCheck,
} from './checks.js';
import type { DrillRecordStore } from './drill-record.js';
import type { ReadinessCheck } from './types.js';

type ObjectStorageConfig = NonNullable<DrConfig['components']['objectStorage']>;

/** A component's RPO in seconds: targets.rpoMinutesByComponent, else targets.rpoMinutes. */
function rpoSeconds(config: DrConfig, component: 'database' | 'cache' | 'objectStorage'): number {
  return (config.targets.rpoMinutesByComponent?.[component] ?? config.targets.rpoMinutes) * 60;
}

/** The canary's RPO: components.objectStorage.rpoSeconds, else the object-storage RPO target. */
export function objectStorageRpoSeconds(config: DrConfig): number {
  return config.components.objectStorage?.rpoSeconds ?? rpoSeconds(config, 'objectStorage');
}

function side(
  config: DrConfig,
  o: ObjectStorageConfig,
  which: 'primary' | 'secondary',
  env: NodeJS.ProcessEnv,
): ObjectStoreSide {
  const s = o[which];
  const key = `components.objectStorage.${which}`;
  if (o.provider === 's3') {
    return createS3Side({
      bucket: s.bucket!,
      ...(s.region ? { region: s.region } : {}),
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
    });
  }
  if (s.connectionStringEnv) {
    const cs = env[s.connectionStringEnv];
    if (!cs?.trim())
      throw new ConfigError(
        `${key}.connectionStringEnv: ${s.connectionStringEnv} is not set; export the storage account's connection string in it`,
      );
    return createAzureBlobSide({ container: s.container!, connectionString: cs });
  }
  return createAzureBlobSide({
    container: s.container!,
    accountUrl: s.accountUrl!,
    credential: createAzureCredential(config),
  });
}

export function createObjectStorageFromConfig(
  config: DrConfig,
  env: NodeJS.ProcessEnv,
): ObjectStorageProvider | undefined {
  const o = config.components.objectStorage;
  if (!o) return undefined;
  return createObjectStorageProvider({
    name: o.provider,
    primary: side(config, o, 'primary', env),
    secondary: side(config, o, 'secondary', env),
    canaryKey: `${o.canaryPrefix}${config.environment}`,
    rpoSeconds: objectStorageRpoSeconds(config),
  });
}

export interface ReadinessChecksOptions {
  config: DrConfig;
  providers: Providers;
  env: NodeJS.ProcessEnv;
  /** Where the last drill is recorded. */
  drills: DrillRecordStore;
  /** Built from config when not given (tests hand in their own). */
  objectStorage?: ObjectStorageProvider;
}

export interface ReadinessChecks {
  checks: ReadinessCheck[];
  close(): Promise<void>;
}

/** The Velero backup check on the secondary cluster, when the config has `kubernetes.velero`. */
export function veleroCheckFromConfig(config: DrConfig): ReadinessCheck | undefined {
  const k8s = config.components.kubernetes;
  if (!k8s?.velero) return undefined;
  const velero = createVeleroReader({
    cluster: k8s.secondary,
    region: 'secondary',
    namespace: k8s.velero.namespace,
    maxAgeHours: k8s.velero.maxAgeHours,
  });
  return veleroCheck(velero, k8s.velero.maxAgeHours);
}

export function createReadinessChecks(opts: ReadinessChecksOptions): ReadinessChecks {
  const { config, providers } = opts;
  const checks: ReadinessCheck[] = [];
  if (providers.database)
    checks.push(postgresCheck(providers.database, rpoSeconds(config, 'database')));
  if (providers.cache) checks.push(redisCheck(providers.cache, rpoSeconds(config, 'cache')));
  if (providers.dns) checks.push(dnsCheck(providers.dns, config.targets.rtoMinutes));
  if (providers.cluster) checks.push(standbyWorkloadsCheck(providers.cluster));
  const storage = opts.objectStorage ?? createObjectStorageFromConfig(config, opts.env);
  if (storage) checks.push(objectStorageCheck(storage, objectStorageRpoSeconds(config)));
  const velero = veleroCheckFromConfig(config);
  if (velero) checks.push(velero);
  checks.push(drillCheck(opts.drills, config.environment, config.readiness.drillWarnDays));
  return {
    checks,
    async close() {
      await storage?.close();
    },
  };
}
