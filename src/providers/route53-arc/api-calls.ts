/**
 * Every Route 53 ARC cluster (data plane) call this provider sends, with the IAM action it needs.
 * deploy/permissions/aws-iam-policy.json must allow each one: test/permissions fails when a call
 * is sent here without its entry, or an entry lacks its permission.
 */
export const ROUTE53_ARC_CALLS: Readonly<Record<string, string>> = {
  GetRoutingControlStateCommand: 'route53-recovery-cluster:GetRoutingControlState',
  ListRoutingControlsCommand: 'route53-recovery-cluster:ListRoutingControls',
  UpdateRoutingControlStatesCommand: 'route53-recovery-cluster:UpdateRoutingControlStates',
};
