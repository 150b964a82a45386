/**
 * Every AWS call the Terraform state row sends (terraform-state-s3.ts, terraform-lock-dynamodb.ts),
 * with the IAM action it needs: reads only. deploy/permissions/aws-iam-policy.json must allow each.
 */
export const TERRAFORM_STATE_S3_CALLS: Readonly<Record<string, string>> = {
  GetObjectCommand: 's3:GetObject',
  // The .tflock beside the state: HeadObject is authorized by s3:GetObject.
  HeadObjectCommand: 's3:GetObject',
};

export const TERRAFORM_LOCK_DYNAMODB_CALLS: Readonly<Record<string, string>> = {
  GetItemCommand: 'dynamodb:GetItem',
};
