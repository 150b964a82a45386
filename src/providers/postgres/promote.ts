/**
 * Promotion of the target: the checks that refuse a wrong or unready target, the planned path
 * (fence the writer, wait until the target replayed its final LSN, pg_promote: zero loss) and the
 * unplanned one (fence what can be reached, promote, measure the loss).
 */
import type { Evidence, Mode, RegionRole, RpoMeasurement } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import type { Progress, PromotionResult } from '../types.js';
import { NAME, other, type PgContext, type Reachable, type SideState } from './context.js';
import { fenceWrites, keepFenceTaken, keepFoundFence, recordFence, unfence } from './fence.js';
import { identityProblem, notPromotedAfter, notProvenPromoted, sameCluster } from './identity.js';
import { expectedLoss } from './loss.js';
import { lsnDiff } from './lsn.js';
import { liftHint } from './role-fence.js';
import { inspect, inspectReachable, writerReading } from './state.js';
import { backoffMs, sleep } from '../dns-resolve.js';

export async function promote(
  ctx: PgContext,
  { target, mode, progress }: { target: RegionRole; mode: Mode; progress: Progress },
): Promise<PromotionResult> {
  const started = Date.now();
  const src = other(target);
  // Both sides at once: neither reading depends on the other.
  const [t, o] = await Promise.all([inspectReachable(ctx, target), inspect(ctx, src)]);
  await refuseWrongTarget(ctx, target, t, o);
  if (!t.inRecovery) return alreadyPromoted(ctx, target, t, o, mode);
  refuseUnready(ctx, target, t, o, mode);
  return mode === 'planned'
    ? promotePlanned(ctx, target, o, progress, started)
    : promoteUnplanned(ctx, target, o, progress, started);
}

/**
 * Refuse a target of another cluster, or a writer nothing shows to be a promoted standby, before
 * anything is changed.
 */
async function refuseWrongTarget(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  o: SideState,
): Promise<void> {
  if (o.reachable) sameCluster(ctx, target, t, o);
  const wrongTarget = await identityProblem(ctx, target, t, o);
  if (wrongTarget)
    throw new PreconditionFailed(`${wrongTarget} Nothing was changed.`, { code: 'wrong-target' });
  if (!t.inRecovery && !o.reachable) {
    const unproven = await notProvenPromoted(ctx, target, t, o);
    if (unproven)
      throw new PreconditionFailed(
        `refusing to treat ${target} as "already promoted": ${unproven} Nothing was changed.`,
        { code: 'wrong-target' },
      );
  }
}

/** The target accepts writes already: lift a read-only fence we left on it, promote nothing. */
async function alreadyPromoted(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  o: SideState,
  mode: Mode,
): Promise<PromotionResult> {
  const src = other(target);
  // A side we fenced read-only earlier is the old primary of a finished failover, not a second writer.
  if (o.reachable && !o.inRecovery && !o.readOnlyFenced) {
    throw new PreconditionFailed(
      `${ctx.where(target)} and ${ctx.where(src)} both accept writes: refusing to treat this as "already promoted". Decide which side holds the data, fence the other, then retry.`,
      { code: 'wrong-target' },
    );
  }
  if (o.reachable && !o.inRecovery) {
    // Both writers, the other fenced: lifting the target's fence is right only if it is the side promoted later.
    const behind = await notPromotedAfter(ctx, target, t, o);
    if (behind)
      throw new PreconditionFailed(
        `refusing to treat ${target} as "already promoted" and lift its read-only fence: ${behind} Nothing was changed.`,
        { code: 'wrong-target' },
      );
  }
  const unfenced = await unfence(ctx, target);
  // The promotion found done may be this failover's own, its reply lost: keep its fence record.
  const fenceRecord = mode === 'planned' ? await keepFoundFence(ctx, target) : undefined;
  return {
    noop: true,
    mode,
    summary: `${target} is already promoted (not in recovery): nothing to do`,
    evidence: {
      targetInRecovery: false,
      systemId: t.systemId,
      currentLsn: t.currentLsn,
      unfenced,
      ...(fenceRecord ? { fenceRecord } : {}),
    },
    rpo: {
      component: 'database',
      bytes: 0,
      seconds: 0,
      description: 'no promotion by this step: the target was already the writer',
    },
  };
}

/**
 * Refuse a promotion that cannot work (no writer, or a planned one that cannot reach zero loss)
 * before anything is fenced.
 */
