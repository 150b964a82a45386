/**
 * Azure Traffic Manager simulator: the ARM JSON API (api-version 2022-04-01, the one
 * @azure/arm-trafficmanager 6 sends) for one Priority profile with a primary and a secondary
 * endpoint. Profiles GET (with the monitor config); endpoints GET, PATCH, PUT; monitor status per
 * endpoint (Unmonitored with Always Serve); https with a self-signed certificate (`ca`) and a
 * bearer token check. A UDP DNS server answers the profile's FQDN with the endpoint Traffic
 * Manager would pick.
 */
import { startHttpSim, type HttpSim, type RecordedRequest, type SimResponse } from './http-sim.js';
import { armError, type ArmAuth, type TokenVerifier } from './arm.js';
import { selfSignedCert } from './tls.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { handleTrafficManagerRequest } from './traffic-manager-api.js';
import {
  createProfileState,
  dnsAnswer,
  served,
  type ProfileOptions,
  type ProfileState,
  type SimEndpoint,
  type SimMonitor,
} from './traffic-manager-profile.js';

interface TrafficManagerSimOptions extends ProfileOptions {
  port?: number;
  dns?: boolean;
  /** Tokens from the lab's Entra ID, checked as ARM does; without it, only the fixed `token`. */
  verifier?: TokenVerifier;
  /** Its certificate (default: a new self-signed one). */
  tls?: { key: string; cert: string };
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
  /**
   * Deny an Azure action ("Microsoft.Network/trafficManagerProfiles/read", ".../azureEndpoints/write")
   * to the bot until deny(action, false), as a role without it would.
   */
  deny(action: string, denied?: boolean): void;
  /** Next `times` requests get 429 TooManyRequests with Retry-After: 0. */
  throttleNext(times: number): void;
  stop(): Promise<void>;
}

export async function startTrafficManagerSimulator(
  opts: TrafficManagerSimOptions = {},
): Promise<TrafficManagerSim> {
  const p = createProfileState(opts);
  const tls = opts.tls ?? (await selfSignedCert());
  let auth: ArmAuth = { token: p.token };
  const denied = new Set<string>();
  const http: HttpSim = await startHttpSim(
    (req) => authorizationFailed(denied, req) ?? handleTrafficManagerRequest(p, auth, req),
    { port: opts.port, tls },
  );
  // ARM accepts its resource id with and without the trailing slash as the audience.
  if (opts.verifier) auth = { verifier: opts.verifier, audiences: [http.url, `${http.url}/`] };
  let dns: DnsServer | undefined;
  if (opts.dns !== false) dns = await startDnsServer((name, type) => dnsAnswer(p, name, type));
  return {
    ...trafficManagerSim(p, http, dns, tls.cert),
    deny: (a, on = true) => void (on ? denied.add(a) : denied.delete(a)),
  };
}

/** The simulator's handle: where it listens, and the portal-side levers a test pulls. */
function trafficManagerSim(
  p: ProfileState,
  http: HttpSim,
  dns: DnsServer | undefined,
  ca: string,
): Omit<TrafficManagerSim, 'deny'> {
  const find = (name: string): SimEndpoint | undefined => p.endpoints.find((x) => x.name === name);
  const mustFind = (name: string): SimEndpoint => {
    const e = find(name);
    if (!e) throw new Error(`no endpoint ${name} in the Traffic Manager simulator`);
    return e;
  };
  return {
    url: http.url,
    ca,
    token: p.token,
    subscriptionId: p.subscriptionId,
    resourceGroup: p.resourceGroup,
    profileName: p.profileName,
    fqdn: p.fqdn,
    primaryEndpoint: 'primary',
    secondaryEndpoint: 'secondary',
    endpointType: p.endpointType,
    dnsServer: dns?.address,
    requests: http.requests,
    endpoint: (name) => {
      const e = find(name);
      return e ? { ...e } : undefined;
    },
    served: () => {
      const e = served(p);
      return e ? { ...e } : undefined;
    },
    setEndpointHealthy(name, healthy) {
      const e = find(name);
      if (e) e.healthy = healthy;
    },
    setTtl(value) {
      p.ttl = value;
    },
    setMonitor(value) {
      Object.assign(p.monitor, value);
    },
    setAlwaysServe(name, on) {
      mustFind(name).alwaysServe = on;
    },
    failNext: (status, code, message, failOpts = {}) =>
      injectArmError(http, armError(status, code, message), failOpts),
    setPriority(name, priority) {
      mustFind(name).priority = priority;
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

/** Serve `response` to the next `times` requests (of `method`, if given, after letting `skip` of them through). */
function injectArmError(
  http: HttpSim,
  response: SimResponse,
  { times = 1, method, skip = 0 }: { times?: number; method?: string; skip?: number },
): void {
  let passed = 0;
  const matches = (r: RecordedRequest): boolean => method === undefined || r.method === method;
  const match =
    skip > 0 || method
      ? (r: RecordedRequest) => matches(r) && (passed >= skip || (passed++, false))
      : undefined;
  http.inject({ response, times, match });
}

/**
 * ARM's answer when the caller's role lacks the action ("Troubleshoot Azure RBAC", learn.microsoft.com
 * azure/role-based-access-control/troubleshooting): 403, code AuthorizationFailed, the message
 * naming the action and the scope. Authentication comes first: only a request with a token gets it.
 */
function authorizationFailed(denied: Set<string>, req: RecordedRequest): SimResponse | null {
  if (!req.headers.authorization) return null;
  const endpoint = /\/trafficManagerProfiles\/[^/]+\/(\w+Endpoints)\/[^/]+$/.exec(req.path);
  const action = endpoint
    ? `Microsoft.Network/trafficManagerProfiles/${endpoint[1]}/${req.method === 'GET' ? 'read' : 'write'}`
    : `Microsoft.Network/trafficManagerProfiles/${req.method === 'GET' ? 'read' : 'write'}`;
  if (!denied.has(action)) return null;
  return armError(
    403,
    'AuthorizationFailed',
    `The client 'dr-bot' with object id '00000000-0000-0000-0000-00000000d0b0' does not have authorization to perform action '${action}' over scope '${req.path}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}
