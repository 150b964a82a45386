/**
 * Azure Resource Manager's error envelope and bearer-token check, shared by the ARM simulators
 * (Traffic Manager, Resource Health): `{ error: { code, message } }` with a request id, as the
 * Azure SDKs parse it.
 */
import { json, type RecordedRequest, type SimResponse } from './http-sim.js';
import type { JwtClaims } from './jwt.js';

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

/** Checks the signature of a token the lab's Microsoft Entra ID simulator issued. */
export interface TokenVerifier {
  /** The authority's WWW-Authenticate `authorization_uri` (ARM names its login endpoint). */
  readonly authorizationUri: string;
  verify(token: string): { claims: JwtClaims } | { error: string };
}

/**
 * How an ARM simulator authenticates callers: a fixed token (SDK-level tests that hand the client
 * a ready credential), or tokens from the lab's Entra ID, checked as ARM does.
 */
export type ArmAuth =
  { token: string } | { verifier: TokenVerifier; /** accepted `aud` values */ audiences: string[] };

/**
 * ARM answers 401 with a Bearer challenge naming the authority (RFC 6750 §3; learn.microsoft.com
 * azure/azure-resource-manager/management/authenticate-multi-tenant: "WWW-Authenticate").
 */
function unauthorized(code: string, message: string, authorizationUri: string): SimResponse {
  return armError(401, code, message, {
    'www-authenticate': `Bearer authorization_uri="${authorizationUri}", error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
  });
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/**
 * ARM's token checks before any routing: a bearer token, signed by the tenant's authority, for
 * this API's audience, not expired. The codes are ARM's (learn.microsoft.com
 * azure/azure-resource-manager/troubleshooting/common-deployment-errors: InvalidAuthenticationToken,
 * InvalidAuthenticationTokenAudience, ExpiredAuthenticationToken).
 */
/**
 * ARM's check after the token: an api-version the resource provider supports (400
 * InvalidApiVersionParameter, listing the supported ones).
 */
export function armApiVersionError(
  req: RecordedRequest,
  supported: readonly string[],
): SimResponse | undefined {
  const apiVersion = req.query['api-version'];
  if (apiVersion && supported.includes(apiVersion)) return undefined;
  return armError(
    400,
    'InvalidApiVersionParameter',
    `The api-version '${apiVersion ?? ''}' is invalid. The supported versions are '${supported.join(',')}'.`,
  );
}

export function armAuthError(req: RecordedRequest, auth: ArmAuth): SimResponse | undefined {
  const header = String(req.headers.authorization ?? '');
  const uri = 'verifier' in auth ? auth.verifier.authorizationUri : 'https://login.windows.net/';
  const m = /^Bearer (.+)$/.exec(header);
  if (!m)
    return unauthorized(
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing.",
      uri,
    );
  const token = m[1]!;
  if ('token' in auth)
    return token === auth.token
      ? undefined
      : unauthorized('InvalidAuthenticationToken', 'The access token is invalid.', uri);
  const checked = auth.verifier.verify(token);
  if ('error' in checked)
    return unauthorized(
      'InvalidAuthenticationToken',
      `The access token is invalid: ${checked.error}.`,
      uri,
    );
  const { aud, exp } = checked.claims;
  const auds = Array.isArray(aud) ? aud : [aud ?? ''];
  if (!auds.some((a) => auth.audiences.includes(a)))
    return unauthorized(
      'InvalidAuthenticationTokenAudience',
      `The access token has been obtained for wrong audience or resource '${auds.join(',')}'. It should exactly match with one of the allowed audiences ${auth.audiences.map((a) => `'${a}'`).join(',')}.`,
      uri,
    );
  const now = Math.floor(Date.now() / 1000);
  if (typeof exp !== 'number' || exp <= now)
    return unauthorized(
      'ExpiredAuthenticationToken',
      `The access token expiry UTC time '${typeof exp === 'number' ? iso(exp) : '(none)'}' is earlier than current UTC time '${iso(now)}'.`,
      uri,
    );
  return undefined;
}
