/**
 * Azure Traffic Manager simulator: the ARM JSON API (api-version 2022-04-01, the one
 * @azure/arm-trafficmanager 6 sends) for one Priority profile with a primary and a secondary
 * endpoint. Profiles GET (with the monitor config); endpoints GET, PATCH, PUT; monitor status per
 * endpoint (Unmonitored with Always Serve); https with a self-signed certificate (`ca`) and a
 * bearer token check. A UDP DNS server answers the profile's FQDN with the endpoint Traffic
 * Manager would pick.
 */
import {
  startHttpSim,
  json,
  type HttpSim,
  type RecordedRequest,
  type SimResponse,
} from './http-sim.js';
import { selfSignedCert } from './tls.js';
import { isIp, startDnsServer, type DnsServer } from './dns-server.js';

const TRAFFIC_MANAGER_API_VERSIONS = ['2022-04-01'];

type MonitorStatus =
  'CheckingEndpoint' | 'Online' | 'Degraded' | 'Disabled' | 'Inactive' | 'Stopped' | 'Unmonitored';

interface SimEndpoint {
  name: string;
  type: 'azureEndpoints' | 'externalEndpoints' | 'nestedEndpoints';
  target: string;
  endpointStatus: 'Enabled' | 'Disabled';
  priority: number;
  weight: number;
  healthy: boolean;
  /** Always Serve: not probed, always handed out while enabled. */
  alwaysServe: boolean;
}

/** The profile's endpoint monitor: a probe every intervalInSeconds; Degraded after toleratedNumberOfFailures + 1 failures. */
interface SimMonitor {
  intervalInSeconds: number;
  toleratedNumberOfFailures: number;
  timeoutInSeconds: number;
}

interface TrafficManagerSimOptions {
  port?: number;
  subscriptionId?: string;
  resourceGroup?: string;
  profileName?: string;
  ttl?: number;
  primaryTarget?: string;
  secondaryTarget?: string;
  endpointType?: SimEndpoint['type'];
  token?: string;
  dns?: boolean;
}

export interface TrafficManagerSim {
  readonly url: string;
  /** PEM of the self-signed certificate the client must trust. */
  readonly ca: string;
  readonly token: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly profileName: string;
  readonly fqdn: string;
  readonly primaryEndpoint: string;
  readonly secondaryEndpoint: string;
  readonly endpointType: SimEndpoint['type'];
  readonly dnsServer: string | undefined;
  readonly requests: RecordedRequest[];
  endpoint(name: string): SimEndpoint | undefined;
  /** The endpoint DNS answers now. */
  served(): SimEndpoint | undefined;
  setEndpointHealthy(name: string, healthy: boolean): void;
  setTtl(ttl: number): void;
  setMonitor(monitor: Partial<SimMonitor>): void;
  setAlwaysServe(name: string, on: boolean): void;
  /** Next `times` requests (of `method`, if given, after letting `skip` of them through) get this ARM error. */
  failNext(
    status: number,
    code: string,
    message: string,
    opts?: { times?: number; method?: string; skip?: number },
  ): void;
  /** Set an endpoint's priority directly, as someone in the portal (or an interrupted swap) would leave it. */
  setPriority(name: string, priority: number): void;
  /** Next `times` requests get 429 TooManyRequests with Retry-After: 0. */
  throttleNext(times: number): void;
  stop(): Promise<void>;
}

export function armError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): SimResponse {
  return json(
    status,
    { error: { code, message } },
    { 'x-ms-request-id': `sim-${Date.now()}`, ...headers },
  );
}

