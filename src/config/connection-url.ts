/**
 * Reads a PostgreSQL or Redis connection string the way the drivers do (pg and ioredis both use
 * the WHATWG URL parser) and says, without ever repeating it, what is wrong with it. Everything
 * here may see a password: no message or field built here contains the string or a piece of it.
 */

export type ConnectionKind = 'postgres' | 'redis';

const SCHEMES: Record<ConnectionKind, string[]> = {
  postgres: ['postgres:', 'postgresql:'],
  redis: ['redis:', 'rediss:'],
};
const DEFAULT_PORT: Record<ConnectionKind, string> = { postgres: '5432', redis: '6379' };
export const CONNECTION_FORM: Record<ConnectionKind, string> = {
  postgres: 'postgres://user[:password]@host[:port]/db',
  redis: 'redis://[:password@]host[:port][/db]',
};
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);
/** Query parameters that the drivers read as a password (pg: password, sslpassword; ioredis: password). */
const PASSWORD_PARAM = /pass(word)?$/i;

export interface ConnectionServer {
  /**
   * Which server the string reaches: host and port, lower-case, default port filled in, the
   * database/db number and the user left out, localhost/127.0.0.1/::1 as one loopback. Two strings
   * with the same key reach the same server (DNS names are not resolved).
   */
  key: string;
  /** host:port as written (no credentials), for messages. */
  display: string;
  /** The user info holds a password (`user:password@`). */
  hasPassword: boolean;
  /** The query holds a password parameter (`?password=`). */
  passwordParam: boolean;
}

type ParsedConnection =
  { ok: true; server: ConnectionServer } | { ok: false; problem: ConnectionProblem };

/**
 * Why a string is not a usable connection URL. `wrong-scheme` carries the scheme written (never
 * anything after it); the others carry nothing from the string.
 */
type ConnectionProblem =
  | { code: 'not-a-url' }
  | { code: 'wrong-scheme'; scheme: string }
  | { code: 'needs-encoding' }
  /** libpq's `host1:5432,host2:5432` form: neither pg nor ioredis takes it (pg reads one host name with a comma in it). */
  | { code: 'several-hosts' };

export const ONE_HOST = "the bot connects to one server per side: give each side's own host";
export const ENCODING_HINT =
  '@ as %40, # as %23, / as %2F, ? as %3F, % as %25, : in the user name as %3A';

/** A socket directory (pg) or socket file (ioredis), with trailing slashes removed. */
function socketPath(path: string): string {
  return path.replace(/(.)\/+$/, '$1');
}

/** One host of a list: a name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const LISTED_HOST = /^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::\d*)?$/i;

/**
 * Whether the authority lists several hosts. Read from the text, since `h1:5432,h2:5432` does not
 * parse. The user info (before the last `@`) may hold commas of its own, and a user info cut short
 * by an unencoded `/`, `?` or `#` leaves its `@` past the authority: an encoding problem instead.
 */
