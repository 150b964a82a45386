/**
 * Preflight readiness of a Redis target: reads both sides and judges the pair (replica ready to
 * promote, master unreachable, interrupted promotion, stale or restarted old master, two masters
 * with no common history), with the expected loss a person approves.
 */
import type { ComponentReadiness, Evidence, RegionRole } from '../../domain/types.js';
import { formatBytes } from '../bytes.js';
import { other, where, type RedisCtx } from './connection.js';
import { expectedLoss, restartedLoss, staleBytes } from './loss.js';
import {
  follows,
  inspect,
  interrupted,
  restartedOldMaster,
  type Reachable,
  type RestartedHistory,
  type SideState,
  type Unreachable,
} from './state.js';

/** The pair being judged, with what every verdict on it carries. */
interface Judged {
  target: RegionRole;
  src: RegionRole;
  /** The target, reachable. */
  t: Reachable;
  base: { component: 'cache'; primaryReachable: boolean };
  details: Evidence;
}

export async function readiness(ctx: RedisCtx, target: RegionRole): Promise<ComponentReadiness> {
  const src = other(target);
  const [t, o] = await Promise.all([inspect(ctx, target), inspect(ctx, src)]);
  const primaryReachable = o.reachable && o.role === 'master';
  const base = { component: 'cache' as const, primaryReachable };
  if (!t.reachable) {
    return {
      ...base,
      status: 'blocked',
      summary: `${where(ctx, target)} is unreachable: ${t.error.message}`,
      details: { targetReachable: false, error: t.error.message },
      planFacts: { targetReachable: false },
    };
  }
  const p: Judged = { target, src, t, base, details: readinessDetails(t, o, primaryReachable) };
  if (t.role === 'master') return masterTarget(ctx, p, o);
  if (o.reachable) return replicaTarget(ctx, p, o);
  return unplannedTarget(p, o);
}

function readinessDetails(t: Reachable, o: SideState, primaryReachable: boolean): Evidence {
  return {
    targetRole: t.role,
    replid: t.replid,
    replicaOffset: t.replicaOffset,
    linkUp: t.linkUp,
    masterLastIoSecondsAgo: t.lastIoSecondsAgo,
    masterLinkDownSinceSeconds: t.linkDownSinceSeconds,
    primaryReachable,
    ...(t.role === 'master'
      ? { replid2: t.replid2, secondReplOffset: t.secondReplOffset, offset: t.offset }
      : {}),
    ...(o.reachable
      ? {
          otherRole: o.role,
          otherReplid: o.replid,
          otherReplid2: o.replid2,
          otherSecondReplOffset: o.secondReplOffset,
          otherOffset: o.offset,
        }
      : { otherError: o.error.message }),
  };
}

/** The target is a master already: a no-op, the end of an interrupted promotion, or a stale old master. */
async function masterTarget(ctx: RedisCtx, p: Judged, o: SideState): Promise<ComponentReadiness> {
  const { target, src, t, base, details } = p;
  if (o.reachable && interrupted(t, o)) {
    return {
      ...base,
      status: 'warning',
      summary: `${target} was promoted but ${src} is still a master (an interrupted promotion): promoting again demotes ${src}, dropping writes it took since (${formatBytes(Math.max(0, o.offset - (t.secondReplOffset ?? o.offset)))})`,
      details,
      planFacts: { targetRole: 'master', otherRole: 'stale-master', replid: t.replid },
    };
  }
  if (o.reachable && interrupted(o, t)) return staleMasterTarget(p, o);
  // Only the failback target: its runbook resyncs the target from the side that serves before promoting it.
  const history = o.reachable && target === 'primary' ? restartedOldMaster(o, t) : null;
  if (o.reachable && history) return restartedMasterTarget(ctx, p, o, history);
  if (o.reachable && o.role === 'master') {
    return {
      ...base,
      status: 'blocked',
      summary: `both ${target} and ${src} are masters and share no replication history that says which holds the newer data: ${target} is not a replica of ${src}`,
      details,
      planFacts: { targetRole: 'master', otherRole: 'master' },
    };
  }
  return {
    ...base,
    status: 'ready',
    summary: `${target} is already a master: promotion will be a no-op`,
    details,
    planFacts: { targetRole: 'master', replid: t.replid },
  };
}

