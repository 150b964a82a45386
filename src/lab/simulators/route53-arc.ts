/**
 * Route 53 Application Recovery Controller cluster simulator: the routing-control data plane
 * (route53-recovery-cluster 2019-12-02) as @aws-sdk/client-route53-recovery-cluster speaks it,
 * awsJson1_0 (POST, `X-Amz-Target: ToggleCustomerAPI.<Operation>`), served on one HTTP server per
 * regional cluster endpoint. One control panel holds a primary and a secondary routing control
 * and, by default, an assertion safety rule "at least one of the two On".
 *
 * Operations: GetRoutingControlState, ListRoutingControls, UpdateRoutingControlState,
 * UpdateRoutingControlStates. A test makes an endpoint unreachable (its server stops listening)
 * and brings it back, and sets a control as someone in the console would.
 */
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';

type State = 'On' | 'Off';

interface ArcSimOptions {
  /** One cluster endpoint per region (AWS gives five). */
  regions?: string[];
  /** Enforce the "at least one cell On" assertion rule (default true). */
  safetyRule?: boolean;
  /** Add a `manual-gate` control (On) and a gating rule over the two cell controls (default true). */
  gate?: boolean;
}

export interface ArcSim {
  /** The cluster's regional endpoints, as DescribeCluster lists them. */
  readonly endpoints: { url: string; region: string }[];
  readonly controlPanelArn: string;
  readonly primaryControlArn: string;
  readonly secondaryControlArn: string;
  readonly safetyRuleArn: string;
  readonly gateControlArn: string;
  readonly gatingRuleArn: string;
  /** Every request, with the index of the endpoint that received it. */
  readonly requests: (RecordedRequest & { endpoint: number; operation: string })[];
  state(arn: string): State;
  /** Set a control as someone in the console would (no safety rule applies). */
  setState(arn: string, state: State): void;
  /** Stop (false) or restart (true) the server of endpoint `index`: connections are refused. */
  setEndpointReachable(index: number, reachable: boolean): Promise<void>;
  requestsFor(operation: string): ArcSim['requests'];
  stop(): Promise<void>;
}

const ACCOUNT = '123456789012';
const PANEL = `arn:aws:route53-recovery-control::${ACCOUNT}:controlpanel/0a1b2c3d4e5f`;
const BASE_PATH = '/v1';

interface Control {
  arn: string;
  name: string;
  state: State;
}

/**
 * Developer Guide, "Safety rules for routing controls": an assertion rule requires at least
 * `atLeast` of its asserted controls On after any change; a gating rule lets its target
 * controls change only while at least `atLeast` of its gating controls are On.
 */
interface Rule {
  kind: 'assertion' | 'gating';
  arn: string;
  name: string;
  controls: string[];
  targets: string[];
  atLeast: number;
}

interface Cluster {
  controls: Control[];
  rules: Rule[];
}

function violated(c: Cluster, r: Rule, next: Map<string, State>): boolean {
  const on = r.controls.filter((a) => next.get(a) === 'On').length;
  if (r.kind === 'assertion') return on < r.atLeast;
  const changes = c.controls.some((x) => r.targets.includes(x.arn) && next.get(x.arn) !== x.state);
  return changes && on < r.atLeast;
}

/**
 * awsJson1_0 errors: the HTTP status of the error shape and its name in `__type` (and the
 * X-Amzn-Errortype header). Smithy "AWS JSON 1.0 protocol", section "Operation error serialization".
 */
function arcError(status: number, type: string, fields: Record<string, unknown>): SimResponse {
  return {
    status,
    body: JSON.stringify({ __type: `com.amazonaws.route53recoverycluster#${type}`, ...fields }),
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type },
  };
}

const ok = (value: unknown): SimResponse => ({
  status: 200,
  body: JSON.stringify(value),
  headers: { 'content-type': 'application/x-amz-json-1.0' },
});

const notFound = (arn: string): SimResponse =>
  // API reference, GetRoutingControlState "Errors": ResourceNotFoundException (404) for an unknown ARN.
  arcError(404, 'ResourceNotFoundException', {
    message: `Routing control ${arn} not found`,
    resourceId: arn,
    resourceType: 'RoutingControl',
  });

