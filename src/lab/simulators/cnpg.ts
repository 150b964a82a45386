/**
 * CloudNativePG (1.24+) installed in the lab's two Kubernetes simulators: each serves one
 * `postgresql.cnpg.io/v1` Cluster (GET, merge PATCH) and the Cluster CRD, admission refuses what
 * CNPG's validating webhook refuses, and a controller (cnpg-controller.ts) does the operator's
 * work on the lab's real PostgreSQL pair. Sources (github.com/cloudnative-pg/cloudnative-pg):
 * api/v1/cluster_types.go (ReplicaClusterConfiguration, ClusterStatus, the phases),
 * api/v1/cluster_funcs.go (IsReplica, ShouldPromoteFromReplicaCluster), internal/webhook/v1/
 * cluster_webhook.go (validateReplicaMode, validateReplicaClusterExternalClusters,
 * validatePromotionToken, validateReplicaClusterChange), pkg/utils/parser.go (the token),
 * docs/src/replica_cluster.md ("Distributed Topology").
 */
import type { RegionRole } from '../../domain/types.js';
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import { status } from './kubernetes-api.js';
import type { CustomRoute } from './kubernetes-api.js';

const CNPG_GROUP = 'postgresql.cnpg.io';
const CNPG_CRD = `clusters.${CNPG_GROUP}`;

/** cluster_types.go: the phases the driver and the controller use. */
export const PHASE = {
  healthy: 'Cluster in healthy state',
  promotion: 'Promoting to primary cluster',
  unrecoverable: 'Cluster is unrecoverable and needs manual intervention',
  waitingInstances: 'Waiting for the instances to become active',
} as const;

interface ReplicaSpec {
  self?: string;
  primary?: string;
  source?: string;
  enabled?: boolean;
  promotionToken?: string;
  minApplyDelay?: string;
}

interface CnpgSpec {
  instances: number;
  imageName?: string;
  bootstrap?: Record<string, unknown>;
  replica?: ReplicaSpec;
  externalClusters?: { name: string; connectionParameters?: Record<string, string> }[];
  [key: string]: unknown;
}

interface CnpgStatus {
  phase: string;
  phaseReason?: string;
  instances: number;
  readyInstances: number;
  currentPrimary: string;
  targetPrimary: string;
  lastPromotionToken?: string;
  demotionToken?: string;
  systemID?: string;
  timelineID?: number;
  switchReplicaClusterStatus: { inProgress?: boolean };
}

export interface SimCnpgCluster {
  /** The lab server its one instance is. */
  server: RegionRole;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  resourceVersion: number;
  spec: CnpgSpec;
  status: CnpgStatus;
  /** Lab only: the server was shut down by a demotion and waits for the other side's promotion. */
  awaitingPromotion: boolean;
}

/** cluster_funcs.go IsReplica: `enabled` wins when set; otherwise primary names another cluster. */
export function isReplica(spec: CnpgSpec, name: string): boolean {
  const r = spec.replica;
  if (!r) return false;
  if (r.enabled !== undefined) return r.enabled;
  return (r.self || name) !== r.primary;
}

/** pkg/utils/parser.go PgControldataTokenContent: the demotion token's fields. */
export interface TokenContent {
  latestCheckpointTimelineID: string;
  redoWalFile: string;
  databaseSystemIdentifier: string;
  latestCheckpointREDOLocation: string;
  timeOfLatestCheckpoint: string;
  operatorVersion: string;
}

/** ParsePgControldataToken (base64 of JSON) then IsValid (every field present), or the error. */
export function parseToken(token: string): TokenContent | string {
  let content: Partial<TokenContent>;
  try {
    content = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Partial<TokenContent>;
  } catch (err) {
    return `Invalid promotionToken format: ${(err as Error).message}`;
  }
  const fields: [keyof TokenContent, string][] = [
    ['latestCheckpointTimelineID', 'LatestCheckpointTimelineID'],
    ['redoWalFile', 'REDOWALFile'],
    ['databaseSystemIdentifier', 'DatabaseSystemIdentifier'],
    ['latestCheckpointREDOLocation', 'LatestCheckpointREDOLocation'],
    ['timeOfLatestCheckpoint', 'TimeOfLatestCheckpoint'],
    ['operatorVersion', 'OperatorVersion'],
  ];
  for (const [key, goName] of fields)
    if (!content[key])
      return `Invalid promotionToken content: invalid promotion token (${goName} is empty)`;
  return content as TokenContent;
}

