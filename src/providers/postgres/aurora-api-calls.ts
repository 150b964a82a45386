/**
 * Every RDS API call the aurora-global driver sends, with the IAM action it needs.
 * deploy/permissions/aws-iam-policy.json must allow each one (test/permissions checks it).
 */
export const AURORA_GLOBAL_CALLS: Readonly<Record<string, string>> = {
  DescribeGlobalClustersCommand: 'rds:DescribeGlobalClusters',
  DescribeDBClustersCommand: 'rds:DescribeDBClusters',
  DescribeDBClusterSnapshotsCommand: 'rds:DescribeDBClusterSnapshots',
  SwitchoverGlobalClusterCommand: 'rds:SwitchoverGlobalCluster',
  FailoverGlobalClusterCommand: 'rds:FailoverGlobalCluster',
};
