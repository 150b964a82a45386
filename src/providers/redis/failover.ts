/**
 * The planned switch by Redis's own FAILOVER TO (Redis >= 6.2): wait until the master lists the
 * target as an online replica, run it, and wait for the roles to swap.
 */
import type { RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import type { Progress, PromotionResult } from '../types.js';
import { NAME, other, poll, withClient, type RedisCtx } from './connection.js';
import { clearLeftoverFence } from './fence.js';
import { inspect, replicaAddress, type Reachable, type SideState } from './state.js';

type Address = { host: string; port: number };

/**
 * FAILOVER TO refuses a replica its master does not list as online yet ("target replica is not
 * online"), which a replica that has just (re)synced can be for a moment after its own side
 * reports the link up: wait for the master's view, within the promotion's time.
 */
async function waitUntilListedOnline(
  ctx: RedisCtx,
  target: RegionRole,
  o: Reachable,
  to: Address,
  timeoutMs: number,
): Promise<void> {
  const src = other(target);
  const online = (m: SideState): boolean =>
    m.reachable &&
    m.replicas.some((e) => e.ip === to.host && e.port === to.port && e.state === 'online');
  if (
    !online(o) &&
    (await poll(timeoutMs, async () => (online(await inspect(ctx, src)) ? true : undefined))) ===
      undefined
  ) {
    throw new ProviderError(
      NAME,
      `${src} does not list ${target} (${to.host}:${to.port}) as an online replica after ${ctx.opts.promoteTimeoutSeconds} s, so FAILOVER TO cannot run: check the replication link and retry.`,
      { retryable: true },
    );
  }
}

/** Wait for the target to be master and the old master its replica; throws when the master gave up instead. */
async function waitForSwap(
  ctx: RedisCtx,
  target: RegionRole,
  to: Address,
  timeoutMs: number,
): Promise<{ nt: Reachable; no: Reachable }> {
  const src = other(target);
  const done = await poll(timeoutMs + 5000, async () => {
    const [nt, no] = await Promise.all([inspect(ctx, target), inspect(ctx, src)]);
    if (!nt.reachable || !no.reachable) return undefined;
    if (nt.role === 'master' && no.role === 'replica') return { nt, no };
    // The master gave up (timeout) and resumed writes as master: report instead of waiting.
    if (no.role === 'master' && no.failoverState === 'no-failover') return { nt, no, failed: true };
    return undefined;
  });
  if (!done || 'failed' in done) {
    throw new ProviderError(
      NAME,
      `FAILOVER TO ${to.host}:${to.port} did not complete within ${ctx.opts.promoteTimeoutSeconds} s: ${target} did not catch up with ${src}. ${src} resumed taking writes as master; check the replication link and retry.`,
      { code: 'timeout', retryable: true },
    );
  }
  return done;
}

/** Redis's own planned switch: the master pauses writes, waits for the replica, swaps roles. */
export async function failoverCommand(
  ctx: RedisCtx,
  target: RegionRole,
  t: Reachable,
  o: Reachable,
  progress: Progress,
  started: number,
): Promise<PromotionResult> {
  const src = other(target);
  const to = replicaAddress(ctx, o, t, target);
  const timeoutMs = ctx.opts.promoteTimeoutSeconds * 1000;
  await waitUntilListedOnline(ctx, target, o, to, timeoutMs);
  progress(`FAILOVER TO ${to.host} ${to.port} on ${src}`, {
    primaryOffset: o.offset,
    replicaOffset: t.replicaOffset,
  });
  await withClient(ctx, src, 'FAILOVER', (r) =>
    r.call('FAILOVER', 'TO', to.host, String(to.port), 'TIMEOUT', String(timeoutMs)),
  );
  const done = await waitForSwap(ctx, target, to, timeoutMs);
  const leftoverFenceCleared = await withClient(
    ctx,
    target,
    'checking for a leftover write fence',
    (r) => clearLeftoverFence(ctx, r, target),
  );
  const totalMs = Date.now() - started;
  ctx.opts.log.info({ target, finalOffset: done.nt.offset, totalMs }, 'redis FAILOVER completed');
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
