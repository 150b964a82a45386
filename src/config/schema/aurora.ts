/**
 * driver aurora-global: the Aurora Global Database behind components.postgres (the SQL still goes
 * to the URLs, the writer and reader endpoints of each region's DB cluster). Kept apart from
 * databases.ts so the block and its cross-checks live beside each other.
 */
import { z } from 'zod';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const CLUSTER_ID = /^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:rds:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):cluster:(.+)$/;

/** One region's DB cluster: its identifier (with accountId) or its ARN, and its region. */
const auroraCluster = z
  .object({
    clusterIdentifier: z
      .string()
      .regex(
        CLUSTER_ID,
        'an Aurora DB cluster identifier: a letter, then letters, digits and single hyphens (as in the console)',
      )
      .optional(),
    arn: z
      .string()
      .regex(CLUSTER_ARN, 'a DB cluster ARN: arn:aws:rds:REGION:ACCOUNT:cluster:NAME')
      .optional(),
    region: z.string().regex(REGION, 'an AWS region such as eu-west-1'),
  })
  .strict()
  .refine((c) => (c.clusterIdentifier === undefined) !== (c.arn === undefined), {
    message: 'give the DB cluster as clusterIdentifier or as arn (one of them)',
  })
  .refine((c) => !c.arn || CLUSTER_ARN.exec(c.arn)?.[1] === c.region, {
    message: 'the ARN names another region than `region`',
    path: ['arn'],
  });

export const auroraGlobal = z
  .object({
    /** The global database's name (GlobalClusterIdentifier). */
    globalClusterIdentifier: z
      .string()
      .regex(/^[A-Za-z][0-9A-Za-z-:._]*$/, 'a global cluster identifier, as in the console'),
    primary: auroraCluster,
    secondary: auroraCluster,
    /** Builds the clusters' ARNs from clusterIdentifier (needed unless both are given as arn). */
    accountId: z
      .string()
      .regex(/^\d{12}$/, 'the 12-digit AWS account id')
      .optional(),
    /** Overrides the RDS API URL of both regions (the lab's simulator). */
    endpoint: z.string().url().optional(),
    /** How long a SwitchoverGlobalCluster may take until the target is the writer. */
    switchoverTimeoutMinutes: z.number().int().positive().default(30),
    /** How long a FailoverGlobalCluster may take until the target is the writer. */
    failoverTimeoutMinutes: z.number().int().positive().default(30),
    /** Failback after a failover: how long Aurora may take to re-add the old region (hours). */
    rejoinTimeoutMinutes: z.number().int().positive().default(1440),
    /** How often DescribeGlobalClusters is polled while Aurora works. */
    pollIntervalMs: z.number().int().positive().default(5000),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.accountId && (a.primary.clusterIdentifier || a.secondary.clusterIdentifier))
      ctx.addIssue({
        code: 'custom',
        path: ['accountId'],
        message:
          'accountId is needed to build the DB cluster ARNs Aurora wants (or give both clusters as arn)',
      });
    if (a.primary.region === a.secondary.region)
      ctx.addIssue({
        code: 'custom',
        path: ['secondary', 'region'],
        message:
          'a global database spans two regions: the secondary cannot be in the primary region',
      });
  });

export type AuroraGlobalConfig = z.output<typeof auroraGlobal>;

/** The ARN Aurora wants for a member (TargetDbClusterIdentifier). */
export function auroraClusterArn(
  a: Pick<AuroraGlobalConfig, 'accountId'>,
  c: AuroraGlobalConfig['primary'],
): string {
  return c.arn ?? `arn:aws:rds:${c.region}:${a.accountId}:cluster:${c.clusterIdentifier}`;
}

/** The cluster's identifier, from clusterIdentifier or the ARN. */
export function auroraClusterId(c: AuroraGlobalConfig['primary']): string {
  return c.clusterIdentifier ?? CLUSTER_ARN.exec(c.arn ?? '')?.[3] ?? '';
}

/** Cross-checks of components.postgres for (and against) driver aurora-global. */
export function checkAuroraDriver(
  p: {
    driver: string;
    aurora?: unknown;
    resync?: unknown;
    fence: { method: string; roles?: readonly string[] };
  },
  problem: (path: string, message: string) => void,
): void {
  if (p.driver !== 'aurora-global') {
    if (p.aurora)
      problem(
        'aurora',
        'an `aurora` block is for driver aurora-global; set driver: aurora-global or remove it',
      );
    return;
  }
  if (!p.aurora)
    problem(
      'aurora',
      'driver aurora-global needs `aurora` (globalClusterIdentifier, primary and secondary clusters)',
    );
  if (p.resync)
    problem(
      'resync',
      'driver aurora-global does not resync: a switchover keeps the old primary as a secondary, and after a failover Aurora re-adds it itself. Remove `resync`',
    );
  // Default read-only is accepted as "not set": the driver never fences, Aurora does.
  if (p.fence.method !== 'read-only' || p.fence.roles)
    problem(
      'fence',
      'driver aurora-global does not fence: SwitchoverGlobalCluster makes the primary read-only itself (and a failover fences it best effort). Remove `fence`',
    );
}