const invalid = (message: string, field: string): SimResponse =>
  arcError(400, 'ValidationException', {
    message,
    reason: 'fieldValidationFailed',
    fields: [{ name: field, message }],
  });

/**
 * Apply `entries` all or nothing. Developer Guide, "Safety rules for routing controls": an
 * assertion rule's criteria must hold for the states after the change, else the update is
 * refused, unless the request names the rule in SafetyRulesToOverride ("Override safety rules
 * to reroute traffic"). The API reference lists ConflictException (409) for such a refusal.
 */
function update(
  c: Cluster,
  entries: { RoutingControlArn?: string; RoutingControlState?: string }[],
  override: string[],
): SimResponse {
  const next = new Map(c.controls.map((x) => [x.arn, x.state]));
  for (const e of entries) {
    // API reference, UpdateRoutingControlStateEntry: RoutingControlState is "On" | "Off".
    if (e.RoutingControlState !== 'On' && e.RoutingControlState !== 'Off')
      return invalid(
        `RoutingControlState must be On or Off, got ${String(e.RoutingControlState)}`,
        'RoutingControlState',
      );
    if (!e.RoutingControlArn || !next.has(e.RoutingControlArn))
      return notFound(String(e.RoutingControlArn));
    next.set(e.RoutingControlArn, e.RoutingControlState);
  }
  const r = c.rules.find((x) => !override.includes(x.arn) && violated(c, x, next));
  if (r)
    return arcError(409, 'ConflictException', {
      message: `Cannot update routing control states: ${r.kind} safety rule ${r.name} (${r.arn}) requires at least ${r.atLeast} of its ${r.kind === 'gating' ? 'gating' : 'asserted'} routing controls On.`,
      resourceId: r.arn,
      resourceType: 'SafetyRule',
    });
  for (const x of c.controls) x.state = next.get(x.arn)!;
  return ok({});
}

function listControls(c: Cluster, body: Record<string, unknown>): SimResponse {
  // API reference, ListRoutingControls: MaxResults 1..1000, NextToken continues a listing.
  const max = typeof body.MaxResults === 'number' ? body.MaxResults : 500;
  if (max < 1 || max > 1000) return invalid('MaxResults must be between 1 and 1000', 'MaxResults');
  if (body.ControlPanelArn !== undefined && body.ControlPanelArn !== PANEL)
    return arcError(404, 'ResourceNotFoundException', {
      message: `Control panel ${String(body.ControlPanelArn)} not found`,
      resourceId: String(body.ControlPanelArn),
      resourceType: 'ControlPanel',
    });
  const start = typeof body.NextToken === 'string' ? Number(body.NextToken) : 0;
  const page = c.controls.slice(start, start + max);
  return ok({
    RoutingControls: page.map((x) => ({
      ControlPanelArn: PANEL,
      ControlPanelName: 'dr-lab',
      RoutingControlArn: x.arn,
      RoutingControlName: x.name,
      RoutingControlState: x.state,
      Owner: ACCOUNT,
    })),
    ...(start + max < c.controls.length ? { NextToken: String(start + max) } : {}),
  });
}

