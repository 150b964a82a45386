/**
 * The bot's own Kubernetes rights in each region, checked by preflight before anyone can approve:
 * one SelfSubjectAccessReview (authorization.k8s.io/v1, "Checking API access") per right the
 * procedure uses, in each namespace it uses it. A review only asks; it changes nothing.
 */
import { AuthorizationV1Api } from '@kubernetes/client-node';
import type { ComponentReadiness, RegionRole } from '../domain/types.js';
import { DrError } from '../errors.js';
import {
  loadKubeConfig,
  mapKubernetesError,
  type ClusterRef,
  type WorkloadConfig,
} from './kubernetes.js';
import type { ClusterProvider } from './types.js';

/** One right: the verb on a resource, what the bot does with it, and whether it can do without. */
interface KubernetesRight {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Whose namespaces it is checked in: a workload kind's, every workload's, or Velero's. */
  for: WorkloadConfig['kind'] | 'workloads' | 'velero';
  why: string;
  /** The procedure still works without it (slower, or a readiness row goes unknown). */
  optional?: true;
}

const apps = (kind: WorkloadConfig['kind'], resource: string): readonly KubernetesRight[] => [
  { verb: 'get', group: 'apps', resource, for: kind, why: 'read the replica counts' },
  {
    verb: 'watch',
    group: 'apps',
    resource,
    for: kind,
    why: 'see pods become ready at once while scaling (without it the bot polls)',
    optional: true,
  },
  {
    verb: 'patch',
    group: 'apps',
    resource,
    subresource: 'scale',
    for: kind,
    why: 'scale it (the merge patch `kubectl scale` sends)',
  },
];

/** Every right the Kubernetes provider and the Velero reader use (test/permissions checks kubernetes-rbac.yaml grants each). */
export const KUBERNETES_RIGHTS: readonly KubernetesRight[] = [
  ...apps('Deployment', 'deployments'),
  ...apps('StatefulSet', 'statefulsets'),
  {
    verb: 'list',
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    for: 'workloads',
    why: 'find the autoscaler in front of each workload',
  },
  {
    verb: 'patch',
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    for: 'workloads',
    why: "raise an autoscaler's bounds to production size, and restore them",
  },
  {
    verb: 'list',
    group: '',
    resource: 'pods',
    for: 'workloads',
    why: 'name the pods of a stuck rollout and their reasons',
    optional: true,
  },
  {
    verb: 'list',
    group: '',
    resource: 'events',
    for: 'workloads',
    why: 'show the last events of a stuck rollout',
    optional: true,
  },
  {
    verb: 'list',
    group: 'velero.io',
    resource: 'backups',
    for: 'velero',
    why: 'read the newest backup (the Velero readiness row)',
    optional: true,
  },
  {
    verb: 'get',
    group: 'velero.io',
    resource: 'backupstoragelocations',
    for: 'velero',
    why: 'check both clusters see the backups (the Velero readiness row)',
    optional: true,
  },
];

interface RightsOptions {
  primary: ClusterRef;
  secondary: ClusterRef;
  workloads: readonly Pick<WorkloadConfig, 'kind' | 'namespace'>[];
  /** components.kubernetes.velero.namespace, when Velero is configured. */
  veleroNamespace?: string;
}

/** A right the bot's identity lacks in one namespace of one region. */
interface MissingRight {
  region: RegionRole;
  namespace: string;
  right: KubernetesRight;
}

const resourceOf = (r: KubernetesRight): string =>
  r.subresource ? `${r.resource}/${r.subresource}` : r.resource;

/** The Role rule that grants it, as kubernetes-rbac.yaml writes rules. */
const ruleFor = (r: KubernetesRight): string =>
  `{apiGroups: ['${r.group}'], resources: ['${resourceOf(r)}'], verbs: ['${r.verb}']}`;

/** Each right in each namespace that needs it. */
function wanted(opts: RightsOptions): { namespace: string; right: KubernetesRight }[] {
  const out: { namespace: string; right: KubernetesRight }[] = [];
  const namespaces = (kind: KubernetesRight['for']): string[] =>
    kind === 'velero'
      ? opts.veleroNamespace
        ? [opts.veleroNamespace]
        : []
      : [
          ...new Set(
            opts.workloads
              .filter((w) => kind === 'workloads' || w.kind === kind)
              .map((w) => w.namespace),
          ),
        ];
  for (const right of KUBERNETES_RIGHTS)
    for (const namespace of namespaces(right.for)) out.push({ namespace, right });
  return out;
}

