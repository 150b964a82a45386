/**
 * The passive geo-replication switch. Azure offers link and unlink only (no failover call in the
 * REST API): the switch is an unlink, after which the geo-secondary is a standalone read-write
 * cache. Planned: CLIENT PAUSE WRITE on the geo-primary, wait until the secondary applied its
 * whole stream, then unlink; the old primary stays paused so no write lands on a cache the
 * failback's relink will flush. Failback's resync links again with the serving cache as primary.
 */
import type { Mode, RegionRole, RpoMeasurement } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import { other, poll, withClient, type RedisCtx } from '../redis/connection.js';
import {
  catchUp,
  offsetGap,
  pauseWrites,
  unpause,
  type Pause,
} from '../redis-elasticache/switch.js';
import type { ActionResult, Progress, PromotionResult } from '../types.js';
import { NAME, type AzureCacheApi, type CacheState, type LinkState } from './api.js';

/** Where `side` stands: standalone (no link), the link's primary, or its secondary. */
export type Standing = 'standalone' | 'geo-primary' | 'geo-secondary';

export function standing(link: LinkState | null): Standing {
  if (!link) return 'standalone';
  return link.otherRole.toLowerCase() === 'secondary' ? 'geo-primary' : 'geo-secondary';
}

/**
 * Why Azure would refuse, or the switch would not do what it says, for `target`; null if fine.
 * The cache must be running (Redis get provisioningState Succeeded) and the link complete: an
 * unlink during Linking leaves a secondary that never finished its sync.
 */
export function refusal(api: AzureCacheApi, c: CacheState, link: LinkState | null): string | null {
  if (c.sku.toLowerCase() !== 'premium')
    return `${c.name} is ${c.sku}: passive geo-replication is Premium only (cache-how-to-geo-replication, "Scope of availability")`;
  if (c.provisioningState !== 'Succeeded')
    return `${c.name} is ${c.provisioningState}, not Succeeded: wait for the running operation to finish`;
  if (link && link.provisioningState !== 'Succeeded')
    return `the link is ${link.provisioningState}: unlinking before it succeeded leaves a secondary without the primary's data`;
  return null;
}

/** Keys in `side`'s cache (DBSIZE); null when its data plane does not answer. */
export async function keyCount(ctx: RedisCtx, side: RegionRole): Promise<number | null> {
  return withClient(ctx, side, 'DBSIZE', (r) => r.dbsize()).catch(() => null);
}

function rpoOf(mode: Mode, pause: Pause, gap: number | null, target: RegionRole): RpoMeasurement {
  if (pause.paused)
    return {
      component: 'cache',
      bytes: 0,
      seconds: 0,
      description: `zero loss: writes were paused and ${target} had applied the geo-primary's whole stream before the unlink`,
    };
  return {
    component: 'cache',
    bytes: gap,
    seconds: null,
    description:
      gap === null
        ? `${mode}: writes not paused; the lag at the unlink could not be read (INFO replication did not answer on both caches)`
        : `${mode}: writes not paused; ${target} was ${formatBytes(gap)} behind when it was unlinked: up to that is lost`,
  };
}

interface PromoteOpts {
  target: RegionRole;
  mode: Mode;
  progress: Progress;
  pause: boolean;
  timeoutSeconds: number;
}

