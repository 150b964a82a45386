/**
 * Every Kubernetes API call the cloudnative-pg driver sends (client.method, as in cnpg-clusters.ts),
 * with the RBAC right it needs. deploy/permissions/kubernetes-rbac.yaml must grant each one
 * (test/permissions checks it), and preflight asks for each by SelfSubjectAccessReview.
 */
export interface CnpgRight {
  group: string;
  resource: string;
  verb: string;
  /** Cluster-scoped (no namespace), limited to this object by resourceNames. */
  clusterScopedName?: string;
  why: string;
}

export const CNPG_CALLS: Readonly<Record<string, CnpgRight>> = {
  'customObjects.getNamespacedCustomObject': {
    group: 'postgresql.cnpg.io',
    resource: 'clusters',
    verb: 'get',
    why: 'read each Cluster: its role, phase and tokens',
  },
  'customObjects.patchNamespacedCustomObject': {
    group: 'postgresql.cnpg.io',
    resource: 'clusters',
    verb: 'patch',
    why: 'demote and promote (spec.replica.primary and promotionToken, a merge patch)',
  },
  'apiextensions.readCustomResourceDefinition': {
    group: 'apiextensions.k8s.io',
    resource: 'customresourcedefinitions',
    verb: 'get',
    clusterScopedName: 'clusters.postgresql.cnpg.io',
    why: 'check the CloudNativePG version (1.24+: replica.primary and the tokens)',
  },
};
