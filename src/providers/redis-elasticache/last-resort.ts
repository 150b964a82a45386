/**
 * When the Global Datastore's last resort (detach.ts) is offered, and what the card says after it:
 * the offer on a failover that cannot be done, and the failback a person must do by hand.
 */
import type { Mode, RegionRole } from '../../domain/types.js';
import { DrError, type LastResortOffer } from '../../errors.js';
import { other, type RedisCtx } from '../redis/connection.js';
import { inspect } from '../redis/state.js';
import { memberOf, type DatastoreState, type ElastiCacheApi } from './api.js';

/** What a person must do to fail back after a detach: the bot does not re-link silently. */
export function failbackAfterDetach(api: ElastiCacheApi): string {
  const p = api.member('primary');
  const s = api.member('secondary');
  return `to fail back, re-create the link by hand: a global datastore with ${s.replicationGroupId} as primary and ${p.replicationGroupId}'s region (${p.region}) added, which WIPES ${p.replicationGroupId}'s data; set components.redis.elasticache to it, then request the failback`;
}

/** The secondary was detached: not a member any more, and the datastore down to its primary. */
export function detachedNote(api: ElastiCacheApi, st: DatastoreState): string | null {
  if (memberOf(st, api.member('secondary')) || st.members.length > 1) return null;
  return `the secondary ${api.member('secondary').replicationGroupId} was detached from the global datastore (the last resort) and the bot does not re-link it: ${failbackAfterDetach(api)}`;
}

/**
 * The offer, when the failover of an unplanned switch cannot be done: `target` is an associated
 * SECONDARY and the primary's endpoint does not answer (its region is out). Null otherwise: a
 * planned switch, or a reachable primary, is retried or fixed, never detached.
 */
export async function detachOffer(
  ctx: RedisCtx,
  api: ElastiCacheApi,
  st: DatastoreState,
  target: RegionRole,
  mode: Mode,
  cause: string,
): Promise<LastResortOffer | null> {
  if (mode !== 'unplanned' || target !== 'secondary') return null;
  const m = memberOf(st, api.member(target));
  if (m?.role.toUpperCase() !== 'SECONDARY' || m.status !== 'associated') return null;
  const src = await inspect(ctx, other(target)).catch(() => null);
  if (src?.reachable) return null;
  const g = api.member(target);
  return {
    action: 'detach-cache',
    why: `FailoverGlobalReplicationGroup cannot switch while ${api.member(other(target)).region} is out (${cause}). Last resort: DisassociateGlobalReplicationGroup makes ${g.replicationGroupId} (${g.region}) a standalone writable cluster with the data it has; the old primary keeps its data but is no longer linked, and re-adding a region to a datastore wipes that region's data`,
  };
}

/** `err` with the offer attached where one applies (the card then shows the last resort). */
export async function withOffer(
  err: unknown,
  offer: () => Promise<LastResortOffer | null>,
): Promise<unknown> {
  if (!(err instanceof DrError)) return err;
  const o = await offer().catch(() => null);
  if (o) err.lastResort = o;
  return err;
}
