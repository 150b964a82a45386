/**
 * What both DNS providers share: resolving a name the way users' resolvers would (node:dns,
 * optionally pointed at given servers) and the TTL-versus-RTO warning shown before approval.
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';

export type DnsQueryType = 'A' | 'AAAA' | 'CNAME';
/** Resolve `name` to the values of records of `type`; throws when there are none. */
export type ResolveFn = (name: string, type: DnsQueryType) => Promise<string[]>;

/** A resolver using node:dns; `servers` ("1.2.3.4" or "127.0.0.1:5353") override the system's. */
export function createResolver(opts: { servers?: string[]; timeoutMs?: number } = {}): ResolveFn {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: 2 });
  if (opts.servers && opts.servers.length > 0) resolver.setServers(opts.servers);
  return async (name, type) => {
    const host = name.replace(/\.$/, '');
    if (type === 'A') return resolver.resolve4(host);
    if (type === 'AAAA') return resolver.resolve6(host);
    return resolver.resolveCname(host);
  };
}

/** The query type that shows where `value` (an IP or a host name) is served from. */
export function queryTypeFor(value: string): DnsQueryType {
  const v = net.isIP(value);
  return v === 4 ? 'A' : v === 6 ? 'AAAA' : 'CNAME';
}

export const normalizeName = (name: string): string => name.replace(/\.$/, '').toLowerCase();

export function sameValues(a: readonly string[], b: readonly string[]): boolean {
  const norm = (xs: readonly string[]): string => xs.map(normalizeName).sort().join(',');
  return a.length > 0 && norm(a) === norm(b);
}

/**
 * Resolvers may keep answering the old region for up to one TTL after the switch, so a TTL longer
 * than the RTO target means the target cannot be met for every user.
 */
export function ttlWarning(ttlSeconds: number | undefined, rtoMinutes: number | undefined): string | undefined {
  if (ttlSeconds === undefined || rtoMinutes === undefined) return undefined;
  if (ttlSeconds < rtoMinutes * 60) return undefined;
  return `TTL ${ttlSeconds} s is not shorter than the RTO target of ${rtoMinutes} min: resolvers may keep sending users to the old region for up to ${formatSeconds(ttlSeconds)} after the switch. Lower the TTL well before a drill.`;
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