/** One question to the API server: may the bot do `verb` on this resource (namespace absent: cluster scope)? */
interface RightAsk {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/**
 * Of `asks`, those the bot's identity in `region` may not do, by one SelfSubjectAccessReview each.
 * A kubeconfig that cannot be loaded answers nothing: the readiness that uses it reports it.
 */
export async function askRights<T extends RightAsk>(
  ref: ClusterRef,
  region: RegionRole,
  asks: readonly T[],
): Promise<T[]> {
  let api: AuthorizationV1Api;
  try {
    api = loadKubeConfig(ref, region).makeApiClient(AuthorizationV1Api);
  } catch {
    return [];
  }
  const asked = await Promise.all(
    asks.map(async (a) => {
      const review = await api
        .createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                verb: a.verb,
                group: a.group,
                resource: a.resource,
                ...(a.subresource ? { subresource: a.subresource } : {}),
                ...(a.namespace ? { namespace: a.namespace } : {}),
                ...(a.name ? { name: a.name } : {}),
              },
            },
          },
        })
        .catch((err: unknown) => {
          throw mapKubernetesError(err, region, 'asking the API server for the bot’s rights');
        });
      return review.status?.allowed === true ? null : a;
    }),
  );
  return asked.filter((m): m is Awaited<T> => m !== null);
}

/** Ask the API server of one region about every right; an unreachable server is the readiness's concern. */
async function missingIn(opts: RightsOptions, region: RegionRole): Promise<MissingRight[]> {
  const asks = wanted(opts).map(({ namespace, right }) => ({
    namespace,
    right,
    verb: right.verb,
    group: right.group,
    resource: right.resource,
    ...(right.subresource ? { subresource: right.subresource } : {}),
  }));
  const missing = await askRights(opts[region], region, asks);
  return missing.map(({ namespace, right }) => ({ region, namespace, right }));
}

const line = (m: MissingRight): string =>
  `${m.region}: may not ${m.right.verb} ${resourceOf(m.right)}${m.right.group === 'apps' ? '' : `.${m.right.group}`} in namespace ${m.namespace} (${m.right.why}): add the rule ${ruleFor(m.right)} to the bot's Role in ${m.namespace} (deploy/permissions/kubernetes-rbac.yaml)`;

/**
 * Readiness with the missing rights folded in. A right the operation needs in a region it scales
 * (the target; on failback the secondary too, scaled down) blocks; one it can do without, or one
 * only the other operation needs, is a warning.
 */
async function withRights(
  opts: RightsOptions,
  target: RegionRole,
  readiness: () => Promise<ComponentReadiness>,
): Promise<ComponentReadiness> {
  const regions: RegionRole[] = ['primary', 'secondary'];
  const [judged, per] = await Promise.all([
    readiness().catch((err: unknown) => err as Error),
    Promise.all(
      regions.map((region) =>
        missingIn(opts, region).catch((err: unknown) => {
          if (err instanceof DrError && (err.retryable || err.code === 'forbidden')) return [];
          throw err;
        }),
      ),
    ),
  ]);
  const missing = per.flat();
  if (missing.length === 0) {
    if (judged instanceof Error) throw judged;
    return judged;
  }
  const scaled = (r: RegionRole): boolean => r === target || target === 'primary';
  const blocking = missing.filter((m) => !m.right.optional && scaled(m.region)).map(line);
  const warning = missing.filter((m) => m.right.optional || !scaled(m.region)).map(line);
  const r: ComponentReadiness =
    judged instanceof Error
      ? {
          component: 'cluster',
          status: 'blocked',
          summary: judged.message,
          details: { error: judged.message },
          planFacts: {},
        }
      : judged;
  const all = [...blocking, ...warning];
  return {
    ...r,
    status: blocking.length > 0 ? 'blocked' : r.status === 'ready' ? 'warning' : r.status,
    summary:
      blocking.length > 0
        ? `the bot's Kubernetes identity lacks ${blocking.length} right${blocking.length === 1 ? '' : 's'}: ${blocking.join('; ')}`
        : r.summary,
    details: { ...r.details, missingRights: all },
    planFacts: { ...r.planFacts, missingRights: blocking.length },
    warnings: [...(r.warnings ?? []), ...all],
  };
}

/** The cluster provider, its readiness checking the bot's rights in both regions first. */
export function withKubernetesRights(
  provider: ClusterProvider,
  opts: RightsOptions,
): ClusterProvider {
  return {
    ...provider,
    readiness: (target) => withRights(opts, target, () => provider.readiness(target)),
  };
}
