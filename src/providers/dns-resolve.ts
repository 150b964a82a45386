/**
 * What both DNS providers share: resolving a name the way users' resolvers would (node:dns,
 * optionally pointed at given servers) and the failover-time-versus-RTO warning shown before approval.
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';

type DnsQueryType = 'A' | 'AAAA' | 'CNAME';
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
 * How long the DNS service takes to notice that the region users are sent to has failed, read
 * from its own health-check settings; `known: false` says why it could not be read.
 */
export type FailoverDetection =
  /** how: "health check 3 × 30 s"; watcher: who notices, "the health check". */
  { known: true; seconds: number; how: string; watcher: string } | { known: false; why: string };

/** The time a failed region keeps receiving users, in numbers a person can check. */
interface FailoverTime {
  /**
   * Detection plus one TTL, the TTL alone when detection is unknown, the detection alone (a lower
   * bound) without a TTL; undefined when neither is known.
   */
  seconds: number | undefined;
  /** "TTL 300 s + health check 3 × 30 s = 390 s", or "TTL 300 s (TTL only: why)". */
  text: string;
  detection: FailoverDetection;
}

/**
 * After a region fails, the DNS service keeps answering it until its health check sees the
 * failure, and resolvers keep that answer for up to one TTL more: the two add up.
 */
export function failoverTime(
  ttlSeconds: number | undefined,
  detection: FailoverDetection,
): FailoverTime {
  const ttl = `TTL ${ttlSeconds ?? '?'} s`;
  if (!detection.known)
    return { seconds: ttlSeconds, text: `${ttl} (TTL only: ${detection.why})`, detection };
  // No TTL of its own (a Route 53 alias record answers with its target's): the detection alone is
  // a lower bound, and one that already uses up the RTO target must still be said.
  if (ttlSeconds === undefined)
    return {
      seconds: detection.seconds,
      text: `${ttl} + ${detection.how} = at least ${detection.seconds} s`,
      detection,
    };
  const seconds = ttlSeconds + detection.seconds;
  return { seconds, text: `${ttl} + ${detection.how} = ${seconds} s`, detection };
}

/**
 * The warning shown before approval when the failover time alone uses up the RTO target (at the
 * target nothing is left for promoting, scaling and verifying). `lower` says what to change.
 */
export function failoverWarning(
  time: FailoverTime,
  rtoMinutes: number | undefined,
  lower: string,
): string | undefined {
  if (time.seconds === undefined || rtoMinutes === undefined) return undefined;
  const target = rtoMinutes * 60;
  if (time.seconds < target) return undefined;
  const against = `${time.seconds > target ? 'over' : 'not under'} the ${rtoMinutes}-min RTO target`;
  if (!time.detection.known)
    return `TTL ${time.seconds} s, ${against} (TTL only: ${time.detection.why}): resolvers may keep sending users to the old region for up to ${formatSeconds(time.seconds)} after the switch. ${lower}`;
  return `${time.text}, ${against}: users are sent to a failed region until ${time.detection.watcher} sees it fail, then for up to one TTL while resolvers keep the old answer. ${lower}`;
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The pause before the next poll of a change that usually lands in milliseconds (Route 53
 * GetChange, Traffic Manager routing: 25 ms first; a replica's LSN or ROLE: 1 ms first), doubling
 * up to `maxMs`.
 */
export const backoffMs = (attempt: number, maxMs: number, firstMs = 25): number =>
  Math.min(maxMs, firstMs * 2 ** attempt);
