/**
 * The lab's Terraform state: one state file (format v4, as `terraform apply` writes it) in each
 * region's state bucket, the secondary's a replica of the primary's. Its output holds a made-up
 * secret, so a test can show that readiness never reads or repeats anything past the header.
 */
import { randomUUID } from 'node:crypto';

export const LAB_STATE_BUCKETS = {
  primary: 'lab-primary-tfstate',
  secondary: 'lab-secondary-tfstate',
};
export const LAB_STATE_KEY = 'lab/terraform.tfstate';
/** Stands in for what real outputs hold (passwords, keys): never to appear in any bot output. */
export const LAB_STATE_SECRET = 'lab-db-password-not-for-logs';

/** A state file of `lineage` at `serial`, with one sensitive output and one resource. */
export function labStateFile(lineage: string = randomUUID(), serial = 7): string {
  return JSON.stringify(
    {
      version: 4,
      terraform_version: '1.9.8',
      serial,
      lineage,
      outputs: {
        db_password: { value: LAB_STATE_SECRET, type: 'string', sensitive: true },
      },
      resources: [
        {
          mode: 'managed',
          type: 'aws_db_instance',
          name: 'app',
          provider: 'provider["registry.terraform.io/hashicorp/aws"]',
          instances: [
            { schema_version: 2, attributes: { password: LAB_STATE_SECRET, serial: 99 } },
          ],
        },
      ],
      check_results: null,
    },
    null,
    2,
  );
}
