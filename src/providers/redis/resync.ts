/**
 * Resync of the standby after a switch: whether it already streams from the writer, making it a
 * replica again (refused for a master that is not shown to be the stale side) and waiting for the
 * link and equal offsets.
 */
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import type { ActionResult, Progress } from '../types.js';
import { NAME, address, other, poll, where, withClient, type RedisCtx } from './connection.js';
import { restartedLoss, staleBytes } from './loss.js';
import {
  follows,
  inspect,
  inspectReachable,
  interrupted,
  leftReplicaRole,
  restartedOldMaster,
  type Reachable,
} from './state.js';

export async function isStreamingStandby(ctx: RedisCtx, standby: RegionRole): Promise<boolean> {
  const s = await inspectReachable(ctx, standby);
  if (s.role !== 'replica' || !s.linkUp) return false;
  const o = await inspect(ctx, other(standby));
  return o.reachable && o.role === 'master' && follows(s, o);
}

/** Make `standby` a replica of the other side (Redis resyncs by itself: partial or full), then wait for the link and equal offsets. */
export async function resync(
  ctx: RedisCtx,
  { standby, progress }: { standby: RegionRole; progress: Progress },
): Promise<ActionResult> {
  if (await isStreamingStandby(ctx, standby))
    return {
      noop: true,
      summary: `${standby} is already a replica of ${other(standby)}`,
      evidence: {},
    };
  const writer = other(standby);
  const w = await inspectReachable(ctx, writer);
  if (w.role !== 'master')
    throw new PreconditionFailed(
      `${where(ctx, writer)} is not a master: nothing to resync ${standby} from.`,
      { code: 'wrong-target' },
    );
  const s = await inspectReachable(ctx, standby);
  const to = { host: address(ctx, writer).host, port: w.tcpPort || address(ctx, writer).port };
  const { dropped, droppedKeys } = await whatResyncDrops(ctx, standby, s, writer, w);
  const started = Date.now();
  progress(`REPLICAOF ${to.host} ${to.port} on ${standby}`);
  await withClient(ctx, standby, 'REPLICAOF', (r) => r.call('REPLICAOF', to.host, String(to.port)));
  const ok = await poll(ctx.opts.promoteTimeoutSeconds * 1000, async () =>
    (await isStreamingStandby(ctx, standby).catch(() => false)) ? true : undefined,
  );
  if (!ok)
    throw new ProviderError(
      NAME,
      `${where(ctx, standby)} did not sync with ${writer} within ${ctx.opts.promoteTimeoutSeconds} s after REPLICAOF; see its log`,
      { code: 'timeout', retryable: true },
    );
  const offsets = await waitForEqualOffsets(ctx, writer, standby);
  if (!offsets.equal) {
    throw new ProviderError(
      NAME,
      `${where(ctx, standby)} follows ${writer} but did not reach its offset ${offsets.writer} within ${ctx.opts.promoteTimeoutSeconds} s (at ${offsets.standby}); see its log, then Retry`,
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
async function whatResyncDrops(
  ctx: RedisCtx,
  standby: RegionRole,
  s: Reachable,
  writer: RegionRole,
  w: Reachable,
): Promise<{ dropped: number; droppedKeys: string | null }> {
  if (s.role !== 'master') return { dropped: 0, droppedKeys: null };
  if (interrupted(w, s)) return { dropped: staleBytes(w, s), droppedKeys: null };
  if (s.replid2 === w.replid)
    return {
      dropped: Math.max(0, s.offset - ((s.secondReplOffset ?? 1) - 1)),
      droppedKeys: null,
    };
  if (restartedOldMaster(w, s))
    return {
      dropped: 0,
      droppedKeys: (await restartedLoss(ctx, standby, s, writer, w)).description,
    };
  throw new PreconditionFailed(
    `${where(ctx, standby)} is a master that shares no replication history with ${where(ctx, writer)}${leftReplicaRole(w) ? '' : `, and ${writer} was never promoted from a replica`}: making it a replica would replace its data (${s.replid}, offset ${s.offset}) with ${writer}'s, and nothing shows it is the stale side. Nothing was changed. Check components.redis in the config; if ${standby} really holds nothing to keep, run REPLICAOF on it yourself.`,
    { code: 'wrong-target' },
  );
}

/** Wait until `standby` has applied `writer`'s stream up to the writer's offset read now. */
export async function waitForEqualOffsets(
  ctx: RedisCtx,
  writer: RegionRole,
  standby: RegionRole,
): Promise<{ equal: boolean; writer: number; standby: number | null }> {
  const target = (await inspectReachable(ctx, writer)).offset;
  let at: number | null = null;
  const caught = await poll(ctx.opts.promoteTimeoutSeconds * 1000, async () => {
    at = (await inspectReachable(ctx, standby)).replicaOffset;
    return at !== null && at >= target ? true : undefined;
  });
  return { equal: caught === true, writer: target, standby: at };
}
