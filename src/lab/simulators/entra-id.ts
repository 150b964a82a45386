/**
 * Microsoft Entra ID simulator: the parts of the v2.0 endpoint a confidential client uses, so the
 * bot's real @azure/identity chain (EnvironmentCredential, WorkloadIdentityCredential) gets its
 * tokens here with AZURE_AUTHORITY_HOST pointing at it. Serves the OpenID Connect metadata MSAL
 * fetches first, the signing keys, and the token endpoint for the client credentials grant with a
 * client secret or a federated assertion (workload identity). Tokens are RS256 JWTs the ARM
 * simulators verify (signature, audience, expiry). https only: @azure/identity refuses an http
 * authority host.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import {
  json,
  startHttpSim,
  type HttpSim,
  type RecordedRequest,
  type SimResponse,
} from './http-sim.js';
import { signJwt, verifyJwt, type JwtClaims } from './jwt.js';
import type { TokenVerifier } from './arm.js';

/** The audience Entra ID requires in a federated assertion (learn.microsoft.com entra/workload-id/workload-identity-federation). */
const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const KID = 'lab-entra-key-1';
/** Scopes MSAL may add to any request; not resources. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access']);

interface FederatedCredential {
  /** The external issuer (an AKS cluster's OIDC issuer URL) and the subject it vouches for. */
  issuer: string;
  subject: string;
  /** PEM of the issuer's public key (Entra ID reads it from the issuer's JWKS). */
  publicKey: string;
}

interface EntraIdSimOptions {
  port?: number;
  tls: { key: string; cert: string };
  tenantId?: string;
  clientId?: string;
  /** The app's client secret; default a random one per start. */
  clientSecret?: string;
  federated?: FederatedCredential;
  /** Lifetime of issued tokens (default 3600 s, as Entra ID's default). */
  tokenLifetimeSeconds?: number;
}

export interface EntraIdSim extends TokenVerifier {
  /** AZURE_AUTHORITY_HOST. */
  readonly url: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly requests: RecordedRequest[];
  /** A token as the endpoint would issue it, with claims overridden (tests: expired, wrong aud). */
  issue(claims: Partial<JwtClaims>): string;
  stop(): Promise<void>;
}

interface EntraState {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  federated: FederatedCredential | undefined;
  lifetime: number;
  key: KeyObject;
  publicKey: KeyObject;
}

/**
 * Entra ID's error body (learn.microsoft.com entra/identity-platform/v2-oauth2-client-creds-grant-flow,
 * "Error response"): error, error_description starting with the AADSTS code, error_codes, ids.
 */
function stsError(status: number, error: string, code: number, text: string): SimResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  });
}

function issuer(s: EntraState): string {
  return `${s.url}/${s.tenantId}/v2.0`;
}

/** The OpenID Connect discovery document (openid.net/specs/openid-connect-discovery-1_0.html §4). */
function openIdConfiguration(s: EntraState): SimResponse {
  const base = `${s.url}/${s.tenantId}`;
  return json(200, {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: issuer(s),
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    tenant_region_scope: 'WW',
    cloud_instance_name: 'lab.local',
  });
}

function jwks(s: EntraState): SimResponse {
  const jwk = s.publicKey.export({ format: 'jwk' });
  return json(200, { keys: [{ ...jwk, kid: KID, use: 'sig', alg: 'RS256' }] });
}

/** The one resource of a client credentials request: `{resource}/.default`, nothing else. */
function resourceOf(scope: string | undefined): string | SimResponse {
  const scopes = (scope ?? '').split(/\s+/).filter((x) => x && !OIDC_SCOPES.has(x));
  const resource = scopes.length === 1 ? /^(.+)\/\.default$/.exec(scopes[0]!)?.[1] : undefined;
  if (!resource)
    return stsError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  return resource;
}

/** A federated assertion must match the app's federated identity credential: issuer, subject, audience, time, signature. */
function assertionError(s: EntraState, assertion: string): SimResponse | undefined {
  const f = s.federated;
  if (!f)
    return stsError(
      400,
      'invalid_client',
      700211,
      'No matching federated identity record found for presented assertion issuer.',
    );
  const checked = verifyJwt(assertion, f.publicKey);
  if ('error' in checked)
    return stsError(
      400,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature (${checked.error}).`,
    );
  const c = checked.claims;
  if (c.iss !== f.issuer)
    return stsError(
      400,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${c.iss ?? ''}'.`,
    );
  if (c.sub !== f.subject)
    return stsError(
      400,
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${c.sub ?? ''}'.`,
    );
  const auds = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!auds.includes(FEDERATED_AUDIENCE))
    return stsError(
      400,
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${auds.join(',')}'.`,
    );
  if (typeof c.exp !== 'number' || c.exp * 1000 <= Date.now())
    return stsError(
      400,
      'invalid_client',
      700024,
      'Client assertion is not within its valid time range.',
    );
  return undefined;
}

