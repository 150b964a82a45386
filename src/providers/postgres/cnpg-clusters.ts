/**
 * The cloudnative-pg driver's view of the two CloudNativePG Clusters (postgresql.cnpg.io/v1), one
 * per region's Kubernetes cluster, through @kubernetes/client-node's CustomObjectsApi: reading
 * them, merge-patching spec.replica, the CRD's version check, the bot's rights, and what CNPG
 * would refuse. Field meanings: api/v1/cluster_types.go (ReplicaClusterConfiguration,
 * ClusterStatus) and docs/src/replica_cluster.md ("Distributed Topology") of cloudnative-pg.
 */
import {
  ApiextensionsV1Api,
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { RegionRole } from '../../domain/types.js';
import { DrError, PreconditionFailed, ProviderError } from '../../errors.js';
import { loadKubeConfig, mapKubernetesError } from '../kubernetes-client.js';
import { askRights } from '../kubernetes-rights.js';
import { CNPG_CALLS, type CnpgRight } from './cnpg-api-calls.js';

export interface CnpgSideRef {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  name: string;
}

export interface CnpgCluster {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    replica?: {
      self?: string;
      primary?: string;
      source?: string;
      enabled?: boolean;
      promotionToken?: string;
      minApplyDelay?: string;
    };
    externalClusters?: { name: string }[];
  };
  status?: {
    phase?: string;
    phaseReason?: string;
    currentPrimary?: string;
    readyInstances?: number;
    instances?: number;
    lastPromotionToken?: string;
    demotionToken?: string;
    timelineID?: number;
    switchReplicaClusterStatus?: { inProgress?: boolean };
  };
}

/** The phases of cluster_types.go the driver acts on. */
export const CNPG_PHASE = {
  healthy: 'Cluster in healthy state',
  promotion: 'Promoting to primary cluster',
  unrecoverable: 'Cluster is unrecoverable and needs manual intervention',
} as const;

/** The demotion token's content (pkg/utils/parser.go PgControldataTokenContent). */
interface DemotionToken {
  latestCheckpointTimelineID: string;
  redoWalFile: string;
  databaseSystemIdentifier: string;
  latestCheckpointREDOLocation: string;
  timeOfLatestCheckpoint: string;
  operatorVersion: string;
}

const GROUP = 'postgresql.cnpg.io';
const CRD = `clusters.${GROUP}`;
const NAME = 'postgres';

/** cluster_funcs.go IsReplica: `enabled` wins when set; otherwise `primary` names another cluster. */
export function isReplicaCluster(c: CnpgCluster): boolean {
  const r = c.spec.replica;
  if (!r) return false;
  if (r.enabled !== undefined) return r.enabled;
  return (r.self || c.metadata.name) !== r.primary;
}

export function decodeToken(token: string): DemotionToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as DemotionToken;
    if (!t.latestCheckpointREDOLocation || !t.databaseSystemIdentifier) throw new Error('fields');
    return t;
  } catch {
    throw new ProviderError(
      NAME,
      'cloudnative-pg: .status.demotionToken is not base64 JSON of pg_controldata facts: is this CloudNativePG 1.24+?',
    );
  }
}

export const label = (ref: CnpgSideRef): string => `Cluster ${ref.namespace}/${ref.name}`;

export class CnpgClusters {
  private readonly apis = new Map<
    RegionRole,
    { objects: CustomObjectsApi; ext: ApiextensionsV1Api }
  >();
  private readonly merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  constructor(readonly refs: Record<RegionRole, CnpgSideRef>) {}

  private api(side: RegionRole): { objects: CustomObjectsApi; ext: ApiextensionsV1Api } {
    let a = this.apis.get(side);
    if (!a) {
      const kc = loadKubeConfig(this.refs[side], side);
      a = {
        objects: kc.makeApiClient(CustomObjectsApi),
        ext: kc.makeApiClient(ApiextensionsV1Api),
      };
      this.apis.set(side, a);
    }
    return a;
  }

  private wrap(side: RegionRole, doing: string, err: unknown): DrError {
    const ref = this.refs[side];
    if (err instanceof ApiException && err.code === 404)
      return new PreconditionFailed(
        `cloudnative-pg (${side}): ${doing}: not found. Check components.postgres.cloudnativePg.${side} (namespace ${ref.namespace}, name ${ref.name}) and the ${side} kubeconfig context.`,
        { code: 'not-found', cause: err },
      );
    if (err instanceof ApiException && err.code === 403)
      return new ProviderError(
        NAME,
        `cloudnative-pg (${side}): ${doing}: forbidden. Give the bot the Role dr-bot-cloudnative-pg of deploy/permissions/kubernetes-rbac.yaml (get, patch on clusters.postgresql.cnpg.io in ${ref.namespace}) and its ClusterRole (get on the CRD).`,
        { code: 'forbidden', cause: err },
      );
    if (err instanceof ApiException && err.code === 422)
      return new PreconditionFailed(
        `cloudnative-pg (${side}): ${doing}: CloudNativePG refused it: ${messageOf(err)}`,
        { cause: err },
      );
    const mapped = mapKubernetesError(err, side, doing);
    return new ProviderError(NAME, `cloudnative-pg ${mapped.message}`, {
      retryable: mapped.retryable,
      cause: err,
    });
  }

