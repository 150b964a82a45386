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
import type { TerraformStateSideConfig } from '../config/schema/terraform-state.js';
import { createAzureStateCopy } from '../providers/terraform-state-azure.js';
import { createS3StateCopy } from '../providers/terraform-state-s3.js';
import type { TerraformStateCopy } from '../providers/terraform-state.js';
import { createVeleroReader } from '../providers/velero.js';
import {
  dnsCheck,
  drillCheck,
  objectStorageCheck,
  postgresCheck,
  redisCheck,
  standbyWorkloadsCheck,
} from './checks.js';
import type { DrillRecordStore } from './drill-record.js';
import { standbyCostCheck } from './standby-cost.js';
import { terraformStateCheck } from './terraform-check.js';
import { veleroCheck } from './velero-check.js';
import { volatileAllowed } from '../store/durability.js';
import { stateStoreCheck } from './state-store-check.js';
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
    canaryPrefix: o.canaryPrefix,
    rpoSeconds: objectStorageRpoSeconds(config),
  });
}

function stateCopy(
  s: TerraformStateSideConfig,
  which: 'primary' | 'secondary',
  env: NodeJS.ProcessEnv,
): TerraformStateCopy {
  if (s.backend === 's3')
    return createS3StateCopy({
      bucket: s.bucket!,
      key: s.key,
      lock: s.lock,
      ...(s.lockTable ? { lockTable: s.lockTable } : {}),
      ...(s.lockEndpoint ? { lockEndpoint: s.lockEndpoint } : {}),
      forcePathStyle: s.forcePathStyle,
      ...(s.region ? { region: s.region } : {}),
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    });
  if (s.connectionStringEnv) {
    const cs = env[s.connectionStringEnv];
    if (!cs?.trim())
      throw new ConfigError(
        `components.terraformState.${which}.connectionStringEnv: ${s.connectionStringEnv} is not set; export the state storage account's connection string in it`,
      );
    return createAzureStateCopy({ container: s.container!, key: s.key, connectionString: cs });
  }
  return createAzureStateCopy({ container: s.container!, key: s.key, accountUrl: s.accountUrl! });
}

/** The Terraform state check over both regions' copies, when the config has `terraformState`. */
export function terraformCheckFromConfig(
  config: DrConfig,
  env: NodeJS.ProcessEnv,
): { check: ReadinessCheck; close(): Promise<void> } | undefined {
  const t = config.components.terraformState;
  if (!t) return undefined;
  const primary = stateCopy(t.primary, 'primary', env);
  const secondary = stateCopy(t.secondary, 'secondary', env);
  return {
    check: terraformStateCheck({
      primary,
      secondary,
      maxSerialLag: t.maxSerialLag,
      staleLockMinutes: t.staleLockMinutes,
    }),
    close: () => Promise.all([primary.close(), secondary.close()]).then(() => undefined),
  };
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

/**
 * The Velero check when the config has `kubernetes.velero`: backups read from the primary cluster
 * (its storage location), and the secondary's location that must see them.
 */
export function veleroCheckFromConfig(config: DrConfig): ReadinessCheck | undefined {
  const k8s = config.components.kubernetes;
  const v = k8s?.velero;
  if (!k8s || !v) return undefined;
  const reader = (region: 'primary' | 'secondary') =>
    createVeleroReader({
      cluster: k8s[region],
      region,
      namespace: v.namespace,
      maxAgeHours: v.maxAgeHours,
    });
  return veleroCheck({
    primary: reader('primary'),
    secondary: reader('secondary'),
    storageLocation: v.storageLocation,
    secondaryStorageLocation: v.secondaryStorageLocation ?? v.storageLocation,
    schedules: v.schedules,
    maxAgeHours: v.maxAgeHours,
    maxSyncAgeMinutes: v.maxSyncAgeMinutes,
  });
}

export function createReadinessChecks(opts: ReadinessChecksOptions): ReadinessChecks {
  const { config, providers } = opts;
  const checks: ReadinessCheck[] = [];
  if (providers.database)
    checks.push(postgresCheck(providers.database, rpoSeconds(config, 'database')));
  if (providers.cache) checks.push(redisCheck(providers.cache, rpoSeconds(config, 'cache')));
  if (providers.dns) checks.push(dnsCheck(providers.dns, config.targets.rtoMinutes));
  if (providers.cluster)
    checks.push(standbyWorkloadsCheck(providers.cluster), standbyCostCheck(providers.cluster));
  const storage = opts.objectStorage ?? createObjectStorageFromConfig(config, opts.env);
  if (storage) checks.push(objectStorageCheck(storage, objectStorageRpoSeconds(config)));
  const velero = veleroCheckFromConfig(config);
  if (velero) checks.push(velero);
  const terraform = terraformCheckFromConfig(config, opts.env);
  if (terraform) checks.push(terraform.check);
  checks.push(drillCheck(opts.drills, config.environment, config.readiness.drillWarnDays));
  // The drill record lives in the bot's state Redis: the same server this row judges.
  checks.push(stateStoreCheck(opts.drills.redis, volatileAllowed(opts.env)));
  return {
    checks,
    async close() {
      await Promise.all([storage?.close(), terraform?.close()]);
    },
  };
}
