/**
 * Azure Resource Health simulator: the ARM JSON API (api-version 2022-10-01, the one
 * @azure/arm-resourcehealth 4 sends) for availability statuses, of one resource
 * (GET /{resourceId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current) and of a
 * subscription. https with a self-signed certificate (`ca`) and a bearer token check, as ARM.
 */
import { startHttpSim, json, type HttpSim, type RecordedRequest } from './http-sim.js';
import { selfSignedCert } from './tls.js';
import { armAuthError, armError, type ArmAuth, type TokenVerifier } from './arm.js';

const RESOURCE_HEALTH_API_VERSION = '2022-10-01';
const CURRENT = '/providers/Microsoft.ResourceHealth/availabilityStatuses/current';

interface SimResourceStatus {
  resourceId: string;
  location: string;
  availabilityState: 'Available' | 'Unavailable' | 'Degraded' | 'Unknown';
  summary?: string;
  reasonType?: string;
  occuredTime?: Date;
}

export interface AzureResourceHealthSim {
  readonly url: string;
  readonly ca: string;
  readonly token: string;
  readonly subscriptionId: string;
  readonly requests: RecordedRequest[];
  setStatuses(statuses: SimResourceStatus[]): void;
  /** Next `times` requests get this ARM error. */
  failNext(status: number, code: string, message: string, times?: number): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

export async function startAzureResourceHealthSimulator(
  opts: {
    port?: number;
    subscriptionId?: string;
    token?: string;
    /** Tokens from the lab's Entra ID, checked as ARM does; without it, only the fixed `token`. */
    verifier?: TokenVerifier;
    tls?: { key: string; cert: string };
  } = {},
): Promise<AzureResourceHealthSim> {
  const subscriptionId = opts.subscriptionId ?? '00000000-0000-0000-0000-000000000000';
  const token = opts.token ?? 'sim-resource-health-token';
  const tls = opts.tls ?? (await selfSignedCert());
  let auth: ArmAuth = { token };
  let statuses: SimResourceStatus[] = [];

  const body = (s: SimResourceStatus) => ({
    id: `${s.resourceId}${CURRENT}`,
    name: 'current',
    type: 'Microsoft.ResourceHealth/AvailabilityStatuses',
    location: s.location,
    properties: {
      availabilityState: s.availabilityState,
      summary:
        s.summary ??
        (s.availabilityState === 'Available'
          ? 'There are no known problems affecting this resource.'
          : 'The resource is affected by a platform problem.'),
      ...(s.reasonType ? { reasonType: s.reasonType } : {}),
      ...(s.occuredTime ? { occuredTime: s.occuredTime.toISOString() } : {}),
    },
  });

  const http: HttpSim = await startHttpSim(
    (req) => {
      const refused = armAuthError(req, auth);
      if (refused) return refused;
      if (req.query['api-version'] !== RESOURCE_HEALTH_API_VERSION)
        return armError(
          400,
          'InvalidApiVersionParameter',
          `The api-version '${req.query['api-version'] ?? ''}' is invalid.`,
        );
      if (req.method !== 'GET')
        return armError(405, 'MethodNotAllowed', `${req.method} is not supported.`);
      const subList = `/subscriptions/${subscriptionId}/providers/Microsoft.ResourceHealth/availabilityStatuses`;
      if (req.path.toLowerCase() === subList.toLowerCase())
        return json(200, { value: statuses.map(body) });
      if (req.path.toLowerCase().endsWith(CURRENT.toLowerCase())) {
        const resourceId = req.path.slice(0, -CURRENT.length);
        const found = statuses.find((s) => s.resourceId.toLowerCase() === resourceId.toLowerCase());
        if (!found)
          return armError(404, 'ResourceNotFound', `The Resource '${resourceId}' was not found.`);
        return json(200, body(found));
      }
      return armError(404, 'NotFound', `No route for ${req.path}.`);
    },
    { port: opts.port, tls },
  );
  if (opts.verifier) auth = { verifier: opts.verifier, audiences: [http.url, `${http.url}/`] };

  return {
    url: http.url,
    ca: tls.cert,
    token,
    subscriptionId,
    requests: http.requests,
    setStatuses(next) {
      statuses = [...next];
    },
    failNext(status, code, message, times = 1) {
      http.inject({ response: armError(status, code, message), times });
    },
    clearFaults: () => http.clearFaults(),
    stop: () => http.close(),
  };
}
