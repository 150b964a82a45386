/**
 * `components.terraformState`: where each region keeps its Terraform state, so readiness can
 * compare the two copies (lineage, serial, age, lock). Only those fields are ever read: state
 * files hold secrets.
 */
import { z } from 'zod';
import { envName } from './fields.js';

/** One region's state backend, named as Terraform's own backend block names it. */
const terraformStateSide = z
  .object({
    /** s3 (bucket, key, region) or azurerm (container, key, accountUrl | connectionStringEnv). */
    backend: z.enum(['s3', 'azurerm']),
    /** The state object's key (Terraform's `key`), e.g. prod/terraform.tfstate. */
    key: z.string().min(1),
    bucket: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    /** S3: API URL override (S3-compatible servers, the lab) and path-style addressing. */
    endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().default(false),
    /** S3: the lock Terraform takes (`use_lockfile = true`: <key>.tflock beside the state; `dynamodb_table`: an item in that table), or none read. */
    lock: z.enum(['lockfile', 'dynamodb', 'none']).default('lockfile'),
    /** S3 with lock dynamodb: the table (Terraform's dynamodb_table) and its API URL override. */
    lockTable: z.string().min(3).max(255).optional(),
    lockEndpoint: z.string().url().optional(),
    container: z.string().min(1).optional(),
    accountUrl: z.string().url().optional(),
    connectionStringEnv: envName.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const problem = (message: string): void => void ctx.addIssue({ code: 'custom', message });
    if (s.backend === 's3') {
      if (!s.bucket) problem('backend s3 needs `bucket`');
      if (s.lock === 'dynamodb' && !s.lockTable)
        problem('lock dynamodb needs `lockTable` (Terraform: dynamodb_table)');
      if (s.lock !== 'dynamodb' && (s.lockTable || s.lockEndpoint))
        problem(
          'lockTable and lockEndpoint are for lock dynamodb; set `lock: dynamodb` or remove them',
        );
      if (s.container || s.accountUrl || s.connectionStringEnv)
        problem(
          'container, accountUrl and connectionStringEnv are for backend azurerm; use bucket, region, endpoint',
        );
      return;
    }
    if (!s.container) problem('backend azurerm needs `container` (Terraform: container_name)');
    if ((s.accountUrl === undefined) === (s.connectionStringEnv === undefined))
      problem('backend azurerm needs exactly one of `accountUrl` or `connectionStringEnv`');
    if (s.bucket || s.region || s.endpoint)
      problem(
        'bucket, region and endpoint are for backend s3; use container with accountUrl or connectionStringEnv',
      );
    if (s.lock === 'dynamodb' || s.lockTable || s.lockEndpoint)
      problem(
        'lock dynamodb (lockTable, lockEndpoint) is for backend s3; azurerm locks by a lease on the state blob, which is always read',
      );
  });

export const terraformState = z
  .object({
    primary: terraformStateSide,
    secondary: terraformStateSide,
    /** How many serials the secondary's copy may be behind the primary's (replication in flight). */
    maxSerialLag: z.number().int().min(0).default(0),
    /** A lock held longer than this is stale: it would block the apply after a failover. */
    staleLockMinutes: z.number().positive().default(60),
  })
  .strict();

export type TerraformStateSideConfig = z.output<typeof terraformStateSide>;
