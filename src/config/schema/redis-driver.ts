/**
 * How the cache is switched: `replication` (self-managed servers: FAILOVER TO / REPLICAOF) or a
 * managed platform's control-plane call. Kept apart from databases.ts so each driver's block is
 * validated here, beside the driver names.
 */
import { z } from 'zod';

export const REDIS_DRIVERS = ['replication', 'elasticache-global'] as const;

const member = z
  .object({
    /** The AWS region of this member, e.g. eu-west-1. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region name, e.g. eu-west-1'),
    /** The member's replication group id (the regional cluster). */
    replicationGroupId: z.string().min(1),
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
  })
  .strict();

/** The driver and its block must agree: a clear error naming what to add or remove. */
export function checkRedisDriver(
  r: { driver: (typeof REDIS_DRIVERS)[number]; elasticache?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (r.driver === 'elasticache-global' && r.elasticache === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['elasticache'],
      message:
        'driver elasticache-global needs `elasticache` (globalReplicationGroupId, primary and secondary region and replicationGroupId)',
    });
  if (r.driver !== 'elasticache-global' && r.elasticache !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['elasticache'],
      message: `\`elasticache\` is for driver elasticache-global; driver is ${r.driver}: set driver: elasticache-global or remove the block`,
    });
}
