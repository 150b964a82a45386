/**
 * The two replicated data stores the bot promotes: PostgreSQL (fence, promote, resync for
 * failback) and Redis. Each side is a connection reference (see connection-ref.ts).
 */
import { z } from 'zod';
import { auroraGlobal, checkAuroraDriver } from './aurora.js';
import { connectionRefOf } from './connection-ref.js';
import { azureFlexible, checkAzureFlexibleDriver } from './azure-flexible.js';
import { azureCache, checkRedisDriver, elasticacheGlobal, REDIS_DRIVERS } from './redis-driver.js';

/** One RDS DB instance of the rds-replica driver: its identifier and the region it lives in. */
const rdsInstance = z
  .object({
    instanceIdentifier: z
      .string()
      .regex(
        /^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/,
        'an RDS DB instance identifier: a letter, then letters, digits and single hyphens (as in the console)',
      ),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1'),
  })
  .strict();

/** driver rds-replica: the RDS instances behind primary and secondary (the SQL still goes to the URLs). */
const rds = z
  .object({
    primary: rdsInstance,
    secondary: rdsInstance,
    /** The AWS account id, for the source ARN a cross-region CreateDBInstanceReadReplica needs. */
    accountId: z.string().regex(/^\d{12}$/, 'the 12-digit AWS account id'),
    /** Overrides the RDS API URL of both regions (the lab's simulator). */
    endpoint: z.string().url().optional(),
    /** How long a PromoteReadReplica may take until DescribeDBInstances shows it available. */
    promoteTimeoutSeconds: z.number().int().positive().default(900),
    /** Failback: how long the new cross-region replica may take to be available and caught up. */
    rebuildTimeoutMinutes: z.number().int().positive().default(240),
  })
  .strict();

/** A Kubernetes object name (RFC 1123 DNS label or subdomain), as CloudNativePG names Clusters. */
const k8sName = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'a Kubernetes name: lower-case letters, digits and hyphens (as `kubectl get clusters` prints it)',
  );

/**
 * One side's CloudNativePG Cluster: where its Kubernetes API is (kubeconfig and context; default:
 * components.kubernetes of the same region) and the Cluster's namespace and name.
 */
const cnpgSide = z
  .object({
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    namespace: k8sName,
    name: k8sName,
  })
  .strict();

/** driver cloudnative-pg: the two Clusters of a CloudNativePG 1.24+ distributed topology. */
const cloudnativePg = z
  .object({
    primary: cnpgSide,
    secondary: cnpgSide,
    /** How long a demotion, a promotion, or the old primary's join as a replica may take. */
    operationTimeoutSeconds: z.number().int().positive().default(600),
  })
  .strict()
  .refine((c) => c.primary.name !== c.secondary.name, {
    message:
      'the two Clusters need different names: each names the other in externalClusters and spec.replica.primary',
  });

