/**
 * Every Kubernetes API call the provider sends (client.method, as in kubernetes*.ts), with the
 * RBAC right it needs in the workload's namespace. The Role in
 * deploy/permissions/kubernetes-rbac.yaml must grant each one: test/permissions fails when a call
 * is sent without its entry here, or an entry lacks its rule.
 */
interface KubernetesRight {
  /** API group ('' is the core group). */
  group: string;
  resource: string;
  verb: string;
}

/** null: needs no grant (every authenticated identity may read /version). */
export const KUBERNETES_CALLS: Readonly<Record<string, KubernetesRight | null>> = {
  'apps.readNamespacedDeployment': { group: 'apps', resource: 'deployments', verb: 'get' },
  'apps.readNamespacedStatefulSet': { group: 'apps', resource: 'statefulsets', verb: 'get' },
  'apps.patchNamespacedDeploymentScale': {
    group: 'apps',
    resource: 'deployments/scale',
    verb: 'patch',
  },
  'apps.patchNamespacedStatefulSetScale': {
    group: 'apps',
    resource: 'statefulsets/scale',
    verb: 'patch',
  },
  // The readiness wait's Watch of each workload's collection (kubernetes-watch.ts).
  'Watch.deployments': { group: 'apps', resource: 'deployments', verb: 'watch' },
  'Watch.statefulsets': { group: 'apps', resource: 'statefulsets', verb: 'watch' },
  'autoscaling.listNamespacedHorizontalPodAutoscaler': {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verb: 'list',
  },
  'autoscaling.patchNamespacedHorizontalPodAutoscaler': {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verb: 'patch',
  },
  'core.listNamespacedPod': { group: '', resource: 'pods', verb: 'list' },
  'core.listNamespacedEvent': { group: '', resource: 'events', verb: 'list' },
  'version.getCode': null,
};
