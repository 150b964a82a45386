/**
 * What a switch loses, in bytes of the replication stream and in time: the expected loss with the
 * master unreachable, the RPO of a fenced promotion (offset gap), the bytes a stale master took
 * after the fork, and what a resync of a restarted old master throws away.
 */
import type { ExpectedLoss, Mode, RegionRole, RpoMeasurement } from '../../domain/types.js';
import { formatBytes } from '../bytes.js';
import { consistencySettings, withClient, type RedisCtx } from './connection.js';
import { digestsOf, sampleKeys } from './digest.js';
import type { Reachable } from './state.js';

/** Keys of a stale master (picked at random) compared with the writer before approval, to say what the resync drops. */
const LOSS_SCAN_KEYS = 1000;

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
 * What making `stale` a replica of `writer` throws away, measured before anyone approves it: its
 * keys (up to LOSS_SCAN_KEYS of them compared with the writer: missing there or with another
 * value) and, when it restarted from the stream the writer was promoted from, the bytes it holds
 * past the writer's promotion offset. A restarted master without history has no comparable offset.
 */
export async function restartedLoss(
  ctx: RedisCtx,
  staleSide: RegionRole,
  stale: Reachable,
  writerSide: RegionRole,
  writer: Reachable,
): Promise<StaleLoss> {
  const pieceBytes = consistencySettings(ctx).pieceBytes;
  const [keys, names, mine] = await withClient(ctx, staleSide, 'reading its keys', async (r) => {
    const n = await r.dbsize();
    const sample = await sampleKeys(r, LOSS_SCAN_KEYS, n, () => false);
    return [n, sample.keys, await digestsOf(r, sample.keys, pieceBytes)] as const;
  });
  const [exists, theirs] = await withClient(ctx, writerSide, 'comparing keys', async (r) => {
    const found = await Promise.all(names.map((k) => r.exists(k)));
    return [found.map((e) => e === 1), await digestsOf(r, names, pieceBytes)] as const;
  });
  const notOnWriter = names.filter((_, i) => !exists[i]).length;
  const differing = names.filter((_, i) => exists[i] && theirs[i] !== mine[i]).length;
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

/**
 * When the replica last had contact with its master, as a fixed moment (not "N s ago", which
 * grows while people read the card): Redis counts master_link_down_since_seconds from when the
 * link dropped and, while the link still looks up (a partition not yet timed out),
 * master_last_io_seconds_ago from the last byte. Whole seconds, as Redis keeps them.
 */
function contactLost(t: Reachable): { at: string; basis: 'link down' | 'last I/O' } | null {
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
export function expectedLoss(
  t: Reachable,
  why: string,
): ExpectedLoss & { bytes: number | null; seconds: number | null; contactLostAt: string | null } {
  const lost = contactLost(t);
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
export function staleBytes(promoted: Reachable, stale: Reachable): number {
  return Math.max(0, stale.offset - (promoted.secondReplOffset ?? stale.offset));
}

/**
 * The loss of a promotion behind a write fence: the offset gap between the fenced master's final
 * offset and what the replica had applied (zero for a planned switch, which waited for it).
 */
export function fencedPromotionLoss(p: {
  target: RegionRole;
  src: RegionRole;
  mode: Mode;
  /** The target as read before the fence. */
  t: Reachable;
  finalOffset: number;
  replicaOffset: number;
}): { gap: number; contactLostAt: string | null; rpo: RpoMeasurement } {
  const { target, src, mode, t, finalOffset, replicaOffset } = p;
  const gap = Math.max(0, finalOffset - replicaOffset);
  // The lost writes were taken between the loss of contact and the fence, which is when `t` was read.
  const lost = contactLost(t);
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
  return { gap, contactLostAt: lost?.at ?? null, rpo };
}
