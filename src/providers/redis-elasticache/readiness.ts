/**
 * Readiness of a Global Datastore target: the datastore's status, each member's role and link
 * state, the lag where INFO replication answers, the rights the read calls prove, and what this
 * driver cannot do, all on the approval card before anyone approves.
 */
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import { other, withClient, type RedisCtx } from '../redis/connection.js';
import { inspect } from '../redis/state.js';
import { memberOf, type DatastoreState, type ElastiCacheApi } from './api.js';
import { describeLag, type LagMetric, type LagReading } from './lag-metric.js';
import { isPrimary, offsetGap, refusal } from './switch.js';

/** What the card says whatever the state: the limits of this driver. */
const LIMITS = [
  'rights: the read calls (DescribeGlobalReplicationGroups, and CloudWatch GetMetricData where the lag row shows a datapoint) succeeded; FailoverGlobalReplicationGroup cannot be dry-run, so its permission is known only when it is sent',
  'DisassociateGlobalReplicationGroup is sent only as the last resort, offered when the failover cannot be done while the primary region is out, on its own confirmation by two people: it is one-way and re-adding a region wipes its data',
];

/**
 * Whether the source endpoint knows CLIENT PAUSE (services that forbid a command rename or drop
 * it): null when COMMAND INFO itself is not allowed to the bot's user.
 */
export async function canPause(ctx: RedisCtx, src: RegionRole): Promise<boolean | null> {
  return withClient(ctx, src, 'COMMAND INFO client|pause', async (r) => {
    const out = (await r.call('COMMAND', 'INFO', 'client|pause')) as unknown[];
    return Array.isArray(out) && out[0] !== null && out[0] !== undefined;
  }).catch(() => null);
}

function rows(api: ElastiCacheApi, st: DatastoreState, target: RegionRole): string {
  const row = (side: RegionRole): string => {
    const m = memberOf(st, api.member(side));
    return `${side} ${api.member(side).replicationGroupId}@${api.member(side).region}: ${m ? `${m.role} ${m.status}` : 'not a member'}`;
  };
  return `datastore ${st.status}; ${row(target)}; ${row(other(target))}`;
}

/**
 * The lag with its source: the offsets where INFO replication answers on both endpoints, the
 * CloudWatch metric beside it (or instead of it), each with what it measures and how old it is.
 */
function lagLine(gap: number | null, cw: LagReading): string {
  const info =
    gap === null
      ? 'INFO replication does not answer on both endpoints'
      : `${formatBytes(gap)} (INFO replication offsets, now)`;
  return `lag ${info}; ${describeLag(cw)}`;
}

/** What may be lost without a pause: the offsets where they answer, else the metric. */
function measuredLag(gap: number | null, cw: LagReading): string {
  if (gap !== null) return `${formatBytes(gap)} by INFO replication offsets`;
  return 'error' in cw
    ? 'unknown: neither INFO replication nor CloudWatch answers'
    : describeLag(cw);
}

function details(st: DatastoreState, gap: number | null, cw: LagReading) {
  return {
    datastore: st.status,
    members: st.members.map((m) => `${m.replicationGroupId}@${m.region} ${m.role} ${m.status}`),
    offsetGapBytes: gap,
    cloudwatchLagSeconds: 'error' in cw ? null : cw.seconds,
    cloudwatchLagAgeSeconds: 'error' in cw ? null : cw.ageSeconds,
    ...('error' in cw ? { cloudwatchError: cw.error } : {}),
  };
}

const noPauseReason = (pauseWrites: boolean, reachable: boolean, src: RegionRole): string =>
  !pauseWrites
    ? 'pauseWrites is off'
    : reachable
      ? 'the endpoint refuses CLIENT PAUSE'
      : `${src} is unreachable`;

export async function readiness(
  ctx: RedisCtx,
  api: ElastiCacheApi,
  metric: LagMetric,
  target: RegionRole,
  pauseWrites: boolean,
): Promise<ComponentReadiness> {
  const src = other(target);
  let st: DatastoreState;
  try {
    st = await api.describe(target);
  } catch (err) {
    const msg = err instanceof DrError ? err.message : String(err);
    return {
      component: 'cache',
      status: 'blocked',
      summary: `cannot read the global datastore from ${api.member(target).region}: ${msg}`,
      details: { error: msg },
      planFacts: { driver: 'elasticache-global' },
      warnings: ['the bot needs elasticache:DescribeGlobalReplicationGroups (docs/permissions.md)'],
    };
  }
  const o = await inspect(ctx, src).catch(() => null);
  const primaryReachable = !!o?.reachable;
  const [gap, cw] = await Promise.all([
    offsetGap(ctx, target).catch(() => null),
    metric.read(target),
  ]);
  const lag = lagLine(gap, cw);
  const base = { component: 'cache' as const, primaryReachable, details: details(st, gap, cw) };
  const planFacts = {
    driver: 'elasticache-global',
    datastore: st.status,
    targetRole: memberOf(st, api.member(target))?.role ?? null,
  };
  if (isPrimary(api, st, target) && st.status === 'available')
    return {
      ...base,
      status: 'ready',
      summary: `${rows(api, st, target)}: ${target} is already PRIMARY, the failover is a no-op`,
      planFacts,
      warnings: LIMITS,
    };
  const why = refusal(api, st, target);
  if (why)
    return {
      ...base,
      status: 'blocked',
      summary: `${rows(api, st, target)}: ${why}`,
      planFacts,
      warnings: LIMITS,
    };
  const known = pauseWrites && primaryReachable ? await canPause(ctx, src) : false;
  const pausable = known !== false;
  const measured = measuredLag(gap, cw);
  const lossNote =
    known === true
      ? 'planned: writes are paused (CLIENT PAUSE WRITE) until the lag is 0, then the failover: zero loss'
      : known === null
        ? `planned: writes are paused (CLIENT PAUSE WRITE) until the lag is 0, then the failover: zero loss; if the endpoint refuses the pause, the switch may lose up to the measured lag (${measured})`
        : `writes cannot be paused (${noPauseReason(pauseWrites, primaryReachable, src)}): the switch may lose up to the measured lag (${measured})`;
  return {
    ...base,
    status: pausable ? 'ready' : 'warning',
    summary: `${rows(api, st, target)}; ${lag}`,
    planFacts: { ...planFacts, pausable },
    ...(pausable
      ? {}
      : {
          expectedLoss: {
            bytes: gap,
            seconds: 'error' in cw ? null : cw.seconds,
            description: lossNote,
          },
        }),
    // Where the loss line carries the note, once is enough.
    warnings: pausable ? [lossNote, ...LIMITS] : LIMITS,
  };
}
