/**
 * Every S3 API call the canary sends (s3.ts), with the IAM action it needs. HeadObject is
 * authorized by s3:GetObject. deploy/permissions/aws-iam-policy.json must allow each one.
 */
export const S3_CALLS: Readonly<Record<string, string>> = {
  PutObjectCommand: 's3:PutObject',
  HeadObjectCommand: 's3:GetObject',
  // Failback without reverse replication lists both buckets for what the primary lacks.
  ListObjectsV2Command: 's3:ListBucket',
};
