/**
 * The fenced switch by REPLICAOF NO ONE, planned (without FAILOVER) or unplanned with the old
 * master reachable: fence its writes, wait for (or measure) the offset gap, promote the target,
 * then demote the old master and lift the fence.
 */
import type { Mode, RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import type { Progress, PromotionResult } from '../types.js';
import { NAME, other, poll, where, withClient, type RedisCtx } from './connection.js';
import { clearLeftoverFence, fenceWrites, liftFence, type Fence } from './fence.js';
import { fencedPromotionLoss } from './loss.js';
import { inspect, inspectReachable, replicaAddress, type Reachable } from './state.js';

/**
 * Planned: wait until the target has applied the fenced master's stream up to `finalOffset`,
 * reporting the gap each second. On timeout the fence is lifted and the switch abandoned.
 * Returns the target's applied offset.
 */
async function catchUp(
  ctx: RedisCtx,
  target: RegionRole,
  fence: Fence,
  progress: Progress,
  replicaOffsetBefore: number,
): Promise<number> {
  const src = other(target);
  const { finalOffset } = fence;
  let replicaOffset = replicaOffsetBefore;
  let lastReport = Date.now();
  const caught = await poll(ctx.opts.promoteTimeoutSeconds * 1000, async () => {
    const s = await inspectReachable(ctx, target);
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
    await liftFence(ctx, src, fence);
    throw new ProviderError(
      NAME,
      `${where(ctx, target)} did not reach ${src}'s offset ${finalOffset} within ${ctx.opts.promoteTimeoutSeconds} s (at ${replicaOffset}). ${src}'s writes were let through again and it is still the master; fix the replication link and retry.`,
      { code: 'timeout', retryable: true },
    );
  }
  return replicaOffset;
}

/** REPLICAOF NO ONE on the target; returns whether a leftover fence value had to be cleared there. */
async function promoteBehindFence(
  ctx: RedisCtx,
  target: RegionRole,
  fence: Fence,
): Promise<boolean> {
  return withClient(ctx, target, 'REPLICAOF NO ONE', async (r) => {
    await r.call('REPLICAOF', 'NO', 'ONE');
    return clearLeftoverFence(ctx, r, target);
  }).catch(async (err: unknown) => {
    // Not promoted: the old master must take writes again. (Once promoted, a failed demotion keeps the fence: never two writers.)
    if (
      !(await inspect(ctx, target).then(
        (s) => s.reachable && s.role === 'master',
        () => false,
      ))
    )
      await liftFence(ctx, other(target), fence);
    throw err;
  });
}

/**
 * Fence writes on the old master, measure (planned: wait for) the offset gap, promote, then make
 * the old master a replica of the new one so it can never take writes again.
 */
export async function pauseAndPromote(
  ctx: RedisCtx,
  target: RegionRole,
  t: Reachable,
  o: Reachable,
  mode: Mode,
  progress: Progress,
  started: number,
): Promise<PromotionResult> {
  const src = other(target);
  progress(`fencing writes on ${src}`);
  const fence = await fenceWrites(ctx, src, o);
  const { finalOffset } = fence;
  const catchUpStarted = Date.now();
  const replicaOffset =
    mode === 'planned'
      ? await catchUp(ctx, target, fence, progress, t.replicaOffset ?? 0)
      : ((await inspectReachable(ctx, target)).replicaOffset ?? 0);
  const catchUpMs = Date.now() - catchUpStarted;
  const promoteStarted = Date.now();
  const leftoverFenceCleared = await promoteBehindFence(ctx, target, fence);
  const promoteMs = Date.now() - promoteStarted;
  ctx.opts.log.info(
    { target, mode, finalOffset, replicaOffset, fence: fence.method },
    'redis replica promoted (REPLICAOF NO ONE)',
  );
  const nt = await inspectReachable(ctx, target);
  const to = replicaAddress(ctx, o, nt, target);
  progress(`making ${src} a replica of ${to.host}:${to.port}`);
  await withClient(ctx, src, 'REPLICAOF (demote the old master)', async (r) => {
    await r.call('REPLICAOF', to.host, String(to.port));
    await fence.lift(r);
  });
  const { gap, contactLostAt, rpo } = fencedPromotionLoss({
    target,
    src,
    mode,
    t,
    finalOffset,
    replicaOffset,
  });
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
      masterContactLostAt: contactLostAt,
      fenced: true,
      demotedTo: `${to.host}:${to.port}`,
      catchUpMs,
      promoteMs,
      totalMs,
    },
    rpo,
  };
}
