/**
 * Builds the provider of each configured component, one small function per component. A
 * configured component is never skipped: its provider is built (or start-up stops with a
 * ConfigError), because a silently skipped DNS switch would look like a successful failover.
 */
import {
  createObjectStorageFromConfig,
  objectStorageRpoSeconds,
  terraformCheckFromConfig,
} from '../readiness/build.js';
import { terraformStateCard } from '../readiness/terraform-card.js';
import { withKubernetesRights } from './kubernetes-rights.js';
import { createObjectStorageFailback } from './object-storage-failback.js';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { resolveConnection } from '../config/connection.js';
import type { DrConfig } from '../config/schema.js';
import type {
  CacheProvider,
  ClusterProvider,
  DatabaseProvider,
  DnsProvider,
  Inspectable,
  Providers,
  VerificationProvider,
  WriteLoadProvider,
} from './types.js';
import { createAzureCredential, readAzureCa } from './azure-credential.js';
import { createHealthProvider } from './health.js';
import { createKubernetesProvider } from './kubernetes.js';
import {
  createPostgresProvider,
  type PostgresServerMemory,
  type SystemIdentifierMemory,
} from './postgres/index.js';
import { createAzureFlexibleProvider } from './postgres/azure-flexible.js';
import { createAuroraGlobalProvider } from './postgres/aurora-global.js';
import { createRdsReplicaProvider } from './postgres/rds-replica.js';
import { createCloudNativePgProvider } from './postgres/cloudnative-pg.js';
import { createRedisProvider } from './redis/index.js';
import { createAzureCacheProvider } from './redis-azure-cache/index.js';
import { createElastiCacheGlobalProvider } from './redis-elasticache/index.js';
import { createRoute53Provider } from './route53/index.js';
import { createRoute53ArcProvider } from './route53-arc/index.js';
import { createTrafficManagerProvider } from './traffic-manager/index.js';
import { createVerificationProvider } from './verification.js';
import { createCustomActionProvider } from './custom-actions.js';
import { createWriteLoadProvider } from './write-load.js';

/** `dr start` checks the Azure credential before serving; it loads this module lazily. */
export { checkAzureCredential } from './azure-credential.js';
/** Detection's provider status reader is built from config like the providers, so `dr start` gets it here. */
export { createProviderStatusReader } from './provider-status.js';
export {
  keptPostgresFacts,
  keyValuePostgresServers,
  keyValueSystemIdentifier,
} from './postgres/index.js';

type Components = DrConfig['components'];

function buildDatabase(
  pg: NonNullable<Components['postgres']>,
  consistency: DrConfig['consistency'],
  env: NodeJS.ProcessEnv,
  log: Logger,
  identity?: SystemIdentifierMemory,
  servers?: PostgresServerMemory,
  kubernetes?: Components['kubernetes'],
  azure: Pick<DrConfig, 'azure'> = {},
): DatabaseProvider {
  const opts = {
    primaryUrl: resolveConnection(pg.primary, env, 'components.postgres.primary'),
    secondaryUrl: resolveConnection(pg.secondary, env, 'components.postgres.secondary'),
    promoteTimeoutSeconds: pg.promoteTimeoutSeconds,
    catchUpTimeoutSeconds: pg.catchUpTimeoutSeconds,
    fence: pg.fence,
    probe: pg.probe,
    ...(pg.resync ? { resync: pg.resync } : {}),
    consistencyTables: pg.consistencyTables,
    consistency: {
      ...consistency.postgres,
      attempts: consistency.attempts,
      timeBudgetSeconds: consistency.timeBudgetSeconds,
      unproven: consistency.unproven,
    },
    ...(pg.systemIdentifier ? { systemIdentifier: pg.systemIdentifier } : {}),
    ...(identity ? { identity } : {}),
    ...(servers ? { servers } : {}),
    log,
  };
  if (pg.driver === 'streaming') return createPostgresProvider(opts);
  if (pg.driver === 'aurora-global') {
    if (!pg.aurora)
      throw new ConfigError('components.postgres.aurora: missing; driver is aurora-global');
    return createAuroraGlobalProvider(opts, pg.aurora);
  }
  if (pg.driver === 'cloudnative-pg') {
    if (!pg.cloudnativePg)
      throw new ConfigError('components.postgres.cloudnativePg: missing; driver is cloudnative-pg');
    const { primary, secondary, operationTimeoutSeconds } = pg.cloudnativePg;
    // Each side's Kubernetes API: its own kubeconfig/context, else components.kubernetes'.
    const side = (s: typeof primary, k: { kubeconfig?: string; context?: string } | undefined) => ({
      ...s,
      ...((s.kubeconfig ?? k?.kubeconfig) ? { kubeconfig: s.kubeconfig ?? k?.kubeconfig } : {}),
      ...((s.context ?? k?.context) ? { context: s.context ?? k?.context } : {}),
    });
    return createCloudNativePgProvider(opts, {
      primary: side(primary, kubernetes?.primary),
      secondary: side(secondary, kubernetes?.secondary),
      operationTimeoutSeconds,
    });
  }
  // Credentials from DefaultAzureCredential's chain; azure.caFile for a private ARM (the lab).
  if (pg.driver === 'azure-flexible') {
    if (!pg.azureFlexible)
      throw new ConfigError('components.postgres.azureFlexible: missing; driver is azure-flexible');
    return createAzureFlexibleProvider(opts, {
      ...pg.azureFlexible,
      credential: createAzureCredential(azure),
      ...(azure.azure?.caFile ? { ca: readAzureCa(azure.azure.caFile) } : {}),
      log,
    });
  }
  // The schema requires `rds` with this driver; the check keeps a hand-built config honest.
  if (!pg.rds) throw new ConfigError('components.postgres.rds: missing; driver is rds-replica');
  return createRdsReplicaProvider(opts, pg.rds);
}