export const encodeToken = (t: TokenContent): string =>
  Buffer.from(JSON.stringify(t)).toString('base64');

/** The webhook's field errors for `spec` replacing `old` (empty: admitted). */
function admissionErrors(c: SimCnpgCluster, spec: CnpgSpec): string[] {
  const errors: string[] = [];
  const r = spec.replica;
  if (!r) return errors;
  const external = new Set((spec.externalClusters ?? []).map((e) => e.name));
  // validateReplicaMode: "replica mode enabled is not compatible with the primary field".
  if (r.enabled !== undefined && r.primary)
    errors.push(
      'spec.replicaCluster.enabled: Forbidden: replica mode enabled is not compatible with the primary field',
    );
  const replica = isReplica(spec, c.name);
  // validateReplicaMode: "bootstrap configuration is required for replica mode".
  if (replica && !spec.bootstrap)
    errors.push(
      'spec.bootstrap: Required value: bootstrap configuration is required for replica mode',
    );
  // validateReplicaClusterExternalClusters: source, self and primary must name external clusters.
  if (!r.source || !external.has(r.source))
    errors.push(
      `spec.replicaCluster.primaryServerName: Invalid value: "${r.source ?? ''}": External cluster ${r.source ?? ''} not found`,
    );
  for (const field of ['self', 'primary'] as const) {
    const v = r[field];
    if (v && !external.has(v))
      errors.push(
        `spec.replicaCluster.${field}: Invalid value: "${v}": External cluster ${v} not found`,
      );
  }
  // validatePromotionToken: no token with minApplyDelay, none on a replica, a well-formed one.
  if (r.promotionToken) {
    if (r.minApplyDelay)
      errors.push(
        'spec.replicaCluster.minApplyDelay: Invalid value: minApplyDelay cannot be applied with a promotion token',
      );
    else if (replica)
      errors.push(
        'spec.replicaCluster.token: Invalid value: promotionToken is only allowed for primary clusters',
      );
    else {
      const parsed = parseToken(r.promotionToken);
      if (typeof parsed === 'string') errors.push(`spec.replicaCluster.token: ${parsed}`);
    }
  }
  // validateReplicaClusterChange: the role may not change while a switch to replica is under way.
  if (replica !== isReplica(c.spec, c.name) && c.status.switchReplicaClusterStatus.inProgress)
    errors.push(
      'spec.replica.enabled: Forbidden: cannot modify the field while there is an ongoing operation to enable the replica cluster',
    );
  return errors;
}

/** RFC 7386 JSON merge patch, as the API server applies application/merge-patch+json. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function clusterJson(c: SimCnpgCluster): Record<string, unknown> {
  return {
    apiVersion: `${CNPG_GROUP}/v1`,
    kind: 'Cluster',
    metadata: {
      name: c.name,
      namespace: c.namespace,
      uid: c.uid,
      generation: c.generation,
      resourceVersion: String(c.resourceVersion),
    },
    spec: c.spec,
    status: c.status,
  };
}

/** The replica fields of the Cluster CRD's schema; before 1.24 it had only enabled and source. */
function crdJson(version: string): Record<string, unknown> {
  const modern = compareVersions(version, '1.24.0') >= 0;
  const str = { type: 'string' };
  const replica = {
    type: 'object',
    required: ['source'],
    properties: {
      enabled: { type: 'boolean' },
      source: str,
      ...(modern ? { self: str, primary: str, promotionToken: str, minApplyDelay: str } : {}),
    },
  };
  const statusProps = {
    phase: str,
    phaseReason: str,
    currentPrimary: str,
    targetPrimary: str,
    ...(modern ? { lastPromotionToken: str, demotionToken: str } : {}),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CNPG_CRD,
      // The release manifest's CRD carries the operator's version in its labels.
      labels: { 'app.kubernetes.io/version': version },
    },
    spec: {
      group: CNPG_GROUP,
      names: { kind: 'Cluster', plural: 'clusters', singular: 'cluster' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { replica } },
                status: { type: 'object', properties: statusProps },
              },
            },
          },
        },
      ],
    },
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const PATCH_MERGE = 'application/merge-patch+json';