/** Failback after an unplanned failover that could not demote this side: it is the old master, and the resync drops its late writes. */
function staleMasterTarget(p: Judged, o: Reachable): ComponentReadiness {
  const { target, src, t, base, details } = p;
  const lost = staleBytes(o, t);
  return {
    ...base,
    status: 'warning',
    summary: `${target} is the old master: ${src} was promoted from it while it stayed a master; the resync makes it a replica of ${src}, dropping ${formatBytes(lost)} of writes it took since`,
    details: { ...details, staleBytes: lost },
    planFacts: { targetRole: 'stale-master', replid: t.replid, otherReplid: o.replid },
    ...(lost > 0
      ? {
          expectedLoss: {
            bytes: lost,
            seconds: null,
            description: `${target} took ${formatBytes(lost)} of writes after ${src} was promoted from it; the resync drops them`,
          },
        }
      : {}),
    warnings: [
      `${target} is still a master beside ${src}: until the resync runs, clients that reach it write to a copy that will be dropped`,
    ],
  };
}

/** The target is the old master restarted with a new replication id: the resync replaces its data, measured here. */
async function restartedMasterTarget(
  ctx: RedisCtx,
  p: Judged,
  o: Reachable,
  history: RestartedHistory,
): Promise<ComponentReadiness> {
  const { target, src, t, base, details } = p;
  const loss = await restartedLoss(ctx, target, t, src, o);
  const promotedAt = (o.secondReplOffset ?? 1) - 1;
  const byOffset =
    history === 'older-stream'
      ? [
          `${target} is judged the stale side by offsets only: its history (stream ${t.replid2}) ends at offset ${(t.secondReplOffset ?? 1) - 1}, before ${src} was promoted at ${promotedAt}, and Redis keeps no link between the two streams. Read the key comparison before approving: keys that ${src} never had mean ${target} holds data of its own.`,
        ]
      : [];
  return {
    ...base,
    status: 'warning',
    summary: `${target} is the old master, back with a new replication id beside ${src} (promoted from a replica at offset ${promotedAt}): the resync makes it a replica of ${src}; ${loss.description}`,
    details: {
      ...details,
      staleHistory: history,
      staleKeys: loss.keys,
      staleKeysCompared: loss.compared,
      staleKeysNotOnWriter: loss.notOnWriter,
      staleKeysDiffering: loss.differing,
      staleBytes: loss.bytes,
    },
    planFacts: {
      targetRole: 'stale-master',
      history: 'restarted',
      replid: t.replid,
      otherReplid: o.replid,
    },
    ...(loss.lost
      ? { expectedLoss: { bytes: loss.bytes, seconds: null, description: loss.description } }
      : {}),
    warnings: [
      `${target} is a master beside ${src}: until the resync runs, clients that reach it write to a copy that will be dropped`,
      ...byOffset,
    ],
  };
}

/** The target is a replica and the other side answers: a planned, zero-loss switch if it is the target's master. */
function replicaTarget(ctx: RedisCtx, p: Judged, o: Reachable): ComponentReadiness {
  const { target, src, t, base, details } = p;
  if (o.role !== 'master') {
    return {
      ...base,
      status: 'blocked',
      summary: `neither side is a master: ${src} is a replica too`,
      details,
      planFacts: { targetRole: 'replica', otherRole: 'replica' },
    };
  }
  if (!follows(t, o)) {
    return {
      ...base,
      status: 'blocked',
      summary: `wrong target: ${target} follows replication id ${t.replid}, ${src} has ${o.replid}: not a replica of ${src}`,
      details,
      planFacts: { targetRole: 'replica', replid: t.replid, otherReplid: o.replid },
    };
  }
  const gap = Math.max(0, o.offset - (t.replicaOffset ?? 0));
  const warnings = t.linkUp
    ? []
    : [
        `${target}'s link to ${src} is down: a planned failover waits up to ${ctx.opts.promoteTimeoutSeconds} s for it to catch up`,
      ];
  return {
    ...base,
    status: t.linkUp ? 'ready' : 'warning',
    summary: `${target} replica, link ${t.linkUp ? 'up' : 'DOWN'}, offset gap ${formatBytes(gap)}; ${src} reachable: planned, zero loss`,
    details: { ...details, offsetGapBytes: gap },
    planFacts: { targetRole: 'replica', replid: t.replid, primaryReachable: true },
    ...(warnings.length ? { warnings } : {}),
  };
}

/** The target is a replica and its master is unreachable: unplanned, with the loss window the replica can tell. */
function unplannedTarget(p: Judged, o: Unreachable): ComponentReadiness {
  const { target, src, t, base, details } = p;
  const { contactLostAt, ...loss } = expectedLoss(t, o.error.message);
  return {
    ...base,
    status: 'warning',
    summary: `${target} replica; ${src} unreachable: unplanned, ${loss.description}`,
    details: { ...details, masterContactLostAt: contactLostAt },
    planFacts: {
      targetRole: 'replica',
      replid: t.replid,
      primaryReachable: false,
      replicaOffset: t.replicaOffset,
    },
    expectedLoss: loss,
    warnings: [
      `${src} cannot be demoted while unreachable: when it comes back it must become a replica before it takes writes`,
    ],
  };
}