  async get(side: RegionRole): Promise<CnpgCluster> {
    const ref = this.refs[side];
    try {
      return (await this.api(side).objects.getNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        namespace: ref.namespace,
        plural: 'clusters',
        name: ref.name,
      })) as CnpgCluster;
    } catch (err) {
      throw this.wrap(side, `reading ${label(ref)}`, err);
    }
  }

  /** A merge patch of spec.replica (null removes a field), as `kubectl patch --type merge`. */
  async patchReplica(
    side: RegionRole,
    replica: Record<string, string | boolean | null>,
  ): Promise<CnpgCluster> {
    const ref = this.refs[side];
    try {
      return (await this.api(side).objects.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: 'v1',
          namespace: ref.namespace,
          plural: 'clusters',
          name: ref.name,
          body: { spec: { replica } },
        },
        this.merge,
      )) as CnpgCluster;
    } catch (err) {
      throw this.wrap(side, `patching spec.replica of ${label(ref)}`, err);
    }
  }

  /**
   * Why the CRD in `side` is not CloudNativePG 1.24+, or null. 1.24 added replica.primary and
   * promotionToken (cluster_types.go); an older CRD's structural schema would prune them.
   */
  async versionProblem(side: RegionRole): Promise<string | null> {
    let crd: Awaited<ReturnType<ApiextensionsV1Api['readCustomResourceDefinition']>>;
    try {
      crd = await this.api(side).ext.readCustomResourceDefinition({ name: CRD });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404)
        return `CloudNativePG is not installed in the ${side} Kubernetes cluster (no CRD ${CRD}): check the ${side} kubeconfig context, or install the operator (1.24+).`;
      throw this.wrap(side, `reading the CRD ${CRD}`, err);
    }
    const v1 = crd.spec.versions.find((v) => v.name === 'v1');
    const props = v1?.schema?.openAPIV3Schema?.properties;
    const replica = props?.spec?.properties?.replica?.properties ?? {};
    const status = props?.status?.properties ?? {};
    const version = crd.metadata?.labels?.['app.kubernetes.io/version'];
    if (!replica.primary || !replica.promotionToken || !status.demotionToken)
      return `the CloudNativePG CRD in the ${side} Kubernetes cluster${version ? ` (version ${version})` : ''} has no spec.replica.primary / promotionToken / status.demotionToken: the driver needs CloudNativePG 1.24 or later. Upgrade the operator.`;
    return null;
  }

  /** The rights of CNPG_CALLS the bot lacks in `side`, one line each with the rule that grants it. */
  async missingRights(side: RegionRole): Promise<string[]> {
    const ref = this.refs[side];
    const asks: (CnpgRight & { namespace?: string; name?: string })[] = Object.values(
      CNPG_CALLS,
    ).map((r) =>
      r.clusterScopedName
        ? { ...r, name: r.clusterScopedName }
        : { ...r, namespace: ref.namespace },
    );
    const missing = await askRights(ref, side, asks);
    return missing.map(
      (m) =>
        `${side}: may not ${m.verb} ${m.resource}.${m.group}${m.namespace ? ` in namespace ${m.namespace}` : ` (${m.name})`} (${m.why}): apply ${m.namespace ? 'the Role dr-bot-cloudnative-pg' : 'the ClusterRole dr-bot-cloudnative-pg-crd'} of deploy/permissions/kubernetes-rbac.yaml`,
    );
  }
}

function messageOf(err: ApiException<unknown>): string {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? err.message;
}

/**
 * What CloudNativePG would refuse or not do about promoting `target` (its Cluster `t`, the other
 * side's `o` when readable), or null.
 */
export function promotionRefusal(
  refs: Record<RegionRole, CnpgSideRef>,
  target: RegionRole,
  t: CnpgCluster,
  o: CnpgCluster | null,
): string | null {
  const src = target === 'primary' ? 'secondary' : 'primary';
  const name = label(refs[target]);
  const r = t.spec.replica;
  // cluster_types.go: source is required (MinLength 1); validateReplicaClusterExternalClusters.
  if (!r?.source)
    return `${name} has no spec.replica.source: it is not part of a replica-cluster topology, so there is nothing to fail over to.`;
  const external = new Set((t.spec.externalClusters ?? []).map((e) => e.name));
  if (!external.has(refs[src].name))
    return `${name} has no externalClusters entry named ${refs[src].name} (the other region's Cluster): CloudNativePG's webhook would refuse spec.replica.primary ${refs[src].name} there, so failback could not demote it. Add the entry (docs: replica_cluster.md, "Distributed Topology").`;
  if (!isReplicaCluster(t)) return null;
  const phase = t.status?.phase ?? 'unknown';
  // ShouldPromoteFromReplicaCluster: a token set and not yet used is a promotion under way.
  if (
    phase === CNPG_PHASE.promotion ||
    (r.promotionToken && r.promotionToken !== t.status?.lastPromotionToken)
  )
    return `${name} has a promotion pending (spec.replica.promotionToken set, not yet used; phase "${phase}"${t.status?.phaseReason ? `: ${t.status.phaseReason}` : ''}). Let it finish or remove the token first.`;
  if (phase !== CNPG_PHASE.healthy)
    return `${name} is in phase "${phase}"${t.status?.phaseReason ? ` (${t.status.phaseReason})` : ''}, not "${CNPG_PHASE.healthy}": CloudNativePG would not promote it now.`;
  if (o?.status?.switchReplicaClusterStatus?.inProgress)
    return `${label(refs[src])} is being demoted right now (switchReplicaClusterStatus.inProgress): wait until it has its demotion token.`;
  return null;
}
