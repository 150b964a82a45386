/**
 * The write fence on a master being switched away from: putting it up (CLIENT PAUSE WRITE, or the
 * min-replicas-to-write fence before Redis 6.2), lifting it, and clearing a fence value left
 * behind by a switch that stopped midway.
 */
import type { Redis } from 'ioredis';
import type { RegionRole } from '../../domain/types.js';
import { withClient, type RedisCtx } from './connection.js';
import { parseInfo, type Reachable } from './state.js';

/**
 * min-replicas-to-write while the < 6.2 fence is up: more good replicas than any server has, so
 * every write is refused. Nobody sets it otherwise, so finding it means a switch stopped before
 * restoring the setting; it is cleared wherever a promotion finds it.
 */
const FENCE_MIN_REPLICAS = 2147483647;

/** A fence that is up: how, the master's offset once writes stopped, and how to lift it. */
export interface Fence {
  method: string;
  finalOffset: number;
  lift: (r: Redis) => Promise<void>;
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && (b ?? 0) >= minor);
}

export function hasWritePause(ctx: RedisCtx, master: Reachable): boolean {
  return versionAtLeast(ctx.opts.assumeVersion ?? master.version, 6, 2);
}

/**
 * Stop writes on the master `src` and read its final offset after the stop: CLIENT PAUSE WRITE
 * (Redis >= 6.2), else min-replicas-to-write beyond any replica count. `lift` undoes it on a
 * connection to `src`.
 *
 * Why not CLIENT PAUSE before 6.2: there it has no WRITE mode and no UNPAUSE: it holds every
 * client but replicas, this provider's own INFO and REPLICAOF included, until it expires, and then
 * the application's queued writes run on the old master before a REPLICAOF sent after them, to be
 * dropped. With min-replicas-to-write writes are refused (NOREPLICAS) at once, the provider's
 * commands are not, and the setting is restored once the old master is a replica.
 */
export async function fenceWrites(ctx: RedisCtx, src: RegionRole, o: Reachable): Promise<Fence> {
  const offsetOf = async (r: Redis) =>
    Number(parseInfo(await r.info('replication')).get('master_repl_offset') ?? 0);
  if (hasWritePause(ctx, o)) {
    const pauseMs = ctx.opts.promoteTimeoutSeconds * 1000 + 10_000;
    const finalOffset = await withClient(ctx, src, 'CLIENT PAUSE WRITE', async (r) => {
      await r.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE');
      return offsetOf(r);
    });
    return {
      method: 'pause',
      finalOffset,
      lift: async (r) => void (await r.call('CLIENT', 'UNPAUSE')),
    };
  }
  return withClient(ctx, src, 'fencing writes (CONFIG SET min-replicas-to-write)', async (r) => {
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

/** Let `src`'s writes through again after a switch that did not happen; best effort. */
export async function liftFence(ctx: RedisCtx, src: RegionRole, fence: Fence): Promise<void> {
  await withClient(ctx, src, 'lifting the write fence', fence.lift).catch(() => undefined);
}

/** After a promotion: a fence value left on this side by a switch that stopped midway would refuse every write it now takes. */
export async function clearLeftoverFence(
  ctx: RedisCtx,
  r: Redis,
  side: RegionRole,
): Promise<boolean> {
  // CONFIG may be renamed away (managed Redis); then no fence can have been set either.
  const value = await r.config('GET', 'min-replicas-to-write').then(
    (v) => Number((v as string[])[1]),
    () => null,
  );
  if (value !== FENCE_MIN_REPLICAS) return false;
  await r.config('SET', 'min-replicas-to-write', '0');
  ctx.opts.log.warn(
    { side },
    'redis: cleared min-replicas-to-write left at the fence value by an interrupted switch (set to 0: restore your own value if you had one)',
  );
  return true;
}