function refuseUnready(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  o: SideState,
  mode: Mode,
): void {
  const src = other(target);
  if (o.reachable && o.inRecovery) {
    throw new PreconditionFailed(
      `${ctx.where(src)} is in recovery too: there is no writer to fail over from; find the real writer first.`,
      { code: 'wrong-target' },
    );
  }
  if (mode === 'planned' && o.reachable && t.receiver?.status !== 'streaming') {
    // Fencing now would stop the application for a catch-up that cannot happen: refuse first.
    throw new ProviderError(
      NAME,
      `${ctx.where(target)} is not streaming from ${src} (WAL receiver ${t.receiver?.status ?? 'not running'}, received up to ${t.receiveLsn ?? 'nothing'}): a planned failover could not reach zero loss. Nothing was changed. Fix replication and retry, or choose an unplanned failover.`,
      { retryable: true, code: 'precondition-failed' },
    );
  }
  if (mode === 'planned' && t.replayPaused) {
    // Someone paused replay on purpose (to keep a bad change from being applied?): not ours to resume.
    throw new ProviderError(
      NAME,
      `WAL replay is paused on ${ctx.where(target)}: a planned failover would wait forever for it. Nothing was changed. If the pause is no longer needed, run SELECT pg_wal_replay_resume() there and retry.`,
      { retryable: true, code: 'precondition-failed' },
    );
  }
}

async function promotePlanned(
  ctx: PgContext,
  target: RegionRole,
  o: SideState,
  progress: Progress,
  started: number,
): Promise<PromotionResult> {
  const src = other(target);
  if (!o.reachable) {
    throw new PreconditionFailed(
      `a planned failover fences ${ctx.where(src)} and replays its last WAL, but it is unreachable (${o.error.message}). Re-run preflight: with ${src} down the failover is unplanned and shows its expected data loss before approval.`,
    );
  }
  progress(`fencing ${src} (${ctx.opts.fence.method})`);
  // The fenced state is read on the fence's own session, right after the final LSN.
  const fence = await fenceWrites(ctx, src, { readState: true });
  progress(`${src} fenced; final LSN ${fence.finalLsn}`, { finalLsn: fence.finalLsn });
  const fencedState = fence.state ?? null;
  if (fencedState) keepFenceTaken(ctx, src, fence.finalLsn, fencedState);
  const catchUp = await waitForReplay(ctx, target, fence.finalLsn, progress);
  const promoteMs = await promoteBy(ctx, target, progress);
  // The record reads the promoted side's history, the unfence its settings: independent.
  const [, unfenced] = await Promise.all([
    recordFence(ctx, src, target, fence.finalLsn, fencedState),
    unfence(ctx, target),
  ]);
  const totalMs = Date.now() - started;
  return {
    noop: false,
    mode: 'planned',
    summary: `promoted ${target} after it replayed ${src}'s final LSN ${fence.finalLsn} (catch-up ${catchUp.ms} ms, promote ${promoteMs} ms): zero loss`,
    evidence: {
      finalLsn: fence.finalLsn,
      replayLsn: catchUp.replayLsn,
      fenceMethod: ctx.opts.fence.method,
      fencedSide: src,
      terminatedSessions: fence.terminated,
      fenceMs: fence.ms,
      catchUpMs: catchUp.ms,
      promoteMs,
      totalMs,
      unfenced,
    },
    rpo: {
      component: 'database',
      bytes: 0,
      seconds: 0,
      description: `zero loss: ${target} replayed ${src}'s final LSN ${fence.finalLsn} after writes were fenced`,
    },
  };
}

async function promoteUnplanned(
  ctx: PgContext,
  target: RegionRole,
  o: SideState,
  progress: Progress,
  started: number,
): Promise<PromotionResult> {
  const src = other(target);
  let fence: { finalLsn: string; terminated: number | null; ms: number } | null = null;
  if (o.reachable) {
    // Never two writers: a primary we can still reach is fenced before anything is promoted.
    progress(`${src} is reachable: fencing it before promoting`);
    fence = await fenceWrites(ctx, src);
  } else {
    progress(`${src} is unreachable (${o.error.message}): it cannot be fenced`);
  }
  const t = await inspectReachable(ctx, target);
  const received = t.receiveLsn ?? t.replayLsn;
  let rpo: RpoMeasurement;
  let lossEvidence: Evidence = {};
  if (fence && received) {
    const bytes = Math.max(0, lsnDiff(fence.finalLsn, received));
    rpo = {
      component: 'database',
      bytes,
      seconds: bytes === 0 ? 0 : t.lastReplayAgeSeconds,
      description:
        bytes === 0
          ? `no loss: ${target} had received ${src}'s final LSN ${fence.finalLsn}`
          : `${formatBytes(bytes)} of WAL lost: ${src}'s final LSN ${fence.finalLsn}, ${target} received up to ${received}; last replayed transaction ${t.lastReplayAt ?? 'none'}`,
    };
  } else {
    const loss = expectedLoss(
      ctx,
      target,
      t,
      o.reachable ? 'no WAL position' : o.error.message,
      await writerReading(ctx, src, t),
    );
    lossEvidence = loss.evidence;
    rpo = {
      component: 'database',
      bytes: loss.bytes,
      seconds: loss.seconds,
      description: loss.description,
    };
  }
  const promoteMs = await promoteBy(ctx, target, progress);
  const unfenced = await unfence(ctx, target);
  const fencedText = fence
    ? `${src} fenced (${ctx.opts.fence.method})`
    : `${src} NOT fenced (unreachable): make sure it cannot come back as a writer`;
  return {
    noop: false,
    mode: 'unplanned',
    summary: `promoted ${target} (unplanned) in ${promoteMs} ms; ${fencedText}; ${rpo.bytes === null ? 'loss not measurable in bytes' : `loss ${formatBytes(rpo.bytes)}`}`,
    evidence: {
      receivedLsn: t.receiveLsn,
      replayLsn: t.replayLsn,
      replayGapBytes: t.replayGapBytes,
      lastReplayAt: t.lastReplayAt,
      receiverStatus: t.receiver?.status ?? null,
      fenced: fence !== null,
      fencedSide: fence ? src : null,
      finalLsn: fence?.finalLsn ?? null,
      oldPrimaryError: o.reachable ? null : o.error.message,
      lostBytes: rpo.bytes,
      lostSeconds: rpo.seconds,
      ...lossEvidence,
      promoteMs,
      totalMs: Date.now() - started,
      unfenced,
    },
    rpo,
  };
}

