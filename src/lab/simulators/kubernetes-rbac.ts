/**
 * The Kubernetes simulator's authorizer: RBAC rules bound to the simulator's bearer token, used
 * both to authorize every request and to answer SelfSubjectAccessReview, as a real API server uses
 * one authorizer for both. Rules from the Kubernetes docs:
 * - "Authorization" (kubernetes.io/docs/reference/access-authn-authz/authorization/): a request's
 *   attributes are its verb, API group, resource, subresource, namespace and name; "Determine the
 *   request verb": GET on a named object is get, on a collection list, with ?watch=true watch;
 *   PATCH is patch, PUT update, POST create, DELETE delete. "Checking API access": a
 *   SelfSubjectAccessReview (authorization.k8s.io/v1, POST, answered 201) asks whether the caller
 *   may do `spec.resourceAttributes`; `status.allowed` says, and any authenticated user may ask.
 * - "Using RBAC Authorization" (.../rbac/), "Referring to resources": a subresource is named
 *   "deployments/scale" in a rule; a Role's rules apply in its own namespace only; with the
 *   allowed reason RBAC names the binding. RBAC never denies, it only fails to allow.
 * - Forbidden answers are 403 Status objects, reason Forbidden, with the message
 *   `<resource>.<group> "<name>" is forbidden: User "<user>" cannot <verb> resource "<resource>"
 *   in API group "<group>" in the namespace "<ns>"`.
 * The `dr-bot` model loads the Roles of deploy/permissions/kubernetes-rbac.yaml, the file operators
 * apply, so the lab and the docs cannot drift; its NAMESPACE Role stands in every namespace (the
 * file says to apply it in each one holding a workload). `admin` is cluster-admin: everything.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';

/** The attributes the authorizer judges (a SelfSubjectAccessReview's resourceAttributes). */
interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface SimRule {
  /**
   * The Role's namespace; '*' for the Role the file applies in every workload namespace; '' for a
   * ClusterRole (bound by a ClusterRoleBinding: cluster-scoped resources and every namespace).
   */
  namespace: string;
  /** "Referring to resources": a rule with resourceNames allows those objects only. */
  resourceNames?: string[];
  role: string;
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export type RbacMode = 'admin' | 'dr-bot';

export interface SimRbac {
  readonly mode: RbacMode;
  /** The user the token authenticates as (named in Forbidden messages). */
  readonly user: string;
  rules: SimRule[];
}

const BOT_USER = 'system:serviceaccount:dr-bot:dr-bot';
const RBAC_FILE = fileURLToPath(
  new URL('../../../deploy/permissions/kubernetes-rbac.yaml', import.meta.url),
);

/** The rules of every Role in deploy/permissions/kubernetes-rbac.yaml. */
function fileRules(): SimRule[] {
  const out: SimRule[] = [];
  for (const doc of parseAllDocuments(readFileSync(RBAC_FILE, 'utf8'))) {
    const role = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      rules?: {
        apiGroups?: string[];
        resources?: string[];
        verbs?: string[];
        resourceNames?: string[];
      }[];
    } | null;
    if (role?.kind !== 'Role' && role?.kind !== 'ClusterRole') continue;
    const ns = role.kind === 'ClusterRole' ? '' : (role.metadata?.namespace ?? 'default');
    for (const r of role.rules ?? [])
      out.push({
        namespace: ns === 'NAMESPACE' ? '*' : ns,
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        role: role.metadata?.name ?? '?',
        apiGroups: r.apiGroups ?? [],
        resources: r.resources ?? [],
        verbs: r.verbs ?? [],
      });
  }
  return out;
}

export function createRbac(mode: RbacMode): SimRbac {
  return mode === 'admin'
    ? { mode, user: 'kubernetes-admin', rules: [] }
    : { mode, user: BOT_USER, rules: fileRules() };
}