export async function startTrafficManagerSimulator(
  opts: TrafficManagerSimOptions = {},
): Promise<TrafficManagerSim> {
  const subscriptionId = opts.subscriptionId ?? '00000000-0000-0000-0000-000000000000';
  const resourceGroup = opts.resourceGroup ?? 'rg-dr';
  const profileName = opts.profileName ?? 'app-tm';
  const endpointType = opts.endpointType ?? 'externalEndpoints';
  const token = opts.token ?? 'sim-arm-token';
  const fqdn = `${profileName}.trafficmanager.net`;
  let ttl = opts.ttl ?? 60;
  const monitor: SimMonitor = {
    intervalInSeconds: 30,
    toleratedNumberOfFailures: 3,
    timeoutInSeconds: 10,
  };
  const endpoints: SimEndpoint[] = [
    {
      name: 'primary',
      type: endpointType,
      target: opts.primaryTarget ?? 'primary.example.net',
      endpointStatus: 'Enabled',
      priority: 1,
      weight: 1,
      healthy: true,
      alwaysServe: false,
    },
    {
      name: 'secondary',
      type: endpointType,
      target: opts.secondaryTarget ?? 'secondary.example.net',
      endpointStatus: 'Enabled',
      priority: 2,
      weight: 1,
      healthy: true,
      alwaysServe: false,
    },
  ];

  const profileId = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/trafficManagerProfiles/${profileName}`;
  // Always Serve turns probing off, so there is no health to report.
  const monitorStatus = (e: SimEndpoint): MonitorStatus =>
    e.endpointStatus === 'Disabled'
      ? 'Disabled'
      : e.alwaysServe
        ? 'Unmonitored'
        : e.healthy
          ? 'Online'
          : 'Degraded';

  function served(): SimEndpoint | undefined {
    const enabled = endpoints
      .filter((e) => e.endpointStatus === 'Enabled')
      .sort((a, b) => a.priority - b.priority);
    // With every enabled endpoint degraded, Traffic Manager answers as if all were healthy.
    return enabled.find((e) => e.healthy || e.alwaysServe) ?? enabled[0];
  }

  function endpointJson(e: SimEndpoint): Record<string, unknown> {
    return {
      id: `${profileId}/${e.type}/${e.name}`,
      name: e.name,
      type: `Microsoft.Network/trafficManagerProfiles/${e.type}`,
      properties: {
        endpointStatus: e.endpointStatus,
        endpointMonitorStatus: monitorStatus(e),
        target: e.target,
        weight: e.weight,
        priority: e.priority,
        endpointLocation: null,
        alwaysServe: e.alwaysServe ? 'Enabled' : 'Disabled',
      },
    };
  }

  function profileJson(): Record<string, unknown> {
    const statuses = endpoints.map(monitorStatus);
    const profileMonitorStatus = statuses.every((s) => s === 'Online' || s === 'Disabled')
      ? 'Online'
      : statuses.some((s) => s === 'Online')
        ? 'Degraded'
        : 'Inactive';
    return {
      id: profileId,
      name: profileName,
      type: 'Microsoft.Network/trafficManagerProfiles',
      location: 'global',
      tags: {},
      properties: {
        profileStatus: 'Enabled',
        trafficRoutingMethod: 'Priority',
        dnsConfig: { relativeName: profileName, fqdn, ttl },
        monitorConfig: {
          profileMonitorStatus,
          protocol: 'HTTPS',
          port: 443,
          path: '/healthz',
          ...monitor,
        },
        endpoints: endpoints.map(endpointJson),
        trafficViewEnrollmentStatus: 'Disabled',
      },
    };
  }

  function update(e: SimEndpoint, body: string, replace: boolean): SimResponse {
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
      const clash = endpoints.find((o) => o !== e && o.priority === props.priority);
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
    return json(200, endpointJson(e));
  }

  function handle(req: RecordedRequest): SimResponse {
    if (!/^Bearer .+/.test(String(req.headers.authorization ?? '')))
      return armError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
      );
    if (req.headers.authorization !== `Bearer ${token}`)
      return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    const apiVersion = req.query['api-version'];
    if (!apiVersion || !TRAFFIC_MANAGER_API_VERSIONS.includes(apiVersion))
      return armError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion ?? ''}' is invalid. The supported versions are '${TRAFFIC_MANAGER_API_VERSIONS.join(',')}'.`,
      );
    const m =
      /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.network\/trafficmanagerprofiles\/([^/]+)(?:\/([^/]+)\/([^/]+))?$/i.exec(
        req.path,
      );
    if (!m)
      return armError(
        404,
        'InvalidResourceType',
        `The simulator does not implement ${req.method} ${req.path}.`,
      );
    const [, sub, rg, profile, type, name] = m;
    if (sub !== subscriptionId)
      return armError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
    if (rg.toLowerCase() !== resourceGroup.toLowerCase())
      return armError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
    if (profile.toLowerCase() !== profileName.toLowerCase())
      return armError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/trafficmanagerprofiles/${profile}' under resource group '${rg}' was not found.`,
      );
    if (!type)
      return req.method === 'GET'
        ? json(200, profileJson())
        : armError(405, 'MethodNotAllowed', `${req.method} on profiles is not simulated.`);
    const e = endpoints.find(
      (x) =>
        x.type.toLowerCase() === type.toLowerCase() && x.name.toLowerCase() === name.toLowerCase(),
    );
    if (!e)
      return armError(
        404,
        'NotFound',
        `Endpoint '${type}/${name}' was not found in profile '${profileName}'.`,
      );
    if (req.method === 'GET') return json(200, endpointJson(e));
    if (req.method === 'PATCH') return update(e, req.body, false);
    if (req.method === 'PUT') return update(e, req.body, true);
    return armError(405, 'MethodNotAllowed', `${req.method} on endpoints is not simulated.`);
  }

  const tls = await selfSignedCert();
  const http: HttpSim = await startHttpSim(handle, { port: opts.port, tls });
  let dns: DnsServer | undefined;
  if (opts.dns !== false) {
    dns = await startDnsServer((name, type) => {
      if (name !== fqdn) return null;
      const e = served();
      if (!e) return null;
      const kind = isIp(e.target) ? (e.target.includes(':') ? 'AAAA' : 'A') : 'CNAME';
      if (kind !== 'CNAME' && kind !== type) return null;
      return { type: kind, values: [e.target], ttl };
    });
  }

  return {
    url: http.url,
    ca: tls.cert,
    token,
    subscriptionId,
    resourceGroup,
    profileName,
    fqdn,
    primaryEndpoint: 'primary',
    secondaryEndpoint: 'secondary',
    endpointType,
    dnsServer: dns?.address,
    requests: http.requests,
    endpoint: (name) => {
      const e = endpoints.find((x) => x.name === name);
      return e ? { ...e } : undefined;
    },
    served: () => {
      const e = served();
      return e ? { ...e } : undefined;
    },
    setEndpointHealthy(name, healthy) {
      const e = endpoints.find((x) => x.name === name);
      if (e) e.healthy = healthy;
    },
    setTtl(value) {
      ttl = value;
    },
    setMonitor(value) {
      Object.assign(monitor, value);
    },
    setAlwaysServe(name, on) {
      const e = endpoints.find((x) => x.name === name);
      if (!e) throw new Error(`no endpoint ${name} in the Traffic Manager simulator`);
      e.alwaysServe = on;
    },
    failNext(status, code, message, { times = 1, method, skip = 0 } = {}) {
      let passed = 0;
      const matches = (r: RecordedRequest): boolean => method === undefined || r.method === method;
      const match =
        skip > 0 || method
          ? (r: RecordedRequest) => matches(r) && (passed >= skip || (passed++, false))
          : undefined;
      http.inject({ response: armError(status, code, message), times, match });
    },
    setPriority(name, priority) {
      const e = endpoints.find((x) => x.name === name);
      if (!e) throw new Error(`no endpoint ${name} in the Traffic Manager simulator`);
      e.priority = priority;
    },
    throttleNext(times) {
      http.inject({
        response: armError(429, 'TooManyRequests', 'Too many requests, retry later.', {
          'retry-after': '0',
        }),
        times,
      });
    },
    async stop() {
      await Promise.all([http.close(), dns?.close()]);
    },
  };
}