function listsSeveralHosts(text: string): boolean {
  const rest = text.slice(text.indexOf('//') + 2);
  const authority = rest.split(/[/?#]/)[0] ?? '';
  // An `@` past the authority and before any `=` ends a user info cut short; one in a query value does not.
  const at = rest.indexOf('@', authority.length);
  if (!authority.includes('@') && at >= 0 && !rest.slice(authority.length, at).includes('='))
    return false;
  const hosts = authority.slice(authority.lastIndexOf('@') + 1).split(',');
  return hosts.length > 1 && hosts.every((h) => LISTED_HOST.test(h));
}

function hostKey(host: string): string {
  const h = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  return LOOPBACK.has(h) ? 'loopback' : h;
}

function percentDecodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A user name or password with an unencoded `#`, `/`, `?` or `%` makes the parser end the host
 * early (the rest becomes a fragment, path or query) or fail. The signs: no parse at all while an
 * `@` is there, a fragment (no driver uses one), an `@` in the path, an `@` in the first query
 * parameter's name, a `%` that does not decode.
 */
function misreadUserInfo(text: string, u: URL | undefined): boolean {
  const rest = text.slice(text.indexOf('//') + 2);
  if (!rest.includes('@'))
    return u !== undefined && !(percentDecodes(u.username) && percentDecodes(u.password));
  if (u === undefined) return true;
  if (u.hash !== '') return true;
  if (u.pathname.includes('@')) return true;
  const firstParam = u.search.slice(1).split('&')[0]?.split('=')[0] ?? '';
  if (firstParam.includes('@')) return true;
  return !(percentDecodes(u.username) && percentDecodes(u.password));
}

/** Parse a connection string of `kind`; the problem, when there is one, never quotes the string. */
export function parseConnectionUrl(text: string, kind: ConnectionKind): ParsedConnection {
  const trimmed = text.trim();
  // Unix sockets: pg takes "/dir [db]", ioredis "/path/redis.sock[?db=1]".
  if (trimmed.startsWith('/')) {
    const path = socketPath(
      (kind === 'postgres' ? trimmed.split(' ')[0] : trimmed.split('?')[0]) ?? trimmed,
    );
    // pg's socket is DIR/.s.PGSQL.<port>: the same key as a URL naming that directory and the default port.
    const key = kind === 'postgres' ? `socket ${path}:${DEFAULT_PORT.postgres}` : `socket ${path}`;
    return { ok: true, server: { key, display: path, hasPassword: false, passwordParam: false } };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return { ok: false, problem: { code: 'not-a-url' } };
  if (!SCHEMES[kind].includes(`${scheme}:`))
    return { ok: false, problem: { code: 'wrong-scheme', scheme } };
  if (listsSeveralHosts(trimmed)) return { ok: false, problem: { code: 'several-hosts' } };
  let u: URL | undefined;
  let noHost = false;
  try {
    u = new URL(trimmed);
  } catch {
    u = undefined;
  }
  if (u === undefined && kind === 'postgres' && trimmed.includes('@/')) {
    // `user@/db?host=/socket/dir`: credentials without a host do not parse; pg retries with a
    // placeholder host, as here, and then takes the host from the query (else localhost).
    try {
      u = new URL(trimmed.replace('@/', '@placeholder.invalid/'));
      noHost = true;
    } catch {
      u = undefined;
    }
  }
  if (misreadUserInfo(trimmed, u)) return { ok: false, problem: { code: 'needs-encoding' } };
  if (u === undefined) return { ok: false, problem: { code: 'not-a-url' } };

  const params = u.searchParams;
  let host = noHost ? '' : u.hostname;
  let port = u.port;
  if (kind === 'postgres') {
    // pg lets ?host= and ?port= override the authority (a socket directory as host, too).
    host = params.get('host') ?? (percentDecodes(host) ? decodeURIComponent(host) : host);
    port = params.get('port') ?? port;
    if (host.includes(',')) return { ok: false, problem: { code: 'several-hosts' } };
  } else {
    // ioredis fills in from the query only what the authority leaves out.
    host = host || (params.get('host') ?? '');
    port = port || (params.get('port') ?? '');
  }
  port = port || DEFAULT_PORT[kind];
  // No host: both drivers go to localhost (pg: unless PGHOST says otherwise).
  const key = host.startsWith('/')
    ? `socket ${socketPath(host)}:${port}`
    : `${host === '' ? 'loopback' : hostKey(host)}:${port}`;
  const shownHost =
    host === '' ? 'localhost' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const display = `${shownHost}:${port}`;
  let passwordParam = false;
  for (const name of params.keys()) if (PASSWORD_PARAM.test(name)) passwordParam = true;
  return { ok: true, server: { key, display, hasPassword: u.password !== '', passwordParam } };
}

/**
 * Whether a string's user info holds a password, also when it does not parse: `user:secret@`
 * before the host. A `:` followed by digits is a port, and a "user" with `@` or `/` in it is the
 * host or path (an `@` in the query), so neither counts.
 */
export function userInfoHoldsPassword(text: string): boolean {
  try {
    if (new URL(text.trim()).password !== '') return true;
  } catch {
    // Unparsable: judge by the text.
  }
  const rest = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = rest.lastIndexOf('@');
  if (at < 0) return false;
  const userInfo = rest.slice(0, at);
  const colon = userInfo.indexOf(':');
  if (colon < 0) return false;
  const user = userInfo.slice(0, colon);
  if (/[@/?#]/.test(user)) return false;
  return !/^\d+([/?#]|$)/.test(userInfo.slice(colon + 1));
}

/** The schemes a connection of `kind` accepts, as a reader would write them: "redis:// or rediss://". */
export function schemesText(kind: ConnectionKind): string {
  return SCHEMES[kind].map((s) => `${s}//`).join(' or ');
}