/** Take `verb` on `resource` (e.g. "deployments/scale") out of every rule granting it. */
export function revokeRule(rbac: SimRbac, verb: string, resource: string): void {
  rbac.rules = rbac.rules.flatMap((r) => {
    if (!r.resources.includes(resource) || !r.verbs.includes(verb)) return [r];
    const rest = r.resources.filter((x) => x !== resource);
    const verbs = r.verbs.filter((v) => v !== verb);
    return [
      ...(rest.length ? [{ ...r, resources: rest }] : []),
      ...(verbs.length ? [{ ...r, resources: [resource], verbs }] : []),
    ];
  });
}

/** The rule that allows `a`, or null; cluster-admin is allowed everything. */
function allowedBy(rbac: SimRbac, a: ResourceAttributes): SimRule | 'admin' | null {
  if (rbac.mode === 'admin') return 'admin';
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const hit = (list: string[], v: string): boolean => list.includes('*') || list.includes(v);
  return (
    rbac.rules.find(
      (r) =>
        (r.namespace === '' ||
          (r.namespace === '*' ? a.namespace !== undefined : r.namespace === a.namespace)) &&
        (!r.resourceNames || (a.name !== undefined && r.resourceNames.includes(a.name))) &&
        hit(r.apiGroups, a.group) &&
        hit(r.resources, resource) &&
        hit(r.verbs, a.verb),
    ) ?? null
  );
}

const VERBS: Record<string, string> = { PATCH: 'patch', PUT: 'update', POST: 'create' };

/** A resource request's attributes; null for a non-resource path (/version: everyone may read). */
function requestAttributes(req: RecordedRequest): ResourceAttributes | null {
  const m =
    /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
      req.path,
    );
  if (!m) return null;
  const [, group = '', namespace, resource, name, subresource] = m;
  const verb =
    VERBS[req.method] ??
    (req.method === 'DELETE'
      ? 'delete'
      : name
        ? 'get'
        : req.query.watch === 'true' || req.query.watch === '1'
          ? 'watch'
          : 'list');
  return {
    verb,
    group,
    resource: resource!,
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

/** The 403 a forbidden request gets, or null when RBAC allows it. */
export function authorize(rbac: SimRbac, req: RecordedRequest): SimResponse | null {
  const a = requestAttributes(req);
  if (!a || isAccessReview(a) || allowedBy(rbac, a)) return null;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const message = `${qualified}${a.name ? ` "${a.name}"` : ''} is forbidden: User "${rbac.user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}"${a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope'}`;
  return json(403, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Forbidden',
    details: { ...(a.name ? { name: a.name } : {}), group: a.group, kind: a.resource },
    code: 403,
  });
}

/** system:basic-user lets every authenticated user create SelfSubjectAccessReviews. */
const isAccessReview = (a: ResourceAttributes): boolean =>
  a.group === 'authorization.k8s.io' && a.resource === 'selfsubjectaccessreviews';

/** POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews: the review, with its status. */
export function selfSubjectAccessReview(rbac: SimRbac, req: RecordedRequest): SimResponse {
  if (req.method !== 'POST')
    return json(405, { kind: 'Status', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
  const review = JSON.parse(req.body || '{}') as {
    spec?: { resourceAttributes?: Partial<ResourceAttributes> };
  };
  const ra = review.spec?.resourceAttributes;
  if (!ra?.verb || ra.resource === undefined)
    return json(422, {
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      code: 422,
    });
  const rule = allowedBy(rbac, { group: '', ...ra } as ResourceAttributes);
  const reason =
    rule === 'admin'
      ? 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to User "kubernetes-admin"'
      : rule
        ? `RBAC: allowed by RoleBinding "${rule.role}/${ra.namespace}" of Role "${rule.role}" to ServiceAccount "dr-bot/dr-bot"`
        : '';
  return json(201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: review.spec,
    status: { allowed: rule !== null, ...(reason ? { reason } : {}) },
  });
}