function buildCache(
  redis: NonNullable<Components['redis']>,
  config: Pick<DrConfig, 'consistency' | 'azure'>,
  env: NodeJS.ProcessEnv,
  log: Logger,
): CacheProvider {
  const primaryUrl = resolveConnection(redis.primary, env, 'components.redis.primary');
  const secondaryUrl = resolveConnection(redis.secondary, env, 'components.redis.secondary');
  const { consistency } = config;
  const check = {
    ...consistency.redis,
    attempts: consistency.attempts,
    timeBudgetSeconds: consistency.timeBudgetSeconds,
  };
  // Credentials from DefaultAzureCredential's chain; azure.caFile for a private ARM (the lab).
  if (redis.driver === 'azure-cache' && redis.azureCache)
    return createAzureCacheProvider({
      ...redis.azureCache,
      credential: createAzureCredential(config),
      ...(config.azure?.caFile ? { ca: readAzureCa(config.azure.caFile) } : {}),
      primaryUrl,
      secondaryUrl,
      promoteTimeoutSeconds: redis.promoteTimeoutSeconds,
      consistency: check,
      log,
    });
  if (redis.driver === 'elasticache-global' && redis.elasticache)
    return createElastiCacheGlobalProvider({
      ...redis.elasticache,
      primaryUrl,
      secondaryUrl,
      promoteTimeoutSeconds: redis.promoteTimeoutSeconds,
      consistency: check,
      log,
    });
  return createRedisProvider({
    primaryUrl,
    secondaryUrl,
    promoteTimeoutSeconds: redis.promoteTimeoutSeconds,
    useFailoverCommand: redis.useFailoverCommand,
    consistency: check,
    log,
  });
}

function resolution(dns: NonNullable<Components['dns']>): {
  resolveName?: string;
  resolverServers?: string[];
} {
  return {
    ...(dns.resolveName ? { resolveName: dns.resolveName } : {}),
    ...(dns.resolverServers ? { resolverServers: [...dns.resolverServers] } : {}),
  };
}

function readCaFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file`,
    );
  }
}

function buildDns(config: DrConfig, dns: NonNullable<Components['dns']>, log: Logger): DnsProvider {
  const { targets } = config;
  if (dns.provider === 'route53') {
    const r = dns.route53;
    if (!r) throw new ConfigError('components.dns.route53: missing; dns.provider is route53');
    return createRoute53Provider({
      hostedZoneId: r.hostedZoneId,
      recordName: r.recordName,
      recordType: r.recordType,
      primarySetIdentifier: r.primarySetIdentifier,
      secondarySetIdentifier: r.secondarySetIdentifier,
      method: r.method,
      ...(r.primaryHealthCheckId ? { primaryHealthCheckId: r.primaryHealthCheckId } : {}),
      allowUnhealthyTarget: r.allowUnhealthyTarget,
      ...(r.endpoint ? { endpoint: r.endpoint } : {}),
      region: r.region,
      changeTimeoutSeconds: r.changeTimeoutSeconds,
      rtoMinutes: targets.rtoMinutes,
      ...resolution(dns),
      log,
    });
  }
  if (dns.provider === 'route53-arc') {
    const a = dns.route53Arc;
    if (!a)
      throw new ConfigError('components.dns.route53Arc: missing; dns.provider is route53-arc');
    return createRoute53ArcProvider({
      endpoints: a.endpoints.map((e) => ({ url: e.url, region: e.region })),
      primaryRoutingControlArn: a.primaryRoutingControlArn,
      secondaryRoutingControlArn: a.secondaryRoutingControlArn,
      timeoutSeconds: a.timeoutSeconds,
      log,
    });
  }
  const t = dns.trafficManager;
  if (!t)
    throw new ConfigError(
      'components.dns.trafficManager: missing; dns.provider is traffic-manager',
    );
  // Credentials come from DefaultAzureCredential's chain (env, workload/managed identity, CLI).
  return createTrafficManagerProvider({
    credential: createAzureCredential(config),
    subscriptionId: t.subscriptionId,
    resourceGroup: t.resourceGroup,
    profileName: t.profileName,
    primaryEndpoint: t.primaryEndpoint,
    secondaryEndpoint: t.secondaryEndpoint,
    endpointType: t.endpointType,
    method: t.method,
    ...(t.endpoint ? { endpoint: t.endpoint } : {}),
    ...(t.caFile ? { ca: readCaFile(t.caFile, 'components.dns.trafficManager.caFile') } : {}),
    rtoMinutes: targets.rtoMinutes,
    ...resolution(dns),
    log,
  });
}

function buildCluster(k8s: NonNullable<Components['kubernetes']>, log: Logger): ClusterProvider {
  const cluster = createKubernetesProvider({
    primary: k8s.primary,
    secondary: k8s.secondary,
    workloads: k8s.workloads,
    readyTimeoutSeconds: k8s.readyTimeoutSeconds,
    log,
  });
  return withKubernetesRights(cluster, {
    primary: k8s.primary,
    secondary: k8s.secondary,
    workloads: k8s.workloads,
    ...(k8s.velero ? { veleroNamespace: k8s.velero.namespace } : {}),
  });
}

function buildVerification(
  v: NonNullable<Components['verification']>,
  log: Logger,
): VerificationProvider {
  return createVerificationProvider({ primary: v.primary, secondary: v.secondary, log });
}

/** A drill's write load goes through the same connections the database and cache providers use. */
function buildWriteLoad(c: Components, env: NodeJS.ProcessEnv, log: Logger): WriteLoadProvider {
  return createWriteLoadProvider({
    ...(c.postgres
      ? {
          postgres: {
            primaryUrl: resolveConnection(c.postgres.primary, env, 'components.postgres.primary'),
            secondaryUrl: resolveConnection(
              c.postgres.secondary,
              env,
              'components.postgres.secondary',
            ),
            fence: c.postgres.fence,
          },
        }
      : {}),
    ...(c.redis
      ? {
          redis: {
            primaryUrl: resolveConnection(c.redis.primary, env, 'components.redis.primary'),
            secondaryUrl: resolveConnection(c.redis.secondary, env, 'components.redis.secondary'),
          },
        }
      : {}),
    log,
  });
}

/**
 * One provider per configured component; absent components stay absent (their steps skip).
 * `postgresIdentity`: where the PostgreSQL provider remembers the cluster's system identifier
 * (`dr start`, `dr console`: the bot's Redis); in memory without it. `postgresServers`: where it keeps each
 * server's planned-failover fence and last writer reading (`dr start`, `dr console`: the bot's Redis).
 */
export function createProviders(
  config: DrConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: { postgresIdentity?: SystemIdentifierMemory; postgresServers?: PostgresServerMemory } = {},
): Providers {
  const c = config.components;
  const built: Inspectable[] = [];
  const keep = <T extends Inspectable>(p: T): T => {
    built.push(p);
    return p;
  };
  try {
    const providers: Providers = {};
    if (c.postgres)
      providers.database = keep(
        buildDatabase(
          c.postgres,
          config.consistency,
          env,
          log.child({ provider: 'postgres' }),
          opts.postgresIdentity,
          opts.postgresServers,
          c.kubernetes,
          config,
        ),
      );
    if (c.redis)
      providers.cache = keep(buildCache(c.redis, config, env, log.child({ provider: 'redis' })));
    if (c.dns)
      providers.dns = keep(buildDns(config, c.dns, log.child({ provider: c.dns.provider })));
    if (c.kubernetes)
      providers.cluster = keep(buildCluster(c.kubernetes, log.child({ provider: 'kubernetes' })));
    if (c.verification)
      providers.verification = keep(
        buildVerification(c.verification, log.child({ provider: 'verification' })),
      );
    const { primary, secondary } = config.regions;
    if (primary.healthUrl || secondary.healthUrl) {
      providers.health = keep(
        createHealthProvider({
          ...(primary.healthUrl ? { primaryUrl: primary.healthUrl } : {}),
          ...(secondary.healthUrl ? { secondaryUrl: secondary.healthUrl } : {}),
          log: log.child({ provider: 'health' }),
        }),
      );
    }
    if (c.postgres || c.redis) providers.writeLoad = keep(buildWriteLoad(c, env, log));
    const storage = createObjectStorageFromConfig(config, env);
    if (storage)
      providers.objectStorage = keep(
        createObjectStorageFailback({
          storage,
          reverseReplication: c.objectStorage!.reverseReplication,
          rpoSeconds: objectStorageRpoSeconds(config),
        }),
      );
    const terraform = terraformCheckFromConfig(config, env);
    if (terraform)
      providers.terraformState = keep(terraformStateCard(terraform.check, terraform.close));
    if (config.runbook.steps.some((s) => s.command || s.http))
      providers.customActions = createCustomActionProvider(env);
    return providers;
  } catch (err) {
    // Providers built before the failure may hold pools: release them, start-up is over anyway.
    for (const p of built) p.close().catch(() => undefined);
    throw err;
  }
}

/** Close every provider, logging (not throwing) failures so shutdown always finishes. */
export async function closeProviders(providers: Providers, log: Logger): Promise<void> {
  await Promise.all(
    Object.values(providers).map(async (p: Inspectable | undefined) => {
      if (!p) return;
      try {
        await p.close();
      } catch (err) {
        log.warn({ err, provider: p.name }, 'closing provider failed');
      }
    }),
  );
}
