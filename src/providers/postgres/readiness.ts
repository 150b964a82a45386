/**
 * Readiness of a side to become the writer, as the approval card shows it: the checks that block
 * a wrong target, and what a planned (other side reachable) or unplanned failover means now.
 * A stale old primary's readiness (failback) is in resync.ts.
 */
import type { ComponentReadiness, Evidence, RegionRole } from '../../domain/types.js';
import { formatBytes } from '../bytes.js';
import {
  other,
  type PgContext,
  type Reachable,
  type SideState,
  type Unreachable,
} from './context.js';
import { expectedId, identityProblem, notPromotedAfter, notProvenPromoted } from './identity.js';
import { expectedLoss } from './loss.js';
import { lsnDiff } from './lsn.js';
import { divergence, staleReadiness } from './resync.js';
import { inspect, writerReading } from './state.js';

/** Both sides' readings in one readiness round, and what every answer repeats. */
interface Round {
  ctx: PgContext;
  target: RegionRole;
  t: Reachable;
  o: SideState;
  base: { component: 'database'; primaryReachable: boolean };
  details: Evidence;
}

/** How ready `target` is to become the writer now, and what promoting it would mean. */
export async function readiness(ctx: PgContext, target: RegionRole): Promise<ComponentReadiness> {
  const src = other(target);
  const [t, o] = await Promise.all([inspect(ctx, target), inspect(ctx, src)]);
  const primaryReachable = o.reachable && !o.inRecovery;
  const base = { component: 'database' as const, primaryReachable };
  if (!t.reachable) {
    return {
      ...base,
      status: 'blocked',
      summary: `${ctx.where(target)} is unreachable: ${t.error.message}`,
      details: { targetReachable: false, error: t.error.message },
      planFacts: { targetReachable: false },
    };
  }
  const details = readinessDetails(t, o, primaryReachable);
  const round: Round = { ctx, target, t, o, base, details };
  const wrong = await blockedTarget(round);
  if (wrong) return wrong;
  if (!t.inRecovery) return writerReadiness(round);
  if (o.reachable && o.inRecovery) {
    return {
      ...base,
      status: 'blocked',
      summary: `neither side accepts writes: ${src} is in recovery too; find the real writer before failing over`,
      details,
      planFacts: { targetRole: 'standby', systemId: t.systemId, otherRole: 'standby' },
    };
  }
  if (o.reachable) return plannedReadiness(round, o);
  return unplannedReadiness(round, o);
}

function readinessDetails(t: Reachable, o: SideState, primaryReachable: boolean): Evidence {
  return {
    targetInRecovery: t.inRecovery,
    systemId: t.systemId,
    receiveLsn: t.receiveLsn,
    replayLsn: t.replayLsn,
    replayGapBytes: t.replayGapBytes,
    lastReplayAt: t.lastReplayAt,
    receiverStatus: t.receiver?.status ?? null,
    primaryReachable,
    ...(o.reachable
      ? { otherSystemId: o.systemId, otherInRecovery: o.inRecovery, otherLsn: o.currentLsn }
      : { otherError: o.error.message }),
  };
}

/** Blocked when the target is not this cluster's server, or a writer not proven promoted. */
async function blockedTarget(round: Round): Promise<ComponentReadiness | null> {
  const { ctx, target, t, o, base, details } = round;
  const src = other(target);
  if (o.reachable && o.systemId !== t.systemId) {
    return {
      ...base,
      status: 'blocked',
      summary: `wrong target: ${target} has system identifier ${t.systemId}, ${src} has ${o.systemId}: not the same cluster`,
      details,
      planFacts: {
        targetRole: t.inRecovery ? 'standby' : 'writer',
        systemId: t.systemId,
        otherSystemId: o.systemId,
      },
    };
  }
  const wrongTarget = await identityProblem(ctx, target, t, o);
  if (wrongTarget) {
    return {
      ...base,
      status: 'blocked',
      summary: `wrong target: ${wrongTarget}`,
      details,
      planFacts: { targetRole: t.inRecovery ? 'standby' : 'writer', systemId: t.systemId },
    };
  }
  if (!t.inRecovery && !o.reachable) {
    const unproven = await notProvenPromoted(ctx, target, t, o);
    if (unproven) {
      return {
        ...base,
        status: 'blocked',
        summary: `cannot confirm the target: ${unproven}`,
        details,
        planFacts: { targetRole: 'writer', systemId: t.systemId, timeline: t.timeline },
      };
    }
  }
  return null;
}

