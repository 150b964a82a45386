/**
 * Every RDS API call the rds-replica driver sends, with the IAM action it needs.
 * deploy/permissions/aws-iam-policy.json must allow each one (test/permissions checks it).
 */
export const RDS_REPLICA_CALLS: Readonly<Record<string, string>> = {
  DescribeDBInstancesCommand: 'rds:DescribeDBInstances',
  PromoteReadReplicaCommand: 'rds:PromoteReadReplica',
  ModifyDBInstanceCommand: 'rds:ModifyDBInstance',
  CreateDBInstanceReadReplicaCommand: 'rds:CreateDBInstanceReadReplica',
};