/** Promote `target` by unlinking it; see the module comment for the order. */
export async function promote(
  ctx: RedisCtx,
  api: AzureCacheApi,
  opts: PromoteOpts,
): Promise<PromotionResult> {
  const { target, mode, progress } = opts;
  const src = other(target);
  const started = Date.now();
  const [c, link] = await Promise.all([api.get(target), api.link(target)]);
  const now = standing(link);
  if (now !== 'geo-secondary')
    return {
      noop: true,
      mode,
      summary: `${c.name} is ${now === 'standalone' ? 'not linked (a read-write cache)' : 'the geo-primary'}: nothing to do`,
      evidence: { standing: now },
      rpo: { component: 'cache', bytes: 0, seconds: 0, description: 'no switch by this step' },
    };
  const why = refusal(api, c, link);
  if (why) throw new PreconditionFailed(why, { code: 'wrong-target' });
  const pause: Pause =
    mode === 'planned' && opts.pause
      ? await pauseWrites(ctx, src, (opts.timeoutSeconds + ctx.opts.promoteTimeoutSeconds) * 1000)
      : { paused: false, finalOffset: null };
  const check = { name: NAME, check: "the caches' geo-replication" };
  if (pause.paused) await catchUp(ctx, target, pause.finalOffset!, progress, check);
  else if (pause.why) progress(`writes could not be paused (${pause.why}): unlinking with the lag`);
  const gap = pause.paused ? 0 : await offsetGap(ctx, target).catch(() => null);
  progress(`LinkedServer delete: ${c.name} leaves the link and takes writes`);
  try {
    await api.deleteLink(target);
  } catch (err) {
    // Nothing switched: the old primary takes writes again.
    if (pause.paused) await unpause(ctx, src);
    throw err;
  }
  const rpo = rpoOf(mode, pause, gap, target);
  return {
    noop: false,
    mode,
    summary: `${c.name} is unlinked and takes writes (${Date.now() - started} ms); ${pause.paused ? `writes paused, zero loss; ${api.cache(src).name} stays write-paused until the failback relinks it` : rpo.description}`,
    evidence: {
      method: 'LinkedServer delete',
      paused: pause.paused,
      ...(pause.why ? { pauseRefused: pause.why } : {}),
      offsetGapBytes: gap,
      totalMs: Date.now() - started,
    },
    rpo,
  };
}

/** The link with `standby` as geo-secondary, complete, and (where INFO answers) its link up. */
export async function isStreamingStandby(
  ctx: RedisCtx,
  api: AzureCacheApi,
  standby: RegionRole,
): Promise<boolean> {
  const link = await api.link(standby);
  if (standing(link) !== 'geo-secondary' || link!.provisioningState !== 'Succeeded') return false;
  const up = await withClient(ctx, standby, 'INFO replication', (r) => r.info('replication')).catch(
    () => null,
  );
  return up === null || !/^role:slave/m.test(up) || /^master_link_status:up/m.test(up);
}

/**
 * Link again with the serving side as the geo-primary. Azure flushes the cache that becomes the
 * secondary: the approval card named it and its key count (readiness); the evidence keeps the
 * count read just before the call.
 */
export async function resync(
  ctx: RedisCtx,
  api: AzureCacheApi,
  opts: { standby: RegionRole; progress: Progress; timeoutSeconds: number },
): Promise<ActionResult> {
  const { standby, progress } = opts;
  const serving = other(standby);
  if (await isStreamingStandby(ctx, api, standby))
    return {
      noop: true,
      summary: `${api.cache(standby).name} is already the geo-secondary`,
      evidence: {},
    };
  const [link, s, c] = await Promise.all([api.link(serving), api.get(serving), api.get(standby)]);
  if (standing(link) === 'geo-secondary')
    throw new PreconditionFailed(
      `${api.cache(serving).name} is itself the geo-secondary of ${c.name}: the link runs the other way; switch writes first`,
      { code: 'wrong-target' },
    );
  let flushed: number | null = null;
  if (!link) {
    const why = refusal(api, s, null) ?? refusal(api, c, null);
    if (why) throw new PreconditionFailed(why);
    // Our own planned pause on the old primary stays until the link made it read-only: a write
    // let in before would be acknowledged, then flushed by the link.
    flushed = await keyCount(ctx, standby);
    progress(
      `LinkedServer create: ${c.name} becomes geo-secondary of ${s.name}; Azure flushes its ${flushed ?? 'unknown number of'} keys`,
    );
    await api.createLink(serving, c.location);
  }
  const ok = await poll(opts.timeoutSeconds * 1000, async () =>
    (await isStreamingStandby(ctx, api, standby)) ? true : undefined,
  );
  if (!ok)
    throw new ProviderError(
      NAME,
      `${c.name} is not a synced geo-secondary ${opts.timeoutSeconds} s after the link: check the Geo-replication page of ${s.name}`,
      { code: 'timeout', retryable: true },
    );
  // A geo-secondary refuses writes itself: the writes our pause held now fail instead of landing.
  if (!link) await unpause(ctx, standby);
  return {
    noop: false,
    summary: `${c.name} is the geo-secondary of ${s.name} again (its previous data was flushed by the link)`,
    evidence: { linkedTo: s.name, flushedKeys: flushed },
  };
}