/** The target accepts writes already: a stale old primary, a second writer, or promoted. */
async function writerReadiness(round: Round): Promise<ComponentReadiness> {
  const { ctx, target, t, o, base, details } = round;
  const src = other(target);
  const stale = o.reachable && !o.inRecovery ? await divergence(ctx, target) : null;
  if (stale) return staleReadiness(ctx, target, t, stale, base, details);
  if (o.reachable && !o.inRecovery && !o.readOnlyFenced) {
    return {
      ...base,
      status: 'blocked',
      summary: `both ${target} and ${src} accept writes (two writers): decide which one holds the data before any failover`,
      details,
      planFacts: { targetRole: 'writer', systemId: t.systemId, otherRole: 'writer' },
    };
  }
  const behind = o.reachable && !o.inRecovery ? await notPromotedAfter(ctx, target, t, o) : null;
  if (behind) {
    return {
      ...base,
      status: 'blocked',
      summary: `diverged target: ${behind}`,
      details,
      planFacts: { targetRole: 'diverged-writer', systemId: t.systemId, timeline: t.timeline },
    };
  }
  return {
    ...base,
    status: 'ready',
    summary: `${target} is already the writer (not in recovery, timeline ${t.timeline ?? '?'}): promotion will be a no-op`,
    details,
    planFacts: { targetRole: 'writer', systemId: t.systemId },
  };
}

/** The other side is the writer: a planned failover, zero loss once the target streams. */
function plannedReadiness(round: Round, o: Reachable): ComponentReadiness {
  const { target, t, base, details } = round;
  const src = other(target);
  const lagBytes =
    o.currentLsn && t.replayLsn ? Math.max(0, lsnDiff(o.currentLsn, t.replayLsn)) : null;
  // An idle primary writes no transactions: the last replayed one ages without any lag.
  const lagSeconds = lagBytes === 0 || t.receiveLsn === t.replayLsn ? 0 : t.lastReplayAgeSeconds;
  const streaming = t.receiver?.status === 'streaming';
  const warnings = [
    ...(streaming
      ? []
      : [
          `${target} is not streaming from ${src} (receiver ${t.receiver?.status ?? 'not running'}): a planned failover is refused until it is`,
        ]),
    ...(t.replayPaused
      ? [
          `WAL replay is paused on ${target}: a planned failover is refused until someone resumes it (SELECT pg_wal_replay_resume())`,
        ]
      : []),
  ];
  return {
    ...base,
    status: warnings.length === 0 ? 'ready' : 'warning',
    summary: `${target} in recovery, ${streaming ? 'streaming' : 'NOT streaming'}, lag ${lagBytes === null ? '?' : formatBytes(lagBytes)} / ${lagSeconds === null ? '?' : `${lagSeconds.toFixed(1)} s`}; ${src} reachable: planned, zero loss`,
    details: { ...details, lagBytes, lagSeconds },
    planFacts: { targetRole: 'standby', systemId: t.systemId, primaryReachable: true },
    ...(warnings.length ? { warnings } : {}),
  };
}

/** The other side is unreachable: an unplanned failover, with its expected loss. */
async function unplannedReadiness(round: Round, o: Unreachable): Promise<ComponentReadiness> {
  const { ctx, target, t, base, details } = round;
  const src = other(target);
  const { evidence: lossEvidence, ...loss } = expectedLoss(
    ctx,
    target,
    t,
    o.error.message,
    await writerReading(ctx, src, t),
  );
  const unconfirmed = (await expectedId(ctx))
    ? []
    : [
        `${target}'s system identifier ${t.systemId} cannot be checked against ${src} (unreachable) and none is configured or remembered: make sure components.postgres.${target} is this cluster's standby, or set components.postgres.systemIdentifier`,
      ];
  return {
    ...base,
    status: 'warning',
    summary: `${target} in recovery; ${src} unreachable: unplanned, ${loss.description}`,
    details: {
      ...details,
      lostBytesKnown: loss.bytes ?? null,
      lastReplayAgeSeconds: t.lastReplayAgeSeconds,
      ...lossEvidence,
    },
    planFacts: {
      targetRole: 'standby',
      systemId: t.systemId,
      primaryReachable: false,
      receivedLsn: t.receiveLsn,
    },
    expectedLoss: loss,
    warnings: [
      `${src} cannot be fenced while unreachable: make sure it cannot come back as a writer`,
      ...unconfirmed,
    ],
  };
}
