/**
 * How the cache is switched: `replication` (self-managed servers: FAILOVER TO / REPLICAOF) or a
 * managed platform's control-plane call. Kept apart from databases.ts so each driver's block is
 * validated here, beside the driver names.
 */
import { z } from 'zod';

export const REDIS_DRIVERS = ['replication', 'elasticache-global', 'azure-cache'] as const;

const member = z
  .object({
    /** The AWS region of this member, e.g. eu-west-1. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region name, e.g. eu-west-1'),
    /** The member's replication group id (the regional cluster). */
    replicationGroupId: z.string().min(1),
    /** The node whose CloudWatch lag metric is read; default `<replicationGroupId>-001`. */
    cacheClusterId: z.string().min(1).optional(),
  })
  .strict();

export const elasticacheGlobal = z
  .object({
    /** As AWS shows it, with its generated prefix (e.g. ldgnf-my-datastore). */
    globalReplicationGroupId: z.string().min(1),
    primary: member,
    secondary: member,
    /** Planned: CLIENT PAUSE WRITE on the primary endpoint until the secondary caught up. */
    pauseWrites: z.boolean().default(true),
    /** How long a failover may take to report the new roles (AWS: minutes). */
    failoverTimeoutSeconds: z.number().int().positive().default(900),
    /** API endpoint override (the lab simulator); default the region's. */
    endpoint: z.string().url().optional(),
    /** CloudWatch endpoint override (the lab simulator), for the lag metric. */
    cloudwatchEndpoint: z.string().url().optional(),
  })
  .strict();

const azureCacheRef = z
  .object({
    /** The resource group of this cache. */
    resourceGroup: z.string().min(1),
    /** The cache's name (its resource name, not the host name). */
    name: z.string().regex(/^[A-Za-z0-9-]{1,63}$/, 'an Azure Cache for Redis name'),
  })
  .strict();

export const azureCache = z
  .object({
    /** Both caches are in one subscription (a prerequisite of geo-replication). */
    subscriptionId: z.string().min(1),
    primary: azureCacheRef,
    secondary: azureCacheRef,
    /** Planned: CLIENT PAUSE WRITE on the geo-primary until the secondary caught up. */
    pauseWrites: z.boolean().default(true),
    /** How long a link or unlink may run (a link copies the whole dataset). */
    operationTimeoutSeconds: z.number().int().positive().default(1800),
    /** How often the ARM operation is polled. */
    pollIntervalMs: z.number().int().positive().default(5000),
    /** ARM endpoint override (the lab simulator); default management.azure.com. */
    endpoint: z.string().url().optional(),
  })
  .strict()
  .refine((a) => a.primary.name.toLowerCase() !== a.secondary.name.toLowerCase(), {
    message: 'primary and secondary name the same cache: a cache cannot be linked to itself',
    path: ['secondary', 'name'],
  });

/** A driver's block, and blocks that belong to other drivers. */
const BLOCKS = [
  {
    driver: 'elasticache-global',
    key: 'elasticache',
    needs: 'globalReplicationGroupId, primary and secondary region and replicationGroupId',
  },
  {
    driver: 'azure-cache',
    key: 'azureCache',
    needs: 'subscriptionId, primary and secondary resourceGroup and name',
  },
] as const;

/** The driver and its block must agree: a clear error naming what to add or remove. */
export function checkRedisDriver(
  r: { driver: (typeof REDIS_DRIVERS)[number]; elasticache?: unknown; azureCache?: unknown },
  ctx: z.RefinementCtx,
): void {
  for (const b of BLOCKS) {
    if (r.driver === b.driver && r[b.key] === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [b.key],
        message: `driver ${b.driver} needs \`${b.key}\` (${b.needs})`,
      });
    if (r.driver !== b.driver && r[b.key] !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [b.key],
        message: `\`${b.key}\` is for driver ${b.driver}; driver is ${r.driver}: set driver: ${b.driver} or remove the block`,
      });
  }
}