export const postgres = z
  .object({
    /** How failover reaches the servers: streaming (pg_promote, rewind; self-managed) or a platform driver (rds-replica, aurora-global, cloudnative-pg, azure-flexible). */
    driver: z
      .enum(['streaming', 'rds-replica', 'aurora-global', 'cloudnative-pg', 'azure-flexible'])
      .default('streaming'),
    rds: rds.optional(),
    /** driver aurora-global: the global database and its two DB clusters. */
    aurora: auroraGlobal.optional(),
    cloudnativePg: cloudnativePg.optional(),
    azureFlexible: azureFlexible.optional(),
    primary: connectionRefOf('postgres'),
    secondary: connectionRefOf('postgres'),
    promoteTimeoutSeconds: z.number().int().positive().default(60),
    /** Planned failover: how long to wait for the standby to replay the primary's final LSN. */
    catchUpTimeoutSeconds: z.number().int().positive().default(120),
    fence: z
      .object({
        /**
         * read-only: ALTER SYSTEM default_transaction_read_only=on + reload + end client sessions.
         * role: ALTER ROLE <roles> SET default_transaction_read_only=on + end their sessions.
         * command: run `command`.
         */
        method: z.enum(['read-only', 'role', 'command']).default('read-only'),
        command: z.string().optional(),
        /** method role: the application's login roles, made read-only. */
        roles: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .refine((f) => f.method !== 'command' || !!f.command, {
        message: 'fence.method "command" needs fence.command',
      })
      .refine((f) => f.method !== 'role' || (f.roles?.length ?? 0) > 0, {
        message:
          'fence.method "role" needs fence.roles: the login roles the application writes with',
      })
      .refine((f) => f.method === 'role' || f.roles === undefined, {
        message: 'fence.roles is for fence.method "role": set the method or remove roles',
      })
      .default({ method: 'read-only' }),
    /** Write probe used by verification: a `dr_probe` table by default, or a statement. */
    probe: z
      .object({ table: z.string().default('dr_probe'), statement: z.string().optional() })
      .strict()
      .default({ table: 'dr_probe' }),
    /** Failback: host-level commands that rewind/rebuild a side as a standby (see README). */
    resync: z
      .object({
        command: z.string().min(1),
        timeoutSeconds: z.number().int().positive().default(900),
      })
      .strict()
      .optional(),
    /** Failback: tables compared chunk by chunk on both sides (settings: `consistency`). */
    consistencyTables: z.array(z.string()).default([]),
    /**
     * The cluster's system identifier (SELECT system_identifier FROM pg_control_system()). Lets a
     * failover with the primary down tell this cluster's secondary from an unrelated server.
     */
    systemIdentifier: z
      .string({
        error: 'quote the system identifier: YAML reads an unquoted 19-digit number inexactly',
      })
      .regex(
        /^[1-9][0-9]*$/,
        'the system identifier is a number, as SELECT system_identifier FROM pg_control_system() prints it',
      )
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const problem = (path: string, message: string): void =>
      void ctx.addIssue({ code: 'custom', path: [path], message });
    if (p.driver === 'rds-replica') {
      if (!p.rds)
        problem('rds', 'driver rds-replica needs `rds` (primary and secondary instances)');
      if (p.resync)
        problem(
          'resync',
          'driver rds-replica rebuilds the old primary with CreateDBInstanceReadReplica: remove `resync`',
        );
      // RDS and Aurora forbid ALTER SYSTEM (read-only, the default) and give no host (command).
      if (p.fence.method !== 'role')
        problem(
          'fence',
          `driver rds-replica cannot fence with method ${p.fence.method}${p.fence.method === 'command' ? ': there is no host to run it on' : ' (the default): RDS forbids ALTER SYSTEM'}. Set fence: { method: role, roles: [...] }, the login roles the application writes with`,
        );
    } else if (p.rds) {
      problem(
        'rds',
        'an `rds` block is for driver rds-replica; set driver: rds-replica or remove it',
      );
    }
    if (p.driver === 'cloudnative-pg') {
      if (!p.cloudnativePg)
        problem(
          'cloudnativePg',
          'driver cloudnative-pg needs `cloudnativePg` (primary and secondary: namespace and name of each Cluster)',
        );
      // The operator owns the servers: a host command or an ALTER ROLE/SYSTEM fence fights it.
      if (p.resync)
        problem(
          'resync',
          'driver cloudnative-pg: the operator makes the old primary follow (or it is re-cloned as a new replica Cluster); a host resync command would fight it: remove `resync`',
        );
      if (p.fence.method !== 'read-only')
        problem(
          'fence',
          `driver cloudnative-pg fences by demoting the primary Cluster (spec.replica.primary); fence method ${p.fence.method} would change servers the operator manages: remove \`fence\``,
        );
    } else if (p.cloudnativePg) {
      problem(
        'cloudnativePg',
        'a `cloudnativePg` block is for driver cloudnative-pg; set driver: cloudnative-pg or remove it',
      );
    }
    checkAzureFlexibleDriver(p, problem);
    checkAuroraDriver(p, problem);
  });

export const redis = z
  .object({
    primary: connectionRefOf('redis'),
    secondary: connectionRefOf('redis'),
    promoteTimeoutSeconds: z.number().int().positive().default(30),
    /** Planned: use FAILOVER TO where the server supports it (Redis >= 6.2). */
    useFailoverCommand: z.boolean().default(true),
    /** How the switch is made: replication (self-managed) or a platform's control plane. */
    driver: z.enum(REDIS_DRIVERS).default('replication'),
    elasticache: elasticacheGlobal.optional(),
    azureCache: azureCache.optional(),
  })
  .strict()
  .superRefine(checkRedisDriver);
