/**
 * Readiness of an azure-cache target, on the approval card before anyone approves: each cache's
 * provisioningState and its place in the link, the lag where INFO replication answers, what an
 * unlink may lose, and, when the caches are not linked (a failback), that linking flushes the
 * cache that becomes the geo-secondary, with its key count.
 */
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import { other, type RedisCtx } from '../redis/connection.js';
import { inspect } from '../redis/state.js';
import { canPause } from '../redis-elasticache/readiness.js';
import { offsetGap } from '../redis-elasticache/switch.js';
import type { AzureCacheApi, CacheState, LinkState } from './api.js';
import { keyCount, refusal, standing, type Standing } from './switch.js';

/** What the card says whatever the state: the limits of this driver. */
const LIMITS = [
  'rights: the read calls (Redis get, LinkedServer list) succeeded; LinkedServer create and delete cannot be dry-run, so their permission is known only when they are sent',
  'Azure offers no geo-failover call for Premium caches: the switch is an unlink, after which both caches take writes; writes that reach the old primary afterwards are lost when the failback relinks it',
];

const row = (side: RegionRole, c: CacheState | null, s: Standing | null, name: string): string =>
  `${side} ${name}: ${c ? `${c.sku} ${c.provisioningState}` : 'not readable'}${s ? `, ${s}` : ''}`;

/** Failback card: no link yet, the target gets linked as geo-secondary first and is flushed. */
function relinkCard(
  api: AzureCacheApi,
  target: RegionRole,
  summary: string,
  keys: { target: number | null; serving: number | null },
  why: string | null,
): ComponentReadiness {
  const t = api.cache(target).name;
  const s = api.cache(other(target)).name;
  const n = (k: number | null): string => (k === null ? 'an unknown number of' : String(k));
  const flush = `linking FLUSHES ${t}: it becomes the geo-secondary of ${s} and its ${n(keys.target)} keys are deleted before it copies ${s}'s ${n(keys.serving)}`;
  return {
    component: 'cache',
    status: why ? 'blocked' : 'warning',
    summary: `${summary}; ${why ?? flush}`,
    details: { targetKeys: keys.target, servingKeys: keys.serving },
    planFacts: { driver: 'azure-cache', relink: true },
    warnings: [
      flush,
      `after the switch back, ${s} is linked as geo-secondary of ${t} and flushed the same way (by then ${t} holds its data)`,
      ...LIMITS,
    ],
  };
}

export async function readiness(
  ctx: RedisCtx,
  api: AzureCacheApi,
  target: RegionRole,
  pauseWrites: boolean,
): Promise<ComponentReadiness> {
  const src = other(target);
  let c: CacheState;
  let link: LinkState | null;
  try {
    [c, link] = await Promise.all([api.get(target), api.link(target)]);
  } catch (err) {
    const msg = err instanceof DrError ? err.message : String(err);
    return {
      component: 'cache',
      status: 'blocked',
      summary: `cannot read cache ${api.cache(target).name}: ${msg}`,
      details: { error: msg },
      planFacts: { driver: 'azure-cache' },
      warnings: [
        'the bot needs Microsoft.Cache/redis/read and linkedServers/read (docs/permissions.md)',
      ],
    };
  }
  // The other region may be out: its row says so, the target's decides.
  const o = await api.get(src).catch(() => null);
  const st = standing(link);
  const summary = `${row(target, c, st, c.name)}; ${row(src, o, null, api.cache(src).name)}`;
  const planFacts = { driver: 'azure-cache', targetStanding: st };
  if (st === 'geo-primary')
    return {
      component: 'cache',
      status: 'ready',
      summary: `${summary}: ${c.name} is already the geo-primary, nothing to switch`,
      details: {},
      planFacts,
      warnings: LIMITS,
    };
  if (st === 'standalone') {
    // Both caches standalone: the secondary already serves; the primary is a failback's relink.
    if (target === 'secondary' || o === null || (await api.link(src).catch(() => null)) !== null)
      return {
        component: 'cache',
        status: 'ready',
        summary: `${summary}: ${c.name} is not linked and takes writes`,
        details: {},
        planFacts,
        warnings: LIMITS,
      };
    const [tk, sk] = await Promise.all([keyCount(ctx, target), keyCount(ctx, src)]);
    const why = refusal(api, c, null) ?? refusal(api, o, null);
    return relinkCard(api, target, summary, { target: tk, serving: sk }, why);
  }
  return linkedCard(ctx, api, { target, c, link: link!, summary, planFacts, pauseWrites });
}

/** A failback after this switch (a drill's included) relinks the old primary, which flushes it. */
const failbackNote = (api: AzureCacheApi, target: RegionRole): string =>
  `the failback relinks ${api.cache(other(target)).name} as geo-secondary of ${api.cache(target).name}: linking FLUSHES it (its writes after the switch would be stale)`;

/** The target is the geo-secondary: the unlink's loss, measured or zero behind a pause. */
async function linkedCard(
  ctx: RedisCtx,
  api: AzureCacheApi,
  a: {
    target: RegionRole;
    c: CacheState;
    link: LinkState;
    summary: string;
    planFacts: Record<string, string | number | boolean | null>;
    pauseWrites: boolean;
  },
): Promise<ComponentReadiness> {
  const src = other(a.target);
  const s0 = await inspect(ctx, src).catch(() => null);
  const primaryReachable = !!s0?.reachable;
  const gap = await offsetGap(ctx, a.target).catch(() => null);
  const base = {
    component: 'cache' as const,
    primaryReachable,
    details: { link: a.link.provisioningState, offsetGapBytes: gap },
  };
  const summary = `${a.summary}, link ${a.link.provisioningState}; ${gap === null ? 'lag not readable (INFO replication)' : `lag ${formatBytes(gap)}`}`;
  const why = refusal(api, a.c, a.link);
  if (why)
    return {
      ...base,
      status: 'blocked',
      summary: `${summary}: ${why}`,
      planFacts: a.planFacts,
      warnings: LIMITS,
    };
  const known = a.pauseWrites && primaryReachable ? await canPause(ctx, src) : false;
  const pausable = known !== false;
  const measured = gap === null ? 'unknown' : formatBytes(gap);
  const lossNote =
    known === true
      ? 'planned: writes are paused (CLIENT PAUSE WRITE) until the lag is 0, then the unlink: zero loss'
      : known === null
        ? `planned: writes are paused (CLIENT PAUSE WRITE) until the lag is 0, then the unlink: zero loss; if the cache refuses the pause, the switch may lose up to the measured lag (${measured})`
        : `writes cannot be paused (${!a.pauseWrites ? 'pauseWrites is off' : primaryReachable ? 'the cache refuses CLIENT PAUSE' : `${src} is unreachable`}): the unlink may lose up to the measured lag (${measured})`;
  return {
    ...base,
    status: pausable ? 'ready' : 'warning',
    summary,
    planFacts: { ...a.planFacts, pausable },
    ...(pausable ? {} : { expectedLoss: { bytes: gap, seconds: null, description: lossNote } }),
    warnings: [lossNote, failbackNote(api, a.target), ...LIMITS],
  };
}
