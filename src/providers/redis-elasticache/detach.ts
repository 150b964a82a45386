/**
 * The last resort of the Global Datastore (issue 20): where FailoverGlobalReplicationGroup cannot
 * switch while the primary's region is out, DisassociateGlobalReplicationGroup removes the
 * secondary from the datastore; it "will no longer receive updates from the primary cluster, but
 * will remain as a standalone cluster in that Amazon region" (API_DisassociateGlobalReplicationGroup),
 * and a standalone cluster takes writes. One-way: linking again means adding a region to a
 * datastore, which wipes the added cluster's data (dg Redis-Global-Datastores-Console, "Adding a
 * Region to a global datastore"). So it is only offered (a LastResortOffer on the step's error),
 * never run by a Retry or an Approve; the engine runs it after its own two-person confirmation.
 */
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { poll, type RedisCtx } from '../redis/connection.js';
import { inspect } from '../redis/state.js';
import type { Progress, PromotionResult } from '../types.js';
import { memberOf, NAME, type DatastoreState, type ElastiCacheApi } from './api.js';
import { describeLag, type LagMetric } from './lag-metric.js';
import { failbackAfterDetach } from './last-resort.js';
import { offsetGap } from './switch.js';

/** After the call: `target` no longer a member and its endpoint a master (a standalone writer). */
async function awaitStandalone(
  ctx: RedisCtx,
  api: ElastiCacheApi,
  target: RegionRole,
  timeoutSeconds: number,
  progress: Progress,
): Promise<void> {
  const g = api.member(target);
  let last: DatastoreState | undefined;
  const done = await poll(timeoutSeconds * 1000, async () => {
    last = await api.describe(target);
    const left = !memberOf(last, g);
    const s = left ? await inspect(ctx, target) : null;
    if (s?.reachable && s.role === 'master') return true;
    progress(
      `global datastore ${last.status}; waiting for ${g.replicationGroupId} to ${left ? 'take writes' : 'leave it'}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    return undefined;
  });
  if (!done)
    throw new ProviderError(
      NAME,
      `DisassociateGlobalReplicationGroup was sent but ${g.replicationGroupId} is not a standalone writer after ${timeoutSeconds} s (datastore ${last?.status ?? 'unknown'}); it may still be running: check the console, then Retry (a detach already done is found done)`,
      { code: 'timeout', retryable: true },
    );
}

/** Detach `target` from the datastore and wait until its endpoint takes writes; idempotent. */
export async function detach(
  ctx: RedisCtx,
  api: ElastiCacheApi,
  metric: LagMetric,
  opts: { target: RegionRole; progress: Progress; timeoutSeconds: number },
): Promise<PromotionResult> {
  const { target, progress } = opts;
  const g = api.member(target);
  const started = Date.now();
  const st = await api.describe(target);
  const m = memberOf(st, g);
  const t = await inspect(ctx, target);
  if (!m) {
    if (t.reachable && t.role === 'master')
      return {
        noop: true,
        mode: 'unplanned',
        summary: `${g.replicationGroupId} is already detached and takes writes: nothing to do; ${failbackAfterDetach(api)}`,
        evidence: { datastore: st.status, detached: true },
        rpo: {
          component: 'cache',
          bytes: null,
          seconds: null,
          description: 'no detach by this step',
        },
      };
    throw new PreconditionFailed(
      `${g.replicationGroupId} in ${g.region} is not a member of the global datastore and its endpoint does not take writes: check the console`,
      { code: 'wrong-target' },
    );
  }
  // DeleteGlobalReplicationGroup: "you must DisassociateGlobalReplicationGroup to remove the secondary clusters": a primary is never detached.
  if (m.role.toUpperCase() === 'PRIMARY')
    throw new PreconditionFailed(
      `${g.replicationGroupId} is the datastore's PRIMARY: AWS detaches only secondaries, and it already takes writes; nothing was sent`,
      { code: 'wrong-target' },
    );
  // API_DisassociateGlobalReplicationGroup: InvalidGlobalReplicationGroupState, "not available or in primary-only state".
  if (st.status !== 'available') {
    const e = new PreconditionFailed(
      `the global datastore is ${st.status}: AWS refuses DisassociateGlobalReplicationGroup (InvalidGlobalReplicationGroupState) until it is available; nothing was sent. Detach again once the console shows it available`,
    );
    e.lastResort = {
      action: 'detach-cache',
      why: `the datastore was ${st.status} at the last detach attempt`,
    };
    throw e;
  }
  const gap = await offsetGap(ctx, target).catch(() => null);
  const cw = gap === null ? await metric.read(target) : null;
  progress(
    `DisassociateGlobalReplicationGroup: ${g.replicationGroupId} leaves the global datastore (last resort)`,
  );
  await api.disassociate(target);
  await awaitStandalone(ctx, api, target, opts.timeoutSeconds, progress);
  const lag =
    gap !== null
      ? `${target} was ${gap} B behind the primary`
      : cw && !('error' in cw)
        ? `the lag before the detach was ${describeLag(cw)}`
        : `the lag at the detach could not be read${cw ? ` (${describeLag(cw)})` : ''}`;
  return {
    noop: false,
    mode: 'unplanned',
    summary: `${g.replicationGroupId} (${g.region}) detached by DisassociateGlobalReplicationGroup (last resort) in ${Date.now() - started} ms: a standalone writable cluster; ${failbackAfterDetach(api)}`,
    evidence: {
      method: 'DisassociateGlobalReplicationGroup',
      offsetGapBytes: gap,
      ...(cw && !('error' in cw) ? { cloudwatchLagSeconds: cw.seconds } : {}),
      totalMs: Date.now() - started,
    },
    rpo: {
      component: 'cache',
      bytes: gap,
      seconds: cw && !('error' in cw) ? cw.seconds : null,
      description: `last resort: writes the primary took and had not replicated when its region went out are lost; ${lag}`,
    },
  };
}