function handle(c: Cluster, req: RecordedRequest, operation: string): SimResponse {
  // awsJson1_0: POST to the endpoint's path with this content type, signed with SigV4 for the
  // signing name route53-recovery-cluster (Smithy "AWS JSON 1.0 protocol", "Protocol behaviors").
  // The SDK posts to the endpoint's path with a trailing slash ("/v1/").
  if (req.method !== 'POST' || req.path.replace(/\/$/, '') !== BASE_PATH)
    return arcError(404, 'UnknownOperationException', { message: `no route ${req.path}` });
  if (req.headers['content-type'] !== 'application/x-amz-json-1.0')
    return arcError(400, 'SerializationException', { message: 'expected awsJson1_0' });
  if (!/\/route53-recovery-cluster\/aws4_request/.test(String(req.headers.authorization ?? '')))
    return arcError(403, 'AccessDeniedException', { message: 'missing SigV4 authorization' });
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(req.body || '{}') as Record<string, unknown>;
  } catch {
    return arcError(400, 'SerializationException', { message: 'body is not JSON' });
  }
  const find = (arn: unknown): Control | undefined => c.controls.find((x) => x.arn === arn);
  switch (operation) {
    case 'GetRoutingControlState': {
      const x = find(body.RoutingControlArn);
      if (!x) return notFound(String(body.RoutingControlArn));
      return ok({
        RoutingControlArn: x.arn,
        RoutingControlState: x.state,
        RoutingControlName: x.name,
      });
    }
    case 'ListRoutingControls':
      return listControls(c, body);
    case 'UpdateRoutingControlState':
      return update(
        c,
        [body as { RoutingControlArn?: string; RoutingControlState?: string }],
        (body.SafetyRulesToOverride as string[] | undefined) ?? [],
      );
    case 'UpdateRoutingControlStates': {
      const entries = body.UpdateRoutingControlStateEntries;
      if (!Array.isArray(entries) || entries.length === 0)
        return invalid(
          'UpdateRoutingControlStateEntries is required',
          'UpdateRoutingControlStateEntries',
        );
      return update(c, entries, (body.SafetyRulesToOverride as string[] | undefined) ?? []);
    }
    default:
      return arcError(400, 'UnknownOperationException', { message: `unknown ${operation}` });
  }
}

export async function startRoute53ArcSimulator(opts: ArcSimOptions = {}): Promise<ArcSim> {
  const regions = opts.regions ?? ['us-east-1', 'us-west-2', 'eu-west-1'];
  const control = (name: string, state: State): Control => ({
    arn: `${PANEL}/routingcontrol/${name}`,
    name,
    state,
  });
  const controls = [
    control('primary-cell', 'On'),
    control('secondary-cell', 'Off'),
    control('manual-gate', 'On'),
  ];
  const cells = [controls[0]!.arn, controls[1]!.arn];
  const rule = (kind: Rule['kind'], name: string, gating: string[]): Rule => ({
    kind,
    arn: `${PANEL}/safetyrule/${name}`,
    name,
    controls: gating,
    targets: kind === 'gating' ? cells : [],
    atLeast: 1,
  });
  const assertion = rule('assertion', 'at-least-one-cell-on', cells);
  const gating = rule('gating', 'manual-gate-on', [controls[2]!.arn]);
  const cluster: Cluster = {
    controls,
    rules: [
      ...(opts.safetyRule === false ? [] : [assertion]),
      ...(opts.gate === false ? [] : [gating]),
    ],
  };
  const requests: ArcSim['requests'] = [];
  const serve = (index: number, port?: number): Promise<HttpSim> =>
    startHttpSim(
      (req) => {
        const operation = String(req.headers['x-amz-target'] ?? '').replace(
          /^ToggleCustomerAPI\./,
          '',
        );
        requests.push({ ...req, endpoint: index, operation });
        return handle(cluster, req, operation);
      },
      { port },
    );
  const servers: (HttpSim | undefined)[] = [];
  for (let i = 0; i < regions.length; i++) servers.push(await serve(i));
  const ports = servers.map((s) => s!.port);
  const mustFind = (arn: string): Control => {
    const x = controls.find((c) => c.arn === arn);
    if (!x) throw new Error(`no routing control ${arn} in the ARC simulator`);
    return x;
  };
  return {
    endpoints: regions.map((region, i) => ({
      url: `http://127.0.0.1:${ports[i]}${BASE_PATH}`,
      region,
    })),
    controlPanelArn: PANEL,
    primaryControlArn: controls[0]!.arn,
    secondaryControlArn: controls[1]!.arn,
    safetyRuleArn: assertion.arn,
    gateControlArn: controls[2]!.arn,
    gatingRuleArn: gating.arn,
    requests,
    state: (arn) => mustFind(arn).state,
    setState(arn, state) {
      mustFind(arn).state = state;
    },
    async setEndpointReachable(index, reachable) {
      const s = servers[index];
      if (!reachable && s) {
        servers[index] = undefined;
        await s.close();
      } else if (reachable && !s) servers[index] = await serve(index, ports[index]);
    },
    requestsFor: (operation) => requests.filter((r) => r.operation === operation),
    async stop() {
      await Promise.all(servers.map((s) => s?.close()));
    },
  };
}
