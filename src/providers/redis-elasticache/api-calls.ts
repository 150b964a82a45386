/**
 * Every ElastiCache API call the elasticache-global driver sends, with the IAM action it needs.
 * deploy/permissions/aws-iam-policy.json must allow each one (test/permissions checks it).
 * DisassociateGlobalReplicationGroup is sent only by the last resort (detach.ts), after its own
 * two-person confirmation: it is one-way, and re-adding a region wipes that region's data.
 */
export const ELASTICACHE_CALLS: Readonly<Record<string, string>> = {
  DescribeGlobalReplicationGroupsCommand: 'elasticache:DescribeGlobalReplicationGroups',
  FailoverGlobalReplicationGroupCommand: 'elasticache:FailoverGlobalReplicationGroup',
  DisassociateGlobalReplicationGroupCommand: 'elasticache:DisassociateGlobalReplicationGroup',
};

/** The CloudWatch call of the driver (lag-metric.ts): the lag where INFO replication does not answer. */
export const ELASTICACHE_CLOUDWATCH_CALLS: Readonly<Record<string, string>> = {
  GetMetricDataCommand: 'cloudwatch:GetMetricData',
};