/** The client's proof: its secret, or a federated assertion (client_assertion_type jwt-bearer). */
function clientAuthError(s: EntraState, form: URLSearchParams): SimResponse | undefined {
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER)
      return stsError(400, 'invalid_request', 50027, 'Invalid client_assertion_type.');
    return assertionError(s, assertion);
  }
  if (secret === null)
    return stsError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  if (secret !== s.clientSecret)
    return stsError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${s.clientId}'.`,
    );
  return undefined;
}

function token(s: EntraState, req: RecordedRequest, tenant: string): SimResponse {
  const form = new URLSearchParams(req.body);
  if (form.get('grant_type') !== 'client_credentials')
    return stsError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${form.get('grant_type') ?? ''}'.`,
    );
  const clientId = form.get('client_id') ?? '';
  if (clientId !== s.clientId)
    return stsError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant.`,
    );
  const refused = clientAuthError(s, form);
  if (refused) return refused;
  const resource = resourceOf(form.get('scope') ?? undefined);
  if (typeof resource !== 'string') return resource;
  const now = Math.floor(Date.now() / 1000);
  const accessToken = signJwt(
    {
      aud: resource,
      iss: issuer(s),
      tid: s.tenantId,
      appid: s.clientId,
      azp: s.clientId,
      sub: s.clientId,
      oid: s.clientId,
      iat: now,
      nbf: now,
      exp: now + s.lifetime,
    },
    s.key,
    KID,
  );
  return json(200, {
    token_type: 'Bearer',
    expires_in: s.lifetime,
    ext_expires_in: s.lifetime,
    access_token: accessToken,
  });
}

function handle(s: EntraState, req: RecordedRequest): SimResponse {
  const m =
    /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token)$/.exec(
      req.path,
    );
  if (!m)
    return stsError(404, 'invalid_request', 90002, `The simulator does not serve ${req.path}.`);
  const [, tenant, what] = m as unknown as [string, string, string];
  if (tenant !== s.tenantId)
    return stsError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  if (what.startsWith('oauth2')) {
    if (req.method !== 'POST')
      return stsError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    return token(s, req, tenant);
  }
  return what.startsWith('discovery') ? jwks(s) : openIdConfiguration(s);
}

export async function startEntraIdSimulator(opts: EntraIdSimOptions): Promise<EntraIdSim> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const state: EntraState = {
    url: '',
    tenantId: opts.tenantId ?? '72f988bf-0000-4000-8000-000000000d1b',
    clientId: opts.clientId ?? 'd7b1a0c0-0000-4000-8000-00000000b07a',
    clientSecret: opts.clientSecret ?? `lab~${randomUUID()}`,
    federated: opts.federated,
    lifetime: opts.tokenLifetimeSeconds ?? 3600,
    key: privateKey,
    publicKey,
  };
  const http: HttpSim = await startHttpSim((req) => handle(state, req), {
    port: opts.port,
    tls: opts.tls,
  });
  state.url = http.url;
  return {
    url: http.url,
    tenantId: state.tenantId,
    clientId: state.clientId,
    clientSecret: state.clientSecret,
    requests: http.requests,
    authorizationUri: `${http.url}/${state.tenantId}`,
    verify(tokenText) {
      const checked = verifyJwt(tokenText, publicKey);
      if ('error' in checked) return checked;
      if (checked.claims.iss !== issuer(state))
        return { error: `issuer ${String(checked.claims.iss)} is not this tenant's` };
      return checked;
    },
    issue(claims) {
      const now = Math.floor(Date.now() / 1000);
      return signJwt(
        {
          iss: issuer(state),
          tid: state.tenantId,
          appid: state.clientId,
          iat: now,
          nbf: now,
          exp: now + state.lifetime,
          ...claims,
        },
        privateKey,
        KID,
      );
    },
    stop: () => http.close(),
  };
}
