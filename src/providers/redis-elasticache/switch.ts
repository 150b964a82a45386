/**
 * The Global Datastore switch: checks what AWS would refuse before calling, pauses writes on the
 * primary endpoint where the service allows it and waits for the secondary to catch up, calls
 * FailoverGlobalReplicationGroup naming the target as the new primary, and waits for the roles.
 */
import type { Mode, RegionRole, RpoMeasurement } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import { other, poll, withClient, type RedisCtx } from '../redis/connection.js';
import { inspect, parseInfo } from '../redis/state.js';
import type { Progress, PromotionResult } from '../types.js';
import { memberOf, NAME, type DatastoreState, type ElastiCacheApi } from './api.js';
import { describeLag, type LagMetric, type LagReading } from './lag-metric.js';
import { detachedNote, detachOffer, withOffer } from './last-resort.js';

/**
 * Why AWS would refuse a failover to `target`, or null. API_FailoverGlobalReplicationGroup:
 * InvalidGlobalReplicationGroupState when the datastore is not `available`; a datastore whose
 * only member is the primary has nothing to fail over to (Redis-Global-Datastores-Console).
 */
export function refusal(
  api: ElastiCacheApi,
  st: DatastoreState,
  target: RegionRole,
): string | null {
  const cfg = api.member(target);
  const tm = memberOf(st, cfg);
  const detached = detachedNote(api, st);
  if (detached) return detached;
  if (!tm)
    return `replication group ${cfg.replicationGroupId} in ${cfg.region} is not a member of the global datastore (members: ${st.members.map((m) => `${m.replicationGroupId}@${m.region}`).join(', ') || 'none'}): check components.redis.elasticache.${target}`;
  if (st.status !== 'available')
    return `the global datastore is ${st.status}, not available: AWS refuses a failover (InvalidGlobalReplicationGroupState) until it is`;
  if (!st.members.some((m) => m.role.toUpperCase() === 'SECONDARY'))
    return 'the global datastore is primary-only (no secondary member): there is nothing to fail over to';
  if (tm.role.toUpperCase() !== 'PRIMARY' && tm.status !== 'associated')
    return `${cfg.replicationGroupId} is ${tm.status}, not associated: it does not receive the primary's data`;
  return null;
}

export const isPrimary = (api: ElastiCacheApi, st: DatastoreState, side: RegionRole): boolean =>
  memberOf(st, api.member(side))?.role.toUpperCase() === 'PRIMARY';

/** Bytes the target's endpoint is behind the source's, where INFO replication answers on both. */
export async function offsetGap(ctx: RedisCtx, target: RegionRole): Promise<number | null> {
  const [t, o] = await Promise.all([inspect(ctx, target), inspect(ctx, other(target))]);
  if (!t.reachable || !o.reachable || t.role !== 'replica' || t.replicaOffset === null) return null;
  return Math.max(0, o.offset - t.replicaOffset);
}

export interface Pause {
  paused: boolean;
  /** The source's offset once writes stopped, when paused. */
  finalOffset: number | null;
  why?: string;
}

/** CLIENT PAUSE WRITE on the source endpoint; a service that forbids it answers an error, kept as `why`. */
export async function pauseWrites(ctx: RedisCtx, src: RegionRole, ms: number): Promise<Pause> {
  try {
    return await withClient(ctx, src, 'CLIENT PAUSE WRITE', async (r) => {
      await r.call('CLIENT', 'PAUSE', String(ms), 'WRITE');
      const info = parseInfo(await r.info('replication'));
      return { paused: true, finalOffset: Number(info.get('master_repl_offset') ?? 0) };
    });
  } catch (err) {
    return { paused: false, finalOffset: null, why: (err as Error).message };
  }
}

export async function unpause(ctx: RedisCtx, src: RegionRole): Promise<void> {
  await withClient(ctx, src, 'CLIENT UNPAUSE', (r) => r.call('CLIENT', 'UNPAUSE')).catch(
    () => undefined,
  );
}

/**
 * Planned, paused: wait until the target applied the source's final offset; unpause and throw on
 * timeout (`driver` names the driver in the error, `check` what to look at).
 */
export async function catchUp(
  ctx: RedisCtx,
  target: RegionRole,
  finalOffset: number,
  progress: Progress,
  driver: { name: string; check: string } = { name: NAME, check: "the datastore's replication" },
) {
  const ok = await poll(ctx.opts.promoteTimeoutSeconds * 1000, async () => {
    const t = await inspect(ctx, target);
    if (!t.reachable || t.replicaOffset === null) return undefined;
    if (t.replicaOffset >= finalOffset) return true;
    progress(`waiting for ${target}: ${formatBytes(finalOffset - t.replicaOffset)} behind`);
    return undefined;
  });
  if (!ok) {
    await unpause(ctx, other(target));
    throw new ProviderError(
      driver.name,
      `${target} did not reach the primary's offset ${finalOffset} within ${ctx.opts.promoteTimeoutSeconds} s; writes were let through again and nothing was switched. Check ${driver.check} and retry, or choose an unplanned failover.`,
      { code: 'timeout', retryable: true },
    );
  }
}

