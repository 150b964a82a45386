/**
 * What each side is: INFO replication/server parsed into a SideState (inspect), and how two sides
 * relate: a replica following a master, an interrupted promotion, a restarted old master, and the
 * address a master lists its replica under.
 */
import type { RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import { address, other, withClient, type RedisCtx } from './connection.js';

interface ReplicaEntry {
  ip: string;
  port: number;
  state: string;
  offset: number;
}

export interface Reachable {
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
export interface Unreachable {
  reachable: false;
  error: DrError;
}
export type SideState = Reachable | Unreachable;

/**
 * What a restarted old master carries: no history, the stream the writer was promoted from, or an
 * older stream Redis no longer links to the writer's (judged by offset only).
 */
export type RestartedHistory = 'none' | 'same-stream' | 'older-stream';

/** Redis reports an unset replication id as forty zeros. */
const hasReplid = (id: string): boolean => id !== '' && !/^0+$/.test(id);
/** A master that was a replica once: it keeps the stream it left and the offset it left it at. */
export const leftReplicaRole = (m: Reachable): boolean =>
  m.role === 'master' && hasReplid(m.replid2) && (m.secondReplOffset ?? -1) > 0;

export function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) map.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return map;
}

const num = (v: string | undefined): number | null =>
  v === undefined || v === '' ? null : Number(v);

function replicaEntries(info: Map<string, string>): ReplicaEntry[] {
  const replicas: ReplicaEntry[] = [];
  for (const [key, value] of info) {
    if (!/^slave\d+$/.test(key)) continue;
    const f = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    replicas.push({
      ip: f.ip,
      port: Number(f.port),
      state: f.state,
      offset: Number(f.offset),
    });
  }
  return replicas;
}

export async function inspect(ctx: RedisCtx, side: RegionRole): Promise<SideState> {
  try {
    return await withClient(ctx, side, 'reading replication state', async (r) => {
      // Pipelined on the one connection: one round trip.
      const [replication, serverInfo] = await Promise.all([
        r.info('replication'),
        r.info('server'),
      ]);
      const info = parseInfo(replication);
      const server = parseInfo(serverInfo);
      const role = info.get('role') === 'master' ? ('master' as const) : ('replica' as const);
      const replicas = replicaEntries(info);
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

export async function inspectReachable(ctx: RedisCtx, side: RegionRole): Promise<Reachable> {
  const s = await inspect(ctx, side);
  if (!s.reachable) throw s.error;
  return s;
}

/** A replica follows `master` when it is on the same replication stream (replid) as the master is, or was before its last promotion. */
export function follows(replica: Reachable, master: Reachable): boolean {
  return (
    replica.replid !== '' && (replica.replid === master.replid || replica.replid === master.replid2)
  );
}

/**
 * Both are masters and `promoted` left `stale`'s stream: a promotion that stopped (crash, lost
 * connection) between REPLICAOF NO ONE and demoting the old master. Finishing it is safe.
 */
export function interrupted(promoted: Reachable, stale: SideState): boolean {
  return (
    stale.reachable &&
    promoted.role === 'master' &&
    stale.role === 'master' &&
    promoted.replid2 !== '' &&
    promoted.replid2 === stale.replid
  );
}

/** Master, and the promotion that made it one is complete (the old master no longer a master too). */
export async function isWriter(ctx: RedisCtx, target: RegionRole): Promise<boolean> {
  const t = await inspectReachable(ctx, target);
  if (t.role !== 'master') return false;
  return !interrupted(t, await inspect(ctx, other(target)));
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
export function restartedOldMaster(promoted: Reachable, stale: Reachable): RestartedHistory | null {
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

/** Where `master` sees `replica`, for FAILOVER TO and REPLICAOF: its replica list first, else the configured address. */
export function replicaAddress(
  ctx: RedisCtx,
  master: Reachable,
  replica: Reachable,
  replicaSide: RegionRole,
): { host: string; port: number } {
  const listed = master.replicas.filter((e) => e.port === replica.tcpPort);
  const configured = address(ctx, replicaSide);
  const entry =
    listed.find((e) => e.ip === configured.host) ?? (listed.length === 1 ? listed[0] : undefined);
  return entry
    ? { host: entry.ip, port: entry.port }
    : { host: configured.host, port: replica.tcpPort || configured.port };
}
