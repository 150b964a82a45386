/**
 * Every Route 53 API call this provider sends, with the IAM action it needs.
 * deploy/permissions/aws-iam-policy.json must allow each one: test/permissions/cloud-policies
 * fails when a call is sent here without its entry, or an entry lacks its permission.
 */
export const ROUTE53_CALLS: Readonly<Record<string, string>> = {
  GetHostedZoneCommand: 'route53:GetHostedZone',
  ListResourceRecordSetsCommand: 'route53:ListResourceRecordSets',
  ChangeResourceRecordSetsCommand: 'route53:ChangeResourceRecordSets',
  GetChangeCommand: 'route53:GetChange',
  GetHealthCheckCommand: 'route53:GetHealthCheck',
  GetHealthCheckStatusCommand: 'route53:GetHealthCheckStatus',
  UpdateHealthCheckCommand: 'route53:UpdateHealthCheck',
  TestDNSAnswerCommand: 'route53:TestDNSAnswer',
};