/**
 * The routes one Kubernetes simulator serves for its Cluster. `changed` runs after an admitted
 * patch (the controller reconciles).
 */
export function cnpgRoutes(
  cluster: SimCnpgCluster,
  version: string,
  changed: () => void,
): CustomRoute[] {
  return [
    {
      path: /^\/apis\/apiextensions\.k8s\.io\/v1\/customresourcedefinitions\/([^/]+)$/,
      handle: (req, m) =>
        req.method === 'GET' && m[1] === CNPG_CRD
          ? json(200, crdJson(version))
          : status(
              404,
              'NotFound',
              `customresourcedefinitions.apiextensions.k8s.io "${m[1]}" not found`,
            ),
    },
    {
      path: /^\/apis\/postgresql\.cnpg\.io\/v1\/namespaces\/([^/]+)\/clusters\/([^/]+)$/,
      handle: (req, m) => {
        if (m[1] !== cluster.namespace || m[2] !== cluster.name)
          return status(404, 'NotFound', `clusters.${CNPG_GROUP} "${m[2]}" not found`, {
            name: m[2],
            group: CNPG_GROUP,
            kind: 'clusters',
          });
        if (req.method === 'GET') return json(200, clusterJson(cluster));
        if (req.method === 'PATCH') return patchCluster(cluster, req, version, changed);
        return status(
          405,
          'MethodNotAllowed',
          `${req.method} is not supported by the lab simulator`,
        );
      },
    },
  ];
}

function patchCluster(
  c: SimCnpgCluster,
  req: RecordedRequest,
  version: string,
  changed: () => void,
): SimResponse {
  const contentType = String(req.headers['content-type'] ?? '');
  // "Custom resources" (kubernetes.io/docs/.../api-extension/custom-resources/): CRDs take JSON and
  // merge patches, never strategic merge; the lab simulator takes the merge patch kubectl sends.
  if (!contentType.startsWith(PATCH_MERGE))
    return status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, ${PATCH_MERGE}, application/apply-patch+yaml (the lab simulator takes ${PATCH_MERGE})`,
    );
  let body: { metadata?: { resourceVersion?: string }; spec?: unknown };
  try {
    body = JSON.parse(req.body) as typeof body;
  } catch (err) {
    return status(400, 'BadRequest', `invalid body: ${(err as Error).message}`);
  }
  const rv = body.metadata?.resourceVersion;
  if (rv && rv !== String(c.resourceVersion))
    return status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on clusters.${CNPG_GROUP} "${c.name}": the object has been modified; please apply your changes to the latest version and try again`,
    );
  let spec = mergePatch(c.spec, body.spec ?? {}) as CnpgSpec;
  // "Specifying a structural schema", pruning: fields the CRD's schema does not know are dropped,
  // so a 1.23 CRD silently loses replica.primary and promotionToken.
  if (compareVersions(version, '1.24.0') < 0 && spec.replica) {
    const { enabled, source } = spec.replica;
    spec = {
      ...spec,
      replica: { ...(enabled !== undefined ? { enabled } : {}), ...(source ? { source } : {}) },
    };
  }
  const errors = admissionErrors(c, spec);
  if (errors.length > 0)
    return status(
      422,
      'Invalid',
      `admission webhook "vcluster.cnpg.io" denied the request: Cluster.${CNPG_GROUP} "${c.name}" is invalid: [${errors.join(', ')}]`,
    );
  if (JSON.stringify(spec) !== JSON.stringify(c.spec)) {
    c.spec = spec;
    c.generation += 1;
    c.resourceVersion += 1;
    changed();
  }
  return json(200, clusterJson(c));
}
