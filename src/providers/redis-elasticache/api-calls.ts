/**
 * Every ElastiCache API call the elasticache-global driver sends, with the IAM action it needs.
 * deploy/permissions/aws-iam-policy.json must allow each one (test/permissions checks it).
 * DisassociateGlobalReplicationGroup is deliberately absent: it is one-way and never sent.
 */
export const ELASTICACHE_CALLS: Readonly<Record<string, string>> = {
  DescribeGlobalReplicationGroupsCommand: 'elasticache:DescribeGlobalReplicationGroups',
  FailoverGlobalReplicationGroupCommand: 'elasticache:FailoverGlobalReplicationGroup',
};

/** The CloudWatch call of the driver (lag-metric.ts): the lag where INFO replication does not answer. */
export const ELASTICACHE_CLOUDWATCH_CALLS: Readonly<Record<string, string>> = {
  GetMetricDataCommand: 'cloudwatch:GetMetricData',
};
