/**
 * Compact JWS (RFC 7515) with RS256 over node:crypto, for the lab's Microsoft Entra ID simulator:
 * the access tokens it issues and the federated (workload identity) assertions it accepts.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export type JwtClaims = Record<string, unknown> & {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
};

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function signJwt(claims: JwtClaims, key: KeyObject, kid: string): string {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), key);
  return `${head}.${body}.${b64url(signature)}`;
}

/** The claims of a token signed by `publicKey`, or why it is not one (malformed, bad signature). */
export function verifyJwt(
  token: string,
  publicKey: KeyObject | string,
): { claims: JwtClaims } | { error: string } {
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'not a JWT (three dot-separated parts)' };
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: JwtClaims;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as JwtClaims;
  } catch {
    return { error: 'the JWT header or payload is not base64url JSON' };
  }
  if (header.alg !== 'RS256') return { error: `unsupported alg ${header.alg ?? '(none)'}` };
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const ok = verify('sha256', Buffer.from(`${head}.${body}`), key, Buffer.from(sig, 'base64url'));
  return ok ? { claims } : { error: 'the signature does not verify' };
}