/** After the call: the target PRIMARY and the datastore available again (API_GlobalReplicationGroupMember). */
async function awaitRoles(
  api: ElastiCacheApi,
  target: RegionRole,
  timeoutSeconds: number,
  progress: Progress,
): Promise<DatastoreState> {
  let last: DatastoreState | undefined;
  const done = await poll(timeoutSeconds * 1000, async () => {
    last = await api.describe(target);
    if (last.status === 'available' && isPrimary(api, last, target)) return last;
    progress(`global datastore ${last.status}; waiting for ${target} to become PRIMARY`);
    await new Promise((r) => setTimeout(r, 200));
    return undefined;
  });
  if (!done)
    throw new ProviderError(
      NAME,
      `the failover was requested but ${target} is not PRIMARY after ${timeoutSeconds} s (datastore ${last?.status ?? 'unknown'}); it may still be running: check the console before retrying`,
      { code: 'timeout', retryable: true },
    );
  return done;
}

function rpoOf(
  mode: Mode,
  pause: Pause,
  gap: number | null,
  target: RegionRole,
  cw: LagReading | null,
): RpoMeasurement {
  if (pause.paused)
    return {
      component: 'cache',
      bytes: 0,
      seconds: 0,
      description: `zero loss: writes were paused and ${target} had applied the primary's whole stream before the failover`,
    };
  const seconds = cw && !('error' in cw) ? cw.seconds : null;
  return {
    component: 'cache',
    bytes: gap,
    seconds,
    description:
      gap !== null
        ? `${mode}: writes not paused; ${target} was ${formatBytes(gap)} behind when the failover was requested: up to that is lost`
        : cw && !('error' in cw)
          ? `${mode}: writes not paused; INFO replication did not answer on both endpoints; the lag before the failover was ${describeLag(cw)}: up to that is lost`
          : `${mode}: writes not paused; the lag at the failover could not be read (INFO replication did not answer on both endpoints${cw ? `; ${describeLag(cw)}` : ''})`,
  };
}

/** Promote `target` through the control plane; see the module comment for the order. */
export async function promote(
  ctx: RedisCtx,
  api: ElastiCacheApi,
  metric: LagMetric,
  opts: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
    pause: boolean;
    timeoutSeconds: number;
  },
): Promise<PromotionResult> {
  const { target, mode, progress } = opts;
  const src = other(target);
  const started = Date.now();
  const st = await api.describe(target);
  if (isPrimary(api, st, target) && st.status === 'available')
    return {
      noop: true,
      mode,
      summary: `${api.member(target).replicationGroupId} is already the PRIMARY: nothing to do`,
      evidence: { datastore: st.status },
      rpo: { component: 'cache', bytes: 0, seconds: 0, description: 'no failover by this step' },
    };
  const why = refusal(api, st, target);
  // A datastore stuck not available while the primary's region is out: the last resort is offered.
  const offer = (cause: string) => () => detachOffer(ctx, api, st, target, mode, cause);
  if (why)
    throw await withOffer(
      new PreconditionFailed(why, { code: 'wrong-target' }),
      st.status !== 'available' && !detachedNote(api, st)
        ? offer(`datastore ${st.status}`)
        : () => Promise.resolve(null),
    );
  const pause: Pause =
    mode === 'planned' && opts.pause
      ? await pauseWrites(ctx, src, (opts.timeoutSeconds + ctx.opts.promoteTimeoutSeconds) * 1000)
      : { paused: false, finalOffset: null };
  if (pause.paused) await catchUp(ctx, target, pause.finalOffset!, progress);
  else if (pause.why) progress(`writes could not be paused (${pause.why}): switching with the lag`);
  const gap = pause.paused ? 0 : await offsetGap(ctx, target).catch(() => null);
  // Where the offsets cannot be read (the primary's region is out), the metric is the measure.
  const cw = gap === null ? await metric.read(target) : null;
  progress(
    `FailoverGlobalReplicationGroup: ${api.member(target).replicationGroupId} becomes PRIMARY`,
  );
  try {
    await api.failover(target);
    await awaitRoles(api, target, opts.timeoutSeconds, progress);
  } catch (err) {
    // Refused, or requested and never done: with the primary's region out, the last resort.
    throw await withOffer(err, offer((err as Error).message));
  } finally {
    if (pause.paused) await unpause(ctx, src);
  }
  const rpo = rpoOf(mode, pause, gap, target, cw);
  return {
    noop: false,
    mode,
    summary: `${api.member(target).replicationGroupId} (${api.member(target).region}) is PRIMARY after FailoverGlobalReplicationGroup in ${Date.now() - started} ms; ${pause.paused ? 'writes paused, zero loss' : rpo.description}`,
    evidence: {
      method: 'FailoverGlobalReplicationGroup',
      paused: pause.paused,
      ...(pause.why ? { pauseRefused: pause.why } : {}),
      offsetGapBytes: gap,
      ...(cw && !('error' in cw)
        ? { cloudwatchLagSeconds: cw.seconds, cloudwatchLagAgeSeconds: cw.ageSeconds }
        : {}),
      totalMs: Date.now() - started,
    },
    rpo,
  };
}
