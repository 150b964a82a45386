/**
 * Redis replication provider (CacheProvider) on `ioredis`.
 *
 *   createRedisProvider({
 *     primaryUrl,             // redis://[:password@]host:port of the primary region's server
 *     secondaryUrl,           //   and of the secondary's (resolved from config url/urlEnv)
 *     promoteTimeoutSeconds,  // FAILOVER TIMEOUT / catch-up wait; config: redis.promoteTimeoutSeconds
 *     useFailoverCommand,     // planned: FAILOVER TO on Redis >= 6.2; else fence + wait + REPLICAOF NO ONE
 *     log,                    // pino logger (child with provider: 'redis')
 *     connectTimeoutMs?,      // default 3000: how long "is the other side reachable?" may take
 *     assumeVersion?,         // tests only: choose the switch path as for this Redis version
 *   })
 *
 * The write fence before REPLICAOF NO ONE: CLIENT PAUSE WRITE on Redis >= 6.2. Before 6.2 CLIENT
 * PAUSE has no WRITE mode and no UNPAUSE: it holds every client but replicas, this provider's own
 * INFO and REPLICAOF included, until it expires, and then the application's queued writes run on
 * the old master before a REPLICAOF sent after them, to be dropped. There the fence is
 * min-replicas-to-write set beyond any replica count: writes are refused (NOREPLICAS) at once, the
 * provider's commands are not, and the setting is restored once the old master is a replica.
 *
 * After any failover the old master, where it can be reached, is made a replica of the new one
 * (as FAILOVER does): that is Redis's fence, so there are never two masters. The address used for
 * it is the one the old master listed the replica under (ROLE/INFO), else the configured URL's.
 * Why one short-lived connection per call and no shared client: a shared client would reconnect
 * and queue commands behind a dead primary and hide that it is unreachable.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type {
  CheckResult,
  ComponentReadiness,
  Evidence,
  ExpectedLoss,
  Mode,
  RegionRole,
  RpoMeasurement,
} from '../domain/types.js';
import { DrError, PreconditionFailed, ProviderError } from '../errors.js';
import { formatBytes } from './bytes.js';
import { digestsOf, sampleDigests } from './redis/digest.js';
import type { ActionResult, CacheProvider, Progress, PromotionResult } from './types.js';

interface RedisProviderOptions {
  primaryUrl: string;
  secondaryUrl: string;
  promoteTimeoutSeconds: number;
  useFailoverCommand: boolean;
  log: Logger;
  connectTimeoutMs?: number;
  /** Tests: the Redis version that chooses FAILOVER / CLIENT PAUSE WRITE / the < 6.2 fence, instead of the server's. Nothing else reads it. */
  assumeVersion?: string;
}

const NAME = 'redis';
/** Keys whose values are compared by verify-consistency: enough to catch a wrong or stale copy, cheap on a big keyspace. */
const SAMPLE_KEYS = 200;
/** Keys of a stale master compared with the writer before approval, to say what the resync drops. */
const LOSS_SCAN_KEYS = 1000;
const other = (side: RegionRole): RegionRole => (side === 'primary' ? 'secondary' : 'primary');

interface ReplicaEntry {
  ip: string;
  port: number;
  state: string;
  offset: number;
}

interface Reachable {
  reachable: true;
  role: 'master' | 'replica';
  version: string;
  tcpPort: number;
  /** The replication stream this server is on (a replica reports its master's). */
  replid: string;
  replid2: string;
  /** A promoted replica: the offset at which it left replid2's stream (second_repl_offset). */
  secondReplOffset: number | null;
  /** master_repl_offset: a master's write position. */
  offset: number;
  /** Replica: how far it has applied its master's stream. */
  replicaOffset: number | null;
  linkUp: boolean | null;
  masterHost: string | null;
  masterPort: number | null;
  lastIoSecondsAgo: number | null;
  linkDownSinceSeconds: number | null;
  failoverState: string | null;
  replicas: ReplicaEntry[];
  /** When INFO was read: the second counters above count back from it. */
  readAt: number;
}
interface Unreachable {
  reachable: false;
  error: DrError;
}
type SideState = Reachable | Unreachable;

interface StaleLoss {
  keys: number;
  compared: number;
  notOnWriter: number;
  differing: number;
  /** Stream bytes past the writer's promotion offset, when both share the stream it left; else not measurable. */
  bytes: number | null;
  /** Anything at all the resync throws away (or could, where not every key was compared). */
  lost: boolean;
  description: string;
}

/**
 * What a restarted old master carries: no history, the stream the writer was promoted from, or an
 * older stream Redis no longer links to the writer's (judged by offset only).
 */
type RestartedHistory = 'none' | 'same-stream' | 'older-stream';

/** Redis reports an unset replication id as forty zeros. */
const hasReplid = (id: string): boolean => id !== '' && !/^0+$/.test(id);
/** A master that was a replica once: it keeps the stream it left and the offset it left it at. */
const leftReplicaRole = (m: Reachable): boolean =>
  m.role === 'master' && hasReplid(m.replid2) && (m.secondReplOffset ?? -1) > 0;

function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) map.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return map;
}

const num = (v: string | undefined): number | null =>
  v === undefined || v === '' ? null : Number(v);

/**
 * min-replicas-to-write while the < 6.2 fence is up: more good replicas than any server has, so
 * every write is refused. Nobody sets it otherwise, so finding it means a switch stopped before
 * restoring the setting; it is cleared wherever a promotion finds it.
 */
const FENCE_MIN_REPLICAS = 2147483647;

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && (b ?? 0) >= minor);
}

/** QUIT when connected: disconnect() leaves a 2 s timer behind that keeps a CLI (or jest) alive. */
async function release(r: Redis): Promise<void> {
  if (r.status === 'ready') {
    await r.quit().catch(() => r.disconnect());
    return;
  }
  r.disconnect();
}

export function createRedisProvider(opts: RedisProviderOptions): CacheProvider {
  return new RedisProvider(opts);
}

class RedisProvider implements CacheProvider {
  readonly name = NAME;
  private readonly open = new Set<Redis>();
  private readonly connectTimeoutMs: number;

