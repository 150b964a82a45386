/**
 * The lab's Entra ID as a token verifier from another process: what an ARM simulator running
 * beside the simulators' process (the Azure Cache one) checks tokens with. It reads the tenant's
 * OpenID Connect metadata and signing keys over https, trusting the lab's CA, as a resource
 * server validates Entra ID tokens (learn.microsoft.com entra/identity-platform/access-tokens,
 * "Validate tokens": the keys from the metadata's jwks_uri, the issuer from the metadata).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { get } from 'node:https';
import type { TokenVerifier } from './arm.js';
import { verifyJwt } from './jwt.js';

function httpsJson<T>(url: string, ca: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200)
          return reject(new Error(`${url} answered ${res.statusCode}: ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch {
          reject(new Error(`${url} did not answer JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within 10 s`)));
    req.on('error', reject);
  });
}

/** The verifier of tokens the lab authority at `authorityHost` issues for `tenantId`. */
export async function fetchEntraVerifier(opts: {
  authorityHost: string;
  tenantId: string;
  /** PEM of the lab's CA (the authority's certificate). */
  ca: string;
}): Promise<TokenVerifier> {
  const base = `${opts.authorityHost.replace(/\/$/, '')}/${opts.tenantId}`;
  const meta = await httpsJson<{ issuer: string; jwks_uri: string }>(
    `${base}/v2.0/.well-known/openid-configuration`,
    opts.ca,
  );
  const { keys } = await httpsJson<{ keys: (JsonWebKey & { kid?: string })[] }>(
    meta.jwks_uri,
    opts.ca,
  );
  const byKid = new Map<string, KeyObject>(
    keys.map((k) => [k.kid ?? '', createPublicKey({ key: k, format: 'jwk' })]),
  );
  return {
    authorizationUri: base,
    verify(token) {
      let kid: string | undefined;
      try {
        kid = (
          JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as {
            kid?: string;
          }
        ).kid;
      } catch {
        return { error: 'the JWT header is not base64url JSON' };
      }
      const key = byKid.get(kid ?? '');
      if (!key) return { error: `no signing key ${kid ?? '(none)'} in the tenant's keys` };
      const checked = verifyJwt(token, key);
      if ('error' in checked) return checked;
      if (checked.claims.iss !== meta.issuer)
        return { error: `issuer ${String(checked.claims.iss)} is not this tenant's` };
      return checked;
    },
  };
}
