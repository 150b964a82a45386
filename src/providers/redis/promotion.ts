/**
 * Promotion of a Redis target: checks the pair and picks the path (planned FAILOVER TO or fenced
 * REPLICAOF NO ONE, unplanned with the old master fenced or unreachable), and finishes a
 * promotion that was interrupted before the old master was demoted.
 */
import type { Mode, RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import type { Progress, PromotionResult } from '../types.js';
import { NAME, other, where, withClient, type RedisCtx } from './connection.js';
import { failoverCommand } from './failover.js';
import { clearLeftoverFence, hasWritePause } from './fence.js';
import { expectedLoss } from './loss.js';
import { pauseAndPromote } from './pause-promote.js';
import {
  follows,
  inspect,
  inspectReachable,
  interrupted,
  replicaAddress,
  type Reachable,
  type Unreachable,
} from './state.js';

/**
 * Promote `target`. After any failover the old master, where it can be reached, is made a replica
 * of the new one (as FAILOVER does): that is Redis's fence, so there are never two masters. The
 * address used for it is the one the old master listed the replica under (ROLE/INFO), else the
 * configured URL's.
 */
export async function promote(
  ctx: RedisCtx,
  { target, mode, progress }: { target: RegionRole; mode: Mode; progress: Progress },
): Promise<PromotionResult> {
  const started = Date.now();
  const src = other(target);
  // Both sides at once: neither reading depends on the other.
  const [t, o] = await Promise.all([inspectReachable(ctx, target), inspect(ctx, src)]);
  if (t.role === 'master') {
    if (interrupted(t, o))
      return finishInterrupted(ctx, target, t, o as Reachable, mode, progress, started);
    if (o.reachable && o.role === 'master') {
      throw new PreconditionFailed(
        `${where(ctx, target)} and ${where(ctx, src)} are both masters: ${target} is not a replica to promote. Decide which holds the data, make the other its replica, then retry.`,
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
        `${where(ctx, src)} is a replica too: there is no master to fail over from.`,
        { code: 'wrong-target' },
      );
    if (!follows(t, o)) {
      throw new PreconditionFailed(
        `${where(ctx, target)} is not a replica of ${where(ctx, src)}: it follows replication id ${t.replid}, ${src} has ${o.replid}. Check components.redis.${target} in the config.`,
        { code: 'wrong-target' },
      );
    }
  }
  if (mode === 'planned') {
    if (!o.reachable) {
      throw new PreconditionFailed(
        `a planned failover pauses ${where(ctx, src)} and waits for equal offsets, but it is unreachable (${o.error.message}). Re-run preflight: with ${src} down the failover is unplanned.`,
      );
    }
    if (!t.linkUp) {
      // Pausing the master now would stop the application for a catch-up that cannot happen.
      throw new ProviderError(
        NAME,
        `${where(ctx, target)}'s replication link to ${src} is down${t.linkDownSinceSeconds !== null ? ` (for ${t.linkDownSinceSeconds} s)` : ''}: a planned failover could not reach zero loss. Nothing was changed. Fix the link and retry, or choose an unplanned failover (offset gap ${formatBytes(Math.max(0, o.offset - (t.replicaOffset ?? 0)))}).`,
        { retryable: true, code: 'precondition-failed' },
      );
    }
    const useFailover = ctx.opts.useFailoverCommand && hasWritePause(ctx, o);
    return useFailover
      ? failoverCommand(ctx, target, t, o, progress, started)
      : pauseAndPromote(ctx, target, t, o, 'planned', progress, started);
  }
  if (o.reachable) return pauseAndPromote(ctx, target, t, o, 'unplanned', progress, started);
  return promoteAlone(ctx, target, t, o, progress, started);
}

/** Demote the old master left behind by an interrupted promotion; what it took since the fork is dropped. */
async function finishInterrupted(
  ctx: RedisCtx,
  target: RegionRole,
  t: Reachable,
  o: Reachable,
  mode: Mode,
  progress: Progress,
  started: number,
): Promise<PromotionResult> {
  const src = other(target);
  const to = replicaAddress(ctx, o, t, target);
  const dropped = Math.max(0, o.offset - (t.secondReplOffset ?? o.offset));
  progress(
    `${target} is already master but ${src} still is too: making ${src} a replica of ${to.host}:${to.port}`,
  );
  await withClient(ctx, src, 'REPLICAOF (demote the old master)', async (r) => {
    await r.call('REPLICAOF', to.host, String(to.port));
    // A pause or fence left by the interrupted attempt would otherwise hold the old master's clients, or its next promotion.
    if (hasWritePause(ctx, o)) await r.call('CLIENT', 'UNPAUSE');
    await clearLeftoverFence(ctx, r, src);
  });
  ctx.opts.log.warn(
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

/** Unplanned with the old master unreachable: REPLICAOF NO ONE alone, the old master left to be demoted when it is back. */
async function promoteAlone(
  ctx: RedisCtx,
  target: RegionRole,
  t: Reachable,
  o: Unreachable,
  progress: Progress,
  started: number,
): Promise<PromotionResult> {
  const src = other(target);
  progress(`${src} is unreachable (${o.error.message}): it cannot be demoted`);
  const loss = expectedLoss(t, o.error.message);
  const promoteStarted = Date.now();
  const leftoverFenceCleared = await withClient(ctx, target, 'REPLICAOF NO ONE', async (r) => {
    await r.call('REPLICAOF', 'NO', 'ONE');
    return clearLeftoverFence(ctx, r, target);
  });
  const promoteMs = Date.now() - promoteStarted;
  ctx.opts.log.warn(
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