  constructor(private readonly opts: RedisProviderOptions) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
  }

  private url(side: RegionRole): string {
    return side === 'primary' ? this.opts.primaryUrl : this.opts.secondaryUrl;
  }

  private address(side: RegionRole): { host: string; port: number } {
    const u = new URL(this.url(side));
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
  }

  private where(side: RegionRole): string {
    try {
      const a = this.address(side);
      return `${side} (${a.host}:${a.port})`;
    } catch {
      return side;
    }
  }

  private async withClient<T>(
    side: RegionRole,
    action: string,
    fn: (r: Redis) => Promise<T>,
  ): Promise<T> {
    const r = new Redis(this.url(side), {
      lazyConnect: true,
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: 15_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      connectionName: 'dr-bot',
      disconnectTimeout: 100,
    });
    r.on('error', () => undefined);
    this.open.add(r);
    try {
      await r.connect();
      return await fn(r);
    } catch (err) {
      if (err instanceof DrError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const retryable =
        r.status !== 'ready' ||
        /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|timed? ?out|LOADING|Connection is closed/i.test(
          message,
        );
      throw new ProviderError(NAME, `${this.where(side)}: ${action} failed: ${message}`, {
        retryable,
        cause: err,
      });
    } finally {
      this.open.delete(r);
      await release(r);
    }
  }

  private async inspect(side: RegionRole): Promise<SideState> {
    try {
      return await this.withClient(side, 'reading replication state', async (r) => {
        const info = parseInfo(await r.info('replication'));
        const server = parseInfo(await r.info('server'));
        const role = info.get('role') === 'master' ? ('master' as const) : ('replica' as const);
        const replicas: ReplicaEntry[] = [];
        for (const [key, value] of info) {
          if (!/^slave\d+$/.test(key)) continue;
          const f = Object.fromEntries(
            value.split(',').map((kv) => kv.split('=') as [string, string]),
          );
          replicas.push({
            ip: f.ip,
            port: Number(f.port),
            state: f.state,
            offset: Number(f.offset),
          });
        }
        return {
          reachable: true as const,
          role,
          version: server.get('redis_version') ?? '0.0.0',
          tcpPort: Number(server.get('tcp_port') ?? 0),
          replid: info.get('master_replid') ?? '',
          replid2: info.get('master_replid2') ?? '',
          secondReplOffset: num(info.get('second_repl_offset')),
          offset: Number(info.get('master_repl_offset') ?? 0),
          replicaOffset: role === 'replica' ? num(info.get('slave_repl_offset')) : null,
          linkUp: role === 'replica' ? info.get('master_link_status') === 'up' : null,
          masterHost: info.get('master_host') ?? null,
          masterPort: num(info.get('master_port')),
          lastIoSecondsAgo: num(info.get('master_last_io_seconds_ago')),
          linkDownSinceSeconds: num(info.get('master_link_down_since_seconds')),
          failoverState: info.get('master_failover_state') ?? null,
          replicas,
          readAt: Date.now(),
        };
      });
    } catch (err) {
      if (err instanceof DrError && err.retryable) return { reachable: false, error: err };
      throw err;
    }
  }

  private async inspectReachable(side: RegionRole): Promise<Reachable> {
    const s = await this.inspect(side);
    if (!s.reachable) throw s.error;
    return s;
  }

  /** A replica follows `master` when it is on the same replication stream (replid) as the master is, or was before its last promotion. */
  private follows(replica: Reachable, master: Reachable): boolean {
    return (
      replica.replid !== '' &&
      (replica.replid === master.replid || replica.replid === master.replid2)
    );
  }

  /**
   * Both are masters and `promoted` left `stale`'s stream: a promotion that stopped (crash, lost
   * connection) between REPLICAOF NO ONE and demoting the old master. Finishing it is safe.
   */
  private interrupted(promoted: Reachable, stale: SideState): boolean {
    return (
      stale.reachable &&
      promoted.role === 'master' &&
      stale.role === 'master' &&
      promoted.replid2 !== '' &&
      promoted.replid2 === stale.replid
    );
  }

  /**
   * `stale` is the old master back beside `promoted` after a regional loss: its restart gave it a
   * new replication id, so no stream links it to `promoted` any more. What still tells: `promoted`
   * left a replica role (the failover's REPLICAOF NO ONE: Redis keeps the stream it left as replid2)
   * and `stale`'s history ends before that promotion. Its history is none at all (restarted without
   * persistence), the very stream `promoted` was promoted from (Redis 7 restores it from the RDB as
   * replid2), or an older stream from an older RDB: Redis keeps one level of history, so that one
   * is judged by offset (offsets only grow along a line of promotions; it must end at or before the
   * offset `promoted` was promoted at). A master promoted from `promoted`'s stream, or whose history
   * reaches past that offset, is not this: it may hold the newer data.
   */
  private restartedOldMaster(promoted: Reachable, stale: Reachable): RestartedHistory | null {
    if (promoted.role !== 'master' || stale.role !== 'master' || !leftReplicaRole(promoted))
      return null;
    if (
      [promoted.replid, promoted.replid2].includes(stale.replid) ||
      stale.replid2 === promoted.replid
    )
      return null;
    if (!hasReplid(stale.replid2)) return 'none';
    if (stale.replid2 === promoted.replid2) return 'same-stream';
    return stale.secondReplOffset !== null &&
      stale.secondReplOffset > 0 &&
      stale.secondReplOffset <= (promoted.secondReplOffset ?? 0)
      ? 'older-stream'
      : null;
  }

  /**
   * What making `stale` a replica of `writer` throws away, measured before anyone approves it: its
   * keys (up to LOSS_SCAN_KEYS of them compared with the writer: missing there or with another
   * value) and, when it restarted from the stream the writer was promoted from, the bytes it holds
   * past the writer's promotion offset. A restarted master without history has no comparable offset.
   */
  private async restartedLoss(
    staleSide: RegionRole,
    stale: Reachable,
    writerSide: RegionRole,
    writer: Reachable,
  ): Promise<StaleLoss> {
    const [keys, mine] = await this.withClient(
      staleSide,
      'reading its keys',
      async (r) => [await r.dbsize(), await sampleDigests(r, LOSS_SCAN_KEYS)] as const,
    );
    const names = [...mine.keys()];
    const [present, theirs] = await this.withClient(writerSide, 'comparing keys', async (r) => {
      const exists = await Promise.all(names.map((k) => r.exists(k)));
      return [new Set(names.filter((_, i) => exists[i] === 1)), await digestsOf(r, names)] as const;
    });
    const notOnWriter = names.filter((k) => !present.has(k)).length;
    const differing = names.filter((k) => present.has(k) && theirs.get(k) !== mine.get(k)).length;
    const forkOffset = (writer.secondReplOffset ?? 1) - 1;
    const bytes = stale.replid2 === writer.replid2 ? Math.max(0, stale.offset - forkOffset) : null;
    const compared =
      names.length >= keys ? `all ${keys} compared` : `${names.length} of ${keys} compared`;
    const lost = notOnWriter + differing > 0 || (bytes ?? 0) > 0 || names.length < keys;
    const description =
      keys === 0
        ? `${staleSide} came back empty (0 keys, offset ${stale.offset}): it holds nothing the resync could drop`
        : `${staleSide} holds ${keys} keys, offset ${stale.offset}: ${notOnWriter} not on ${writerSide} and ${differing} with another value there (${compared})` +
          `${bytes === null ? '' : `, ${formatBytes(bytes)} of stream past offset ${forkOffset} where ${writerSide} was promoted`}; the resync replaces them with ${writerSide}'s data`;
    return { keys, compared: names.length, notOnWriter, differing, bytes, lost, description };
  }

  /** Where `master` sees `replica`, for FAILOVER TO and REPLICAOF: its replica list first, else the configured address. */
  private replicaAddress(
    master: Reachable,
    replica: Reachable,
    replicaSide: RegionRole,
  ): { host: string; port: number } {
    const listed = master.replicas.filter((e) => e.port === replica.tcpPort);
    const configured = this.address(replicaSide);
    const entry =
      listed.find((e) => e.ip === configured.host) ?? (listed.length === 1 ? listed[0] : undefined);
    return entry
      ? { host: entry.ip, port: entry.port }
      : { host: configured.host, port: replica.tcpPort || configured.port };
  }

  async readiness(target: RegionRole): Promise<ComponentReadiness> {
    const src = other(target);
    const [t, o] = await Promise.all([this.inspect(target), this.inspect(src)]);
    const primaryReachable = o.reachable && o.role === 'master';
    const base = { component: 'cache' as const, primaryReachable };
    if (!t.reachable) {
      return {
        ...base,
        status: 'blocked',
        summary: `${this.where(target)} is unreachable: ${t.error.message}`,
        details: { targetReachable: false, error: t.error.message },
        planFacts: { targetReachable: false },
      };
    }
    const details: Evidence = {
      targetRole: t.role,
      replid: t.replid,
      replicaOffset: t.replicaOffset,
      linkUp: t.linkUp,
      masterLastIoSecondsAgo: t.lastIoSecondsAgo,
      masterLinkDownSinceSeconds: t.linkDownSinceSeconds,
      primaryReachable,
      ...(t.role === 'master'
        ? { replid2: t.replid2, secondReplOffset: t.secondReplOffset, offset: t.offset }
        : {}),
      ...(o.reachable
        ? {
            otherRole: o.role,
            otherReplid: o.replid,
            otherReplid2: o.replid2,
            otherSecondReplOffset: o.secondReplOffset,
            otherOffset: o.offset,
          }
        : { otherError: o.error.message }),
    };
    if (t.role === 'master') {
      if (o.reachable && this.interrupted(t, o)) {
        return {
          ...base,
          status: 'warning',
          summary: `${target} was promoted but ${src} is still a master (an interrupted promotion): promoting again demotes ${src}, dropping writes it took since (${formatBytes(Math.max(0, o.offset - (t.secondReplOffset ?? o.offset)))})`,
          details,
          planFacts: { targetRole: 'master', otherRole: 'stale-master', replid: t.replid },
        };
      }
      if (o.reachable && this.interrupted(o, t)) {
        // Failback after an unplanned failover that could not demote this side: it is the old master, and the resync drops its late writes.
        const lost = this.staleBytes(o, t);
        return {
          ...base,
          status: 'warning',
          summary: `${target} is the old master: ${src} was promoted from it while it stayed a master; the resync makes it a replica of ${src}, dropping ${formatBytes(lost)} of writes it took since`,
          details: { ...details, staleBytes: lost },
          planFacts: { targetRole: 'stale-master', replid: t.replid, otherReplid: o.replid },
          ...(lost > 0
            ? {
                expectedLoss: {
                  bytes: lost,
                  seconds: null,
                  description: `${target} took ${formatBytes(lost)} of writes after ${src} was promoted from it; the resync drops them`,
                },
              }
            : {}),
          warnings: [
            `${target} is still a master beside ${src}: until the resync runs, clients that reach it write to a copy that will be dropped`,
          ],
        };
      }
      // Only the failback target: its runbook resyncs the target from the side that serves before promoting it.
      const history = o.reachable && target === 'primary' ? this.restartedOldMaster(o, t) : null;
      if (o.reachable && history) {
        const loss = await this.restartedLoss(target, t, src, o);
        const promotedAt = (o.secondReplOffset ?? 1) - 1;
        const byOffset =
          history === 'older-stream'
            ? [
                `${target} is judged the stale side by offsets only: its history (stream ${t.replid2}) ends at offset ${(t.secondReplOffset ?? 1) - 1}, before ${src} was promoted at ${promotedAt}, and Redis keeps no link between the two streams. Read the key comparison before approving: keys that ${src} never had mean ${target} holds data of its own.`,
              ]
            : [];
        return {
          ...base,
          status: 'warning',
          summary: `${target} is the old master, back with a new replication id beside ${src} (promoted from a replica at offset ${promotedAt}): the resync makes it a replica of ${src}; ${loss.description}`,
          details: {
            ...details,
            staleHistory: history,
            staleKeys: loss.keys,
            staleKeysCompared: loss.compared,
            staleKeysNotOnWriter: loss.notOnWriter,
            staleKeysDiffering: loss.differing,
            staleBytes: loss.bytes,
          },
          planFacts: {
            targetRole: 'stale-master',
            history: 'restarted',
            replid: t.replid,
            otherReplid: o.replid,
          },
          ...(loss.lost
            ? { expectedLoss: { bytes: loss.bytes, seconds: null, description: loss.description } }
            : {}),
          warnings: [
            `${target} is a master beside ${src}: until the resync runs, clients that reach it write to a copy that will be dropped`,
            ...byOffset,
          ],
        };
      }
      if (o.reachable && o.role === 'master') {
        return {
          ...base,
          status: 'blocked',
          summary: `both ${target} and ${src} are masters and share no replication history that says which holds the newer data: ${target} is not a replica of ${src}`,
          details,
          planFacts: { targetRole: 'master', otherRole: 'master' },
        };
      }
      return {
        ...base,
        status: 'ready',
        summary: `${target} is already a master: promotion will be a no-op`,
        details,
        planFacts: { targetRole: 'master', replid: t.replid },
      };
    }
    if (o.reachable) {
      if (o.role !== 'master') {
        return {
          ...base,
          status: 'blocked',
          summary: `neither side is a master: ${src} is a replica too`,
          details,
          planFacts: { targetRole: 'replica', otherRole: 'replica' },
        };
      }
      if (!this.follows(t, o)) {
        return {
          ...base,
          status: 'blocked',
          summary: `wrong target: ${target} follows replication id ${t.replid}, ${src} has ${o.replid}: not a replica of ${src}`,
          details,
          planFacts: { targetRole: 'replica', replid: t.replid, otherReplid: o.replid },
        };
      }
      const gap = Math.max(0, o.offset - (t.replicaOffset ?? 0));
      const warnings = t.linkUp
        ? []
        : [
            `${target}'s link to ${src} is down: a planned failover waits up to ${this.opts.promoteTimeoutSeconds} s for it to catch up`,
          ];
      return {
        ...base,
        status: t.linkUp ? 'ready' : 'warning',
        summary: `${target} replica, link ${t.linkUp ? 'up' : 'DOWN'}, offset gap ${formatBytes(gap)}; ${src} reachable: planned, zero loss`,
        details: { ...details, offsetGapBytes: gap },
        planFacts: { targetRole: 'replica', replid: t.replid, primaryReachable: true },
        ...(warnings.length ? { warnings } : {}),
      };
    }
    const { contactLostAt, ...expectedLoss } = this.expectedLoss(t, o.error.message);
    return {
      ...base,
      status: 'warning',
      summary: `${target} replica; ${src} unreachable: unplanned, ${expectedLoss.description}`,
      details: { ...details, masterContactLostAt: contactLostAt },
      planFacts: {
        targetRole: 'replica',
        replid: t.replid,
        primaryReachable: false,
        replicaOffset: t.replicaOffset,
      },
      expectedLoss,
      warnings: [
        `${src} cannot be demoted while unreachable: when it comes back it must become a replica before it takes writes`,
      ],
    };
  }

  /**
   * When the replica last had contact with its master, as a fixed moment (not "N s ago", which
   * grows while people read the card): Redis counts master_link_down_since_seconds from when the
   * link dropped and, while the link still looks up (a partition not yet timed out),
   * master_last_io_seconds_ago from the last byte. Whole seconds, as Redis keeps them.
   */
  private contactLost(t: Reachable): { at: string; basis: 'link down' | 'last I/O' } | null {
    const second = Math.floor(t.readAt / 1000) * 1000;
    const ago = t.linkUp === false ? t.linkDownSinceSeconds : t.lastIoSecondsAgo;
    if (ago === null || ago < 0) return null;
    return {
      at: new Date(second - ago * 1000).toISOString(),
      basis: t.linkUp === false ? 'link down' : 'last I/O',
    };
  }

  /**
   * With the master gone the replica knows the offset it applied and when contact was lost. The
   * writes lost are those the master took after that offset: their size needs the master's offset,
   * and how long they went on needs to know when the master stopped (at the loss of contact only
   * for a crash that cut the link; later for a partition or a link that failed first), so both are
   * unknown here rather than guessed from the time since contact.
   */
  private expectedLoss(
    t: Reachable,
    why: string,
  ): ExpectedLoss & { bytes: number | null; seconds: number | null; contactLostAt: string | null } {
    const lost = this.contactLost(t);
    const when = lost
      ? `contact lost at ${lost.at} (${lost.basis === 'link down' ? 'its link to the master dropped' : 'its last I/O from the master; the link still looked up'})`
      : 'contact lost at an unknown time (Redis reported neither the link-down time nor the last I/O)';
    return {
      bytes: null,
      seconds: null,
      contactLostAt: lost?.at ?? null,
      description: `loss window: the replica applied the master's stream up to offset ${t.replicaOffset ?? '?'}; ${when}. Lost is what the master took after that, until it stopped taking writes, which the replica cannot see: size and duration unknown while the master is unreachable (${why})`,
    };
  }

  /** Bytes a stale master took after `promoted` left its stream (second_repl_offset): dropped when it becomes a replica. */
  private staleBytes(promoted: Reachable, stale: Reachable): number {
    return Math.max(0, stale.offset - (promoted.secondReplOffset ?? stale.offset));
  }

  /** Master, and the promotion that made it one is complete (the old master no longer a master too). */
  async isWriter(target: RegionRole): Promise<boolean> {
    const t = await this.inspectReachable(target);
    if (t.role !== 'master') return false;
    return !this.interrupted(t, await this.inspect(other(target)));
  }

  async promote({
    target,
    mode,
    progress,
  }: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
  }): Promise<PromotionResult> {
    const started = Date.now();
    const src = other(target);
    const t = await this.inspectReachable(target);
    const o = await this.inspect(src);
    if (t.role === 'master') {
      if (this.interrupted(t, o))
        return this.finishInterrupted(target, t, o as Reachable, mode, progress, started);
      if (o.reachable && o.role === 'master') {
        throw new PreconditionFailed(
          `${this.where(target)} and ${this.where(src)} are both masters: ${target} is not a replica to promote. Decide which holds the data, make the other its replica, then retry.`,
          {
            code: 'wrong-target',
          },
        );
      }
      return {
        noop: true,
        mode,
        summary: `${target} is already a master: nothing to do`,
        evidence: { role: 'master', offset: t.offset, replid: t.replid },
        rpo: {
          component: 'cache',
          bytes: 0,
          seconds: 0,
          description: 'no promotion by this step: the target was already the master',
        },
      };
    }
    if (o.reachable) {
      if (o.role !== 'master')
        throw new PreconditionFailed(
          `${this.where(src)} is a replica too: there is no master to fail over from.`,
          { code: 'wrong-target' },
        );
      if (!this.follows(t, o)) {
        throw new PreconditionFailed(
          `${this.where(target)} is not a replica of ${this.where(src)}: it follows replication id ${t.replid}, ${src} has ${o.replid}. Check components.redis.${target} in the config.`,
          { code: 'wrong-target' },
        );
      }
    }
    if (mode === 'planned') {
      if (!o.reachable) {
        throw new PreconditionFailed(
          `a planned failover pauses ${this.where(src)} and waits for equal offsets, but it is unreachable (${o.error.message}). Re-run preflight: with ${src} down the failover is unplanned.`,
        );
      }
      if (!t.linkUp) {
        // Pausing the master now would stop the application for a catch-up that cannot happen.
        throw new ProviderError(
          NAME,
          `${this.where(target)}'s replication link to ${src} is down${t.linkDownSinceSeconds !== null ? ` (for ${t.linkDownSinceSeconds} s)` : ''}: a planned failover could not reach zero loss. Nothing was changed. Fix the link and retry, or choose an unplanned failover (offset gap ${formatBytes(Math.max(0, o.offset - (t.replicaOffset ?? 0)))}).`,
          { retryable: true, code: 'precondition-failed' },
        );
      }
      const useFailover = this.opts.useFailoverCommand && this.hasWritePause(o);
      return useFailover
        ? this.failoverCommand(target, t, o, progress, started)
        : this.pauseAndPromote(target, t, o, 'planned', progress, started);
    }
    if (o.reachable) return this.pauseAndPromote(target, t, o, 'unplanned', progress, started);
    return this.promoteAlone(target, t, o, progress, started);
  }

  /** Demote the old master left behind by an interrupted promotion; what it took since the fork is dropped. */
  private async finishInterrupted(
    target: RegionRole,
    t: Reachable,
    o: Reachable,
    mode: Mode,
    progress: Progress,
    started: number,
  ): Promise<PromotionResult> {
    const src = other(target);
    const to = this.replicaAddress(o, t, target);
    const dropped = Math.max(0, o.offset - (t.secondReplOffset ?? o.offset));
    progress(
      `${target} is already master but ${src} still is too: making ${src} a replica of ${to.host}:${to.port}`,
    );
    await this.withClient(src, 'REPLICAOF (demote the old master)', async (r) => {
      await r.call('REPLICAOF', to.host, String(to.port));
      // A pause or fence left by the interrupted attempt would otherwise hold the old master's clients, or its next promotion.
      if (this.hasWritePause(o)) await r.call('CLIENT', 'UNPAUSE');
      await this.clearLeftoverFence(r, src);
    });
    this.opts.log.warn(
      { target, droppedBytes: dropped },
      'redis: finished an interrupted promotion by demoting the old master',
    );
    return {
      noop: false,
      mode,
      summary: `finished an interrupted promotion: ${target} was already master, ${src} is now its replica${dropped ? ` (${formatBytes(dropped)} written to ${src} after the split dropped)` : ''}`,
      evidence: {
        method: 'demote old master',
        promotedAtOffset: t.secondReplOffset,
        oldMasterOffset: o.offset,
        droppedBytes: dropped,
        demotedTo: `${to.host}:${to.port}`,
        totalMs: Date.now() - started,
      },
      rpo: {
        component: 'cache',
        bytes: dropped,
        seconds: dropped ? null : 0,
        description: dropped
          ? `${formatBytes(dropped)} written to ${src} after ${target} was promoted at offset ${t.secondReplOffset} were dropped when ${src} became a replica`
          : `no loss: ${src} took no writes after ${target} was promoted at offset ${t.secondReplOffset}`,
      },
    };
  }

  /** Redis's own planned switch: the master pauses writes, waits for the replica, swaps roles. */
  private async failoverCommand(
    target: RegionRole,
    t: Reachable,
    o: Reachable,
    progress: Progress,
    started: number,
  ): Promise<PromotionResult> {
    const src = other(target);
    const to = this.replicaAddress(o, t, target);
    const timeoutMs = this.opts.promoteTimeoutSeconds * 1000;
    // FAILOVER TO refuses a replica its master does not list as online yet ("target replica is not
    // online"), which a replica that has just (re)synced can be for a moment after its own side
    // reports the link up: wait for the master's view, within the promotion's time.
    const online = (m: SideState): boolean =>
      m.reachable &&
      m.replicas.some((e) => e.ip === to.host && e.port === to.port && e.state === 'online');
    if (
      !online(o) &&
      (await this.poll(timeoutMs, async () =>
        online(await this.inspect(src)) ? true : undefined,
      )) === undefined
    ) {
      throw new ProviderError(
        NAME,
        `${src} does not list ${target} (${to.host}:${to.port}) as an online replica after ${this.opts.promoteTimeoutSeconds} s, so FAILOVER TO cannot run: check the replication link and retry.`,
        { retryable: true },
      );
    }
    progress(`FAILOVER TO ${to.host} ${to.port} on ${src}`, {
      primaryOffset: o.offset,
      replicaOffset: t.replicaOffset,
    });
    await this.withClient(src, 'FAILOVER', (r) =>
      r.call('FAILOVER', 'TO', to.host, String(to.port), 'TIMEOUT', String(timeoutMs)),
    );
    const done = await this.poll(timeoutMs + 5000, async () => {
      const [nt, no] = await Promise.all([this.inspect(target), this.inspect(src)]);
      if (!nt.reachable || !no.reachable) return undefined;
      if (nt.role === 'master' && no.role === 'replica') return { nt, no };
      // The master gave up (timeout) and resumed writes as master: report instead of waiting.
      if (no.role === 'master' && no.failoverState === 'no-failover')
        return { nt, no, failed: true };
      return undefined;
    });
    if (!done || 'failed' in done) {
      throw new ProviderError(
        NAME,
        `FAILOVER TO ${to.host}:${to.port} did not complete within ${this.opts.promoteTimeoutSeconds} s: ${target} did not catch up with ${src}. ${src} resumed taking writes as master; check the replication link and retry.`,
        { code: 'timeout', retryable: true },
      );
    }
    const leftoverFenceCleared = await this.withClient(
      target,
      'checking for a leftover write fence',
      (r) => this.clearLeftoverFence(r, target),
    );
    const totalMs = Date.now() - started;
    this.opts.log.info(
      { target, finalOffset: done.nt.offset, totalMs },
      'redis FAILOVER completed',
    );
    return {
      noop: false,
      mode: 'planned',
      summary: `FAILOVER: ${target} is master at offset ${done.nt.offset}, ${src} is now its replica (${totalMs} ms): zero loss`,
      evidence: {
        method: 'FAILOVER TO',
        ...(leftoverFenceCleared ? { leftoverFenceCleared } : {}),
        primaryOffsetBefore: o.offset,
        replicaOffsetBefore: t.replicaOffset,
        finalOffset: done.nt.offset,
        oldMasterRole: done.no.role,
        totalMs,
      },
      rpo: {
        component: 'cache',
        bytes: 0,
        seconds: 0,
        description: `zero loss: ${src} paused writes until ${target} had its whole stream`,
      },
    };
  }

  private hasWritePause(master: Reachable): boolean {
    return versionAtLeast(this.opts.assumeVersion ?? master.version, 6, 2);
  }

  /**
   * Stop writes on the master `src` and read its final offset after the stop: CLIENT PAUSE WRITE
   * (Redis >= 6.2), else min-replicas-to-write beyond any replica count (see the header). `lift`
   * undoes it on a connection to `src`.
   */
  private async fenceWrites(
    src: RegionRole,
    o: Reachable,
  ): Promise<{ method: string; finalOffset: number; lift: (r: Redis) => Promise<void> }> {
    const offsetOf = async (r: Redis) =>
      Number(parseInfo(await r.info('replication')).get('master_repl_offset') ?? 0);
    if (this.hasWritePause(o)) {
      const pauseMs = this.opts.promoteTimeoutSeconds * 1000 + 10_000;
      const finalOffset = await this.withClient(src, 'CLIENT PAUSE WRITE', async (r) => {
        await r.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE');
        return offsetOf(r);
      });
      return {
        method: 'pause',
        finalOffset,
        lift: async (r) => void (await r.call('CLIENT', 'UNPAUSE')),
      };
    }
    return this.withClient(src, 'fencing writes (CONFIG SET min-replicas-to-write)', async (r) => {
      const [, toWrite] = (await r.config('GET', 'min-replicas-to-write')) as [string, string];
      const [, maxLag] = (await r.config('GET', 'min-replicas-max-lag')) as [string, string];
      // The fence value itself is a leftover of a switch that stopped before restoring: nothing to restore to.
      const original = Number(toWrite) === FENCE_MIN_REPLICAS ? '0' : toWrite;
      // The count is only enforced while the lag limit is above 0.
      if (Number(maxLag) <= 0) await r.config('SET', 'min-replicas-max-lag', '10');
      await r.config('SET', 'min-replicas-to-write', String(FENCE_MIN_REPLICAS));
      return {
        method: 'min-replicas fence',
        finalOffset: await offsetOf(r),
        lift: async (c: Redis) => {
          await c.config('SET', 'min-replicas-to-write', original);
          await c.config('SET', 'min-replicas-max-lag', maxLag);
        },
      };
    });
  }

  /** After a promotion: a fence value left on this side by a switch that stopped midway would refuse every write it now takes. */
  private async clearLeftoverFence(r: Redis, side: RegionRole): Promise<boolean> {
    // CONFIG may be renamed away (managed Redis); then no fence can have been set either.
    const value = await r.config('GET', 'min-replicas-to-write').then(
      (v) => Number((v as string[])[1]),
      () => null,
    );
    if (value !== FENCE_MIN_REPLICAS) return false;
    await r.config('SET', 'min-replicas-to-write', '0');
    this.opts.log.warn(
      { side },
      'redis: cleared min-replicas-to-write left at the fence value by an interrupted switch (set to 0: restore your own value if you had one)',
    );
    return true;
  }

  /**
   * Fence writes on the old master, measure (planned: wait for) the offset gap, promote, then make
   * the old master a replica of the new one so it can never take writes again.
   */
  private async pauseAndPromote(
    target: RegionRole,
    t: Reachable,
    o: Reachable,
    mode: Mode,
    progress: Progress,
    started: number,
  ): Promise<PromotionResult> {
    const src = other(target);
    const unfence = async (fence: { lift: (r: Redis) => Promise<void> }) =>
      this.withClient(src, 'lifting the write fence', fence.lift).catch(() => undefined);
    progress(`fencing writes on ${src}`);
    const fence = await this.fenceWrites(src, o);
    const { finalOffset } = fence;
    let replicaOffset = t.replicaOffset ?? 0;
    const catchUpStarted = Date.now();
    if (mode === 'planned') {
      let lastReport = Date.now();
      const caught = await this.poll(this.opts.promoteTimeoutSeconds * 1000, async () => {
        const s = await this.inspectReachable(target);
        replicaOffset = s.replicaOffset ?? 0;
        if (replicaOffset >= finalOffset) return true;
        if (Date.now() - lastReport < 1000) return undefined;
        lastReport = Date.now();
        progress(`waiting for ${target}: ${formatBytes(finalOffset - replicaOffset)} behind`, {
          finalOffset,
          replicaOffset,
        });
        return undefined;
      });
      if (!caught) {
        await unfence(fence);
        throw new ProviderError(
          NAME,
          `${this.where(target)} did not reach ${src}'s offset ${finalOffset} within ${this.opts.promoteTimeoutSeconds} s (at ${replicaOffset}). ${src}'s writes were let through again and it is still the master; fix the replication link and retry.`,
          { code: 'timeout', retryable: true },
        );
      }
    } else {
      replicaOffset = (await this.inspectReachable(target)).replicaOffset ?? 0;
    }
    const catchUpMs = Date.now() - catchUpStarted;
    const promoteStarted = Date.now();
    const leftoverFenceCleared = await this.withClient(target, 'REPLICAOF NO ONE', async (r) => {
      await r.call('REPLICAOF', 'NO', 'ONE');
      return this.clearLeftoverFence(r, target);
    }).catch(async (err: unknown) => {
      // Not promoted: the old master must take writes again. (Once promoted, a failed demotion keeps the fence: never two writers.)
      if (
        !(await this.inspect(target).then(
          (s) => s.reachable && s.role === 'master',
          () => false,
        ))
      )
        await unfence(fence);
      throw err;
    });
    const promoteMs = Date.now() - promoteStarted;
    this.opts.log.info(
      { target, mode, finalOffset, replicaOffset, fence: fence.method },
      'redis replica promoted (REPLICAOF NO ONE)',
    );
    const nt = await this.inspectReachable(target);
    const to = this.replicaAddress(o, nt, target);
    progress(`making ${src} a replica of ${to.host}:${to.port}`);
    await this.withClient(src, 'REPLICAOF (demote the old master)', async (r) => {
      await r.call('REPLICAOF', to.host, String(to.port));
      await fence.lift(r);
    });
    const gap = Math.max(0, finalOffset - replicaOffset);
    // The lost writes were taken between the loss of contact and the fence, which is when `t` was read.
    const lost = this.contactLost(t);
    const window =
      t.linkUp === false && t.linkDownSinceSeconds !== null && t.linkDownSinceSeconds >= 0
        ? t.linkDownSinceSeconds
        : null;
    const rpo: RpoMeasurement =
      mode === 'planned' || gap === 0
        ? {
            component: 'cache',
            bytes: 0,
            seconds: 0,
            description: `zero loss: ${target} had ${src}'s offset ${finalOffset} when promoted`,
          }
        : {
            component: 'cache',
            bytes: gap,
            seconds: window,
            description:
              `${formatBytes(gap)} of the replication stream lost: ${src} was at offset ${finalOffset}, ${target} at ${replicaOffset}; ` +
              (window !== null
                ? `loss window: from the link drop at ${lost?.at} to the fence, ${window} s (writes just before the drop may be in it too)`
                : `loss window: replication lag at the fence with the link up, its duration not measured`),
          };
    const totalMs = Date.now() - started;
    return {
      noop: false,
      mode,
      summary: `promoted ${target} (REPLICAOF NO ONE, ${mode}) in ${totalMs} ms; ${src} ${fence.method === 'pause' ? 'paused' : 'fenced (min-replicas-to-write)'} and made its replica; ${rpo.bytes ? `loss ${formatBytes(rpo.bytes)}` : 'zero loss'}`,
      evidence: {
        method: `${fence.method} + REPLICAOF NO ONE`,
        ...(leftoverFenceCleared ? { leftoverFenceCleared } : {}),
        finalOffset,
        replicaOffset,
        offsetGapBytes: gap,
        masterContactLostAt: lost?.at ?? null,
        fenced: true,
        demotedTo: `${to.host}:${to.port}`,
        catchUpMs,
        promoteMs,
        totalMs,
      },
      rpo,
    };
  }

  private async promoteAlone(
    target: RegionRole,
    t: Reachable,
    o: Unreachable,
    progress: Progress,
    started: number,
  ): Promise<PromotionResult> {
    const src = other(target);
    progress(`${src} is unreachable (${o.error.message}): it cannot be demoted`);
    const loss = this.expectedLoss(t, o.error.message);
    const promoteStarted = Date.now();
    const leftoverFenceCleared = await this.withClient(target, 'REPLICAOF NO ONE', async (r) => {
      await r.call('REPLICAOF', 'NO', 'ONE');
      return this.clearLeftoverFence(r, target);
    });
    const promoteMs = Date.now() - promoteStarted;
    this.opts.log.warn(
      { target, replicaOffset: t.replicaOffset, oldMaster: src },
      'redis replica promoted without demoting the unreachable old master',
    );
    return {
      noop: false,
      mode: 'unplanned',
      summary: `promoted ${target} (REPLICAOF NO ONE, unplanned) in ${promoteMs} ms; ${src} NOT demoted (unreachable): make it a replica before it takes writes again`,
      evidence: {
        method: 'REPLICAOF NO ONE',
        ...(leftoverFenceCleared ? { leftoverFenceCleared } : {}),
        replicaOffset: t.replicaOffset,
        masterLastIoSecondsAgo: t.lastIoSecondsAgo,
        masterLinkDownSinceSeconds: t.linkDownSinceSeconds,
        masterContactLostAt: loss.contactLostAt,
        fenced: false,
        oldMasterError: o.error.message,
        promoteMs,
        totalMs: Date.now() - started,
      },
      rpo: {
        component: 'cache',
        bytes: loss.bytes,
        seconds: loss.seconds,
        description: loss.description,
      },
    };
  }

  private async poll<T>(
    timeoutMs: number,
    probe: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async verifyWriter(target: RegionRole): Promise<CheckResult[]> {
    const s = await this.inspect(target);
    if (!s.reachable)
      return [
        { name: `redis ${target} reachable`, kind: 'cache', ok: false, detail: s.error.message },
      ];
    const checks: CheckResult[] = [
      {
        name: `redis ${target} is master`,
        kind: 'cache',
        ok: s.role === 'master',
        detail: `role=${s.role}`,
      },
    ];
    const started = Date.now();
    try {
      await this.withClient(target, 'write probe', (r) =>
        r.set(`dr:probe:${target}`, new Date().toISOString(), 'EX', 300),
      );
      checks.push({
        name: `redis ${target} write probe`,
        kind: 'cache',
        ok: true,
        detail: `SET dr:probe:${target} EX 300`,
        durationMs: Date.now() - started,
      });
    } catch (err) {
      checks.push({
        name: `redis ${target} write probe`,
        kind: 'cache',
        ok: false,
        detail: (err as Error).message,
        durationMs: Date.now() - started,
      });
    }
    return checks;
  }

  async isStreamingStandby(standby: RegionRole): Promise<boolean> {
    const s = await this.inspectReachable(standby);
    if (s.role !== 'replica' || !s.linkUp) return false;
    const o = await this.inspect(other(standby));
    return o.reachable && o.role === 'master' && this.follows(s, o);
  }

  /** Make `standby` a replica of the other side (Redis resyncs by itself: partial or full), then wait for the link and equal offsets. */
  async resync({
    standby,
    progress,
  }: {
    standby: RegionRole;
    progress: Progress;
  }): Promise<ActionResult> {
    if (await this.isStreamingStandby(standby))
      return {
        noop: true,
        summary: `${standby} is already a replica of ${other(standby)}`,
        evidence: {},
      };
    const writer = other(standby);
    const w = await this.inspectReachable(writer);
    if (w.role !== 'master')
      throw new PreconditionFailed(
        `${this.where(writer)} is not a master: nothing to resync ${standby} from.`,
        { code: 'wrong-target' },
      );
    const s = await this.inspectReachable(standby);
    const to = { host: this.address(writer).host, port: w.tcpPort || this.address(writer).port };
    const { dropped, droppedKeys } = await this.whatResyncDrops(standby, s, writer, w);
    const started = Date.now();
    progress(`REPLICAOF ${to.host} ${to.port} on ${standby}`);
    await this.withClient(standby, 'REPLICAOF', (r) =>
      r.call('REPLICAOF', to.host, String(to.port)),
    );
    const ok = await this.poll(this.opts.promoteTimeoutSeconds * 1000, async () =>
      (await this.isStreamingStandby(standby).catch(() => false)) ? true : undefined,
    );
    if (!ok)
      throw new ProviderError(
        NAME,
        `${this.where(standby)} did not sync with ${writer} within ${this.opts.promoteTimeoutSeconds} s after REPLICAOF; see its log`,
        { code: 'timeout', retryable: true },
      );
    const offsets = await this.waitForEqualOffsets(writer, standby);
    if (!offsets.equal) {
      throw new ProviderError(
        NAME,
        `${this.where(standby)} follows ${writer} but did not reach its offset ${offsets.writer} within ${this.opts.promoteTimeoutSeconds} s (at ${offsets.standby}); see its log, then Retry`,
        { code: 'timeout', retryable: true },
      );
    }
    return {
      noop: false,
      summary: `${standby} is a replica of ${writer} again, link up, offsets equal (${offsets.writer})${dropped ? `; dropped ${formatBytes(dropped)} it took as a stale master` : ''}${droppedKeys ? `; replaced what it held as the old master (${droppedKeys})` : ''}`,
      evidence: {
        previousRole: s.role,
        replicaOf: `${to.host}:${to.port}`,
        offset: offsets.writer,
        droppedBytes: dropped,
        ...(droppedKeys ? { droppedKeys } : {}),
        durationMs: Date.now() - started,
      },
    };
  }

  /**
   * A master standby is made a replica (its data replaced by the writer's) only when its history
   * says it is the stale side: the writer was promoted from it, it was promoted by hand from the
   * writer's stream, or it is the old master restarted after the writer's promotion. Any other
   * master may be the one that serves; it is refused before any change.
   */
  private async whatResyncDrops(
    standby: RegionRole,
    s: Reachable,
    writer: RegionRole,
    w: Reachable,
  ): Promise<{ dropped: number; droppedKeys: string | null }> {
    if (s.role !== 'master') return { dropped: 0, droppedKeys: null };
    if (this.interrupted(w, s)) return { dropped: this.staleBytes(w, s), droppedKeys: null };
    if (s.replid2 === w.replid)
      return {
        dropped: Math.max(0, s.offset - ((s.secondReplOffset ?? 1) - 1)),
        droppedKeys: null,
      };
    if (this.restartedOldMaster(w, s))
      return {
        dropped: 0,
        droppedKeys: (await this.restartedLoss(standby, s, writer, w)).description,
      };
    throw new PreconditionFailed(
      `${this.where(standby)} is a master that shares no replication history with ${this.where(writer)}${leftReplicaRole(w) ? '' : `, and ${writer} was never promoted from a replica`}: making it a replica would replace its data (${s.replid}, offset ${s.offset}) with ${writer}'s, and nothing shows it is the stale side. Nothing was changed. Check components.redis in the config; if ${standby} really holds nothing to keep, run REPLICAOF on it yourself.`,
      { code: 'wrong-target' },
    );
  }

  /** Wait until `standby` has applied `writer`'s stream up to the writer's offset read now. */
  private async waitForEqualOffsets(
    writer: RegionRole,
    standby: RegionRole,
  ): Promise<{ equal: boolean; writer: number; standby: number | null }> {
    const target = (await this.inspectReachable(writer)).offset;
    let at: number | null = null;
    const caught = await this.poll(this.opts.promoteTimeoutSeconds * 1000, async () => {
      at = (await this.inspectReachable(standby)).replicaOffset;
      return at !== null && at >= target ? true : undefined;
    });
    return { equal: caught === true, writer: target, standby: at };
  }

  /**
   * Same data on both sides: the standby follows the writer with equal offsets, DBSIZE matches and
   * a sample of keys has the same value digest. The writer keeps serving meanwhile, so it is read
   * before and after the standby (which has caught up with the first read): a key whose value
   * changed on the writer in between is in flux, not evidence either way, and is left out; a key
   * that stayed put on the writer must have the same value on the standby.
   */
  async consistency({
    writer,
  }: {
    writer: RegionRole;
    progress: Progress;
  }): Promise<CheckResult[]> {
    const standby = other(writer);
    const [w, s] = await Promise.all([
      this.inspectReachable(writer),
      this.inspectReachable(standby),
    ]);
    const sample = await this.withClient(writer, 'sampling keys', (r) =>
      sampleDigests(r, SAMPLE_KEYS),
    );
    const a = await this.withClient(writer, 'DBSIZE', (r) => r.dbsize());
    const offsets = await this.waitForEqualOffsets(writer, standby);
    const b = await this.withClient(standby, 'DBSIZE', (r) => r.dbsize());
    const keys = [...sample.keys()];
    const theirs = await this.withClient(standby, 'reading sampled keys', (r) =>
      digestsOf(r, keys),
    );
    const again = await this.withClient(writer, 're-reading sampled keys', (r) =>
      digestsOf(r, keys),
    );
    const a2 = await this.withClient(writer, 'DBSIZE', (r) => r.dbsize());
    const changing = keys.filter((k) => again.get(k) !== sample.get(k));
    const differing = keys.filter(
      (k) => again.get(k) === sample.get(k) && theirs.get(k) !== sample.get(k),
    );
    const compared = keys.length - changing.length;
    const countOk = b >= Math.min(a, a2) && b <= Math.max(a, a2);
    const inFlux = changing.length
      ? `; ${changing.length} changing on ${writer} during the check left out`
      : '';
    return [
      {
        name: `redis ${standby} follows ${writer}`,
        kind: 'cache',
        ok: s.role === 'replica' && this.follows(s, w),
        detail: `role=${s.role}, replid ${s.replid} / ${w.replid}`,
      },
      {
        name: `redis ${standby} offset caught up`,
        kind: 'cache',
        ok: offsets.equal,
        detail: `${standby} at ${offsets.standby ?? '?'}, ${writer} at ${offsets.writer}`,
      },
      {
        name: 'redis key count',
        kind: 'cache',
        ok: countOk,
        detail: `${writer}: ${a === a2 ? a : `${a}..${a2}`} keys, ${standby}: ${b} keys`,
      },
      {
        name: 'redis sampled values',
        kind: 'cache',
        ok: differing.length === 0,
        detail:
          differing.length === 0
            ? `${compared} sampled keys have equal values${inFlux}`
            : `${differing.length} of ${compared} sampled keys differ: ${differing.slice(0, 5).join(', ')}${inFlux}`,
      },
    ];
  }

  async close(): Promise<void> {
    await Promise.all([...this.open].map(release));
    this.open.clear();
  }
}