export async function waitForReplay(
  ctx: PgContext,
  target: RegionRole,
  finalLsn: string,
  progress: Progress,
): Promise<{ ms: number; replayLsn: string }> {
  const started = Date.now();
  const deadline = started + ctx.opts.catchUpTimeoutSeconds * 1000;
  let lastReport = 0;
  // A standby restarted in the wait does not answer for a moment: wait on, up to the deadline.
  let unanswered: string | undefined;
  for (let attempt = 0; ; attempt++) {
    unanswered = undefined;
    const replayLsn = await ctx.whileWaiting(
      target,
      'reading the replay LSN',
      async (c) =>
        (await c.query('SELECT pg_last_wal_replay_lsn()::text AS lsn')).rows[0].lsn as
          string | null,
      (why) => (unanswered = why),
    );
    const behind = replayLsn ? lsnDiff(finalLsn, replayLsn) : null;
    if (replayLsn && behind !== null && behind <= 0) return { ms: Date.now() - started, replayLsn };
    if (Date.now() > deadline) {
      throw new ProviderError(
        NAME,
        `${ctx.where(target)} did not replay the final LSN ${finalLsn} within ${ctx.opts.catchUpTimeoutSeconds} s (${unanswered ? `last look: ${unanswered}` : `replayed ${replayLsn ?? 'nothing'}, ${behind === null ? '?' : formatBytes(behind)} behind`}). ${other(target)} stays fenced read-only: fix replication and retry, choose an unplanned failover, or lift the fence with ${liftHint(ctx)}`,
        { code: 'timeout', retryable: true },
      );
    }
    if (Date.now() - lastReport >= 1000) {
      lastReport = Date.now();
      progress(
        `waiting for ${target} to replay ${finalLsn}: ${unanswered ? 'it does not answer (restarting?)' : `${behind === null ? '?' : formatBytes(behind)} behind`}`,
        { finalLsn, replayLsn: replayLsn ?? null, behindBytes: behind },
      );
    }
    // Replay is usually milliseconds behind: look again at once, then back off.
    await sleep(backoffMs(attempt, 20, 1));
  }
}

/** The driver's promotion when it has one (RDS), pg_promote otherwise. */
function promoteBy(ctx: PgContext, target: RegionRole, progress: Progress): Promise<number> {
  return ctx.opts.promoter ? ctx.opts.promoter(target, progress) : pgPromote(ctx, target, progress);
}

async function pgPromote(ctx: PgContext, target: RegionRole, progress: Progress): Promise<number> {
  progress(`promoting ${target} (pg_promote)`);
  const started = Date.now();
  const timeout = ctx.opts.promoteTimeoutSeconds;
  const promoted = await ctx.withClient(
    target,
    'pg_promote',
    async (c) =>
      (await c.query('SELECT pg_promote(true, $1) AS ok', [timeout])).rows[0].ok as boolean,
    (timeout + 10) * 1000,
  );
  ctx.opts.log.info({ target, promoted, ms: Date.now() - started }, 'pg_promote returned');
  if (!promoted) {
    throw new ProviderError(
      NAME,
      `${ctx.where(target)}: pg_promote did not finish within ${timeout} s; check the server log. The step re-checks before any retry.`,
      {
        code: 'timeout',
        retryable: true,
      },
    );
  }
  return Date.now() - started;
}
