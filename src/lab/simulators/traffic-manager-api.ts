/**
 * The Traffic Manager simulator's ARM API over its profile: the bearer-token (arm.ts) and api-version
 * checks, the profile's resource path, then one named handler per resource and method (profile
 * GET; endpoint GET, PATCH, PUT), answering errors as ARM does.
 */
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import { armAuthError, armApiVersionError, armError, type ArmAuth } from './arm.js';
import {
  endpointJson,
  profileJson,
  type ProfileState,
  type SimEndpoint,
} from './traffic-manager-profile.js';

const TRAFFIC_MANAGER_API_VERSIONS = ['2022-04-01'];

const PROFILE_PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.network\/trafficmanagerprofiles\/([^/]+)(?:\/([^/]+)\/([^/]+))?$/i;

type EndpointHandler = (p: ProfileState, e: SimEndpoint, req: RecordedRequest) => SimResponse;

const ENDPOINT_HANDLERS = new Map<string, EndpointHandler>([
  ['GET', (p, e) => json(200, endpointJson(p, e))],
  ['PATCH', (p, e, req) => update(p, e, req.body, false)],
  ['PUT', (p, e, req) => update(p, e, req.body, true)],
]);

export function handleTrafficManagerRequest(
  p: ProfileState,
  auth: ArmAuth,
  req: RecordedRequest,
): SimResponse {
  const refused = armAuthError(req, auth) ?? armApiVersionError(req, TRAFFIC_MANAGER_API_VERSIONS);
  if (refused) return refused;
  const m = PROFILE_PATH.exec(req.path);
  if (!m)
    return armError(
      404,
      'InvalidResourceType',
      `The simulator does not implement ${req.method} ${req.path}.`,
    );
  const [, sub, rg, profile, type, name] = m;
  const missing = profileError(p, sub, rg, profile);
  if (missing) return missing;
  if (!type)
    return req.method === 'GET'
      ? json(200, profileJson(p))
      : armError(405, 'MethodNotAllowed', `${req.method} on profiles is not simulated.`);
  const e = p.endpoints.find(
    (x) =>
      x.type.toLowerCase() === type.toLowerCase() && x.name.toLowerCase() === name.toLowerCase(),
  );
  if (!e)
    return armError(
      404,
      'NotFound',
      `Endpoint '${type}/${name}' was not found in profile '${p.profileName}'.`,
    );
  const handler = ENDPOINT_HANDLERS.get(req.method);
  if (handler) return handler(p, e, req);
  return armError(405, 'MethodNotAllowed', `${req.method} on endpoints is not simulated.`);
}

/** The subscription, resource group and profile of the path must be this profile's. */
function profileError(
  p: ProfileState,
  sub: string,
  rg: string,
  profile: string,
): SimResponse | undefined {
  if (sub !== p.subscriptionId)
    return armError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
  if (rg.toLowerCase() !== p.resourceGroup.toLowerCase())
    return armError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
  if (profile.toLowerCase() !== p.profileName.toLowerCase())
    return armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.Network/trafficmanagerprofiles/${profile}' under resource group '${rg}' was not found.`,
    );
  return undefined;
}

function update(p: ProfileState, e: SimEndpoint, body: string, replace: boolean): SimResponse {
  let props: Partial<{
    endpointStatus: string;
    priority: number;
    target: string;
    weight: number;
  }>;
  try {
    props = (JSON.parse(body || '{}') as { properties?: typeof props }).properties ?? {};
  } catch {
    return armError(400, 'BadRequest', 'The request body is not valid JSON.');
  }
  if (replace && !props.target)
    return armError(400, 'BadRequest', 'The target of an external endpoint is required.');
  if (
    props.endpointStatus !== undefined &&
    props.endpointStatus !== 'Enabled' &&
    props.endpointStatus !== 'Disabled'
  )
    return armError(400, 'BadRequest', `Invalid endpointStatus '${props.endpointStatus}'.`);
  if (props.priority !== undefined) {
    if (props.priority < 1 || props.priority > 1000)
      return armError(400, 'BadRequest', 'Endpoint priority must be between 1 and 1000.');
    const clash = p.endpoints.find((o) => o !== e && o.priority === props.priority);
    if (clash)
      return armError(
        400,
        'BadRequest',
        `The priority ${props.priority} is already used by endpoint '${clash.name}'. Priorities must be unique within a profile.`,
      );
  }
  if (props.endpointStatus !== undefined)
    e.endpointStatus = props.endpointStatus as SimEndpoint['endpointStatus'];
  if (props.priority !== undefined) e.priority = props.priority;
  if (props.target !== undefined) e.target = props.target;
  if (props.weight !== undefined) e.weight = props.weight;
  return json(200, endpointJson(p, e));
}
