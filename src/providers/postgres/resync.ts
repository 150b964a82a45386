/**
 * Failback of an old primary: what resyncing it means (divergence from the writer, rewind or
 * rebuild, what is lost) and its readiness, then the resync itself through the configured command
 * (pg_rewind, else pg_basebackup) until it streams from the writer at lag 0.
 */
import type { ComponentReadiness, Evidence, RegionRole } from '../../domain/types.js';
import { PreconditionFailed } from '../../errors.js';
import { formatBytes } from '../bytes.js';
import { runShellCommand } from '../pg-command.js';
import type { ActionResult, Progress } from '../types.js';
import { NAME, other, type PgContext, type Reachable, type SideState } from './context.js';
import {
  analyseStale,
  switchpointFrom,
  timelineHistory,
  writerTimeline,
  type Divergence,
  type ResyncMethod,
} from './divergence.js';
import { identityProblem, sameCluster } from './identity.js';
import { lsnDiff } from './lsn.js';
import { fencedSql } from './role-fence.js';
import { inspect, inspectReachable, isStreamingStandby, writePosition } from './state.js';

/**
 * When `stale` is a writer on a timeline the other side was promoted away from (the old primary
 * after a failover, fenced or back from a crash), the analysis of what resyncing it means; null
 * when it is not (no common history: then it is not ours to rewind).
 */
export async function divergence(ctx: PgContext, stale: RegionRole): Promise<Divergence | null> {
  const writer = other(stale);
  const { writerTl, history } = await ctx.withClient(
    writer,
    'reading the timeline history',
    async (c) => {
      const tl = await writerTimeline(c);
      return { writerTl: tl, history: await timelineHistory(c, tl) };
    },
  );
  const staleTl = await ctx.withClient(stale, 'reading the timeline', writerTimeline);
  if (writerTl <= staleTl) return null;
  const divergenceLsn = switchpointFrom(history, staleTl);
  if (!divergenceLsn) return null;
  const fence = await ctx.servers.recallFence(ctx.serverName(stale)).catch((err: Error) => {
    ctx.opts.log.warn({ err: err.message }, 'reading the PostgreSQL fence record failed');
    return null;
  });
  return ctx.withClient(stale, 'analysing WAL written after the split', (c) =>
    analyseStale(c, {
      staleTimeline: staleTl,
      writerTimeline: writerTl,
      divergenceLsn,
      fence,
      fencedSql: fencedSql(ctx.opts.fence),
    }),
  );
}

export function staleReadiness(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  d: Divergence,
  base: { component: 'database'; primaryReachable: boolean },
  details: Evidence,
): ComponentReadiness {
  const src = other(target);
  // A warning (and the expected loss) only when committed transactions can be lost; WAL with none
  // (counted 0, or written while fenced read-only) is said in the summary, a note.
  const losesData = d.losesCommitted;
  const warnings = [
    ...(losesData
      ? [
          `${target} has data ${src} never received: ${d.description}. Approving accepts that loss; to keep it, copy it out of ${target} first.`,
        ]
      : []),
    ...(d.method === 'rebuild'
      ? [
          `${target} cannot be rewound and will be rebuilt from a full copy of ${src} (pg_basebackup): ${d.reasons.join('; ')}`,
        ]
      : []),
    ...(d.caveat
      ? [`${target} will be rewound, but ${d.caveat}; a rebuild copies all of ${src}'s data`]
      : []),
  ];
  return {
    ...base,
    status: warnings.length ? 'warning' : 'ready',
    summary: `${target} is the old primary (${t.readOnlyFenced ? 'fenced read-only' : 'accepting writes'}): it will be resynced as a standby of ${src} before it is promoted again; ${d.description}`,
    details: {
      ...details,
      divergence: {
        ...d,
        reasons: d.reasons.join('; '),
        fencedBeforeSplit: d.fencedBeforeSplit ? { ...d.fencedBeforeSplit } : null,
      },
    },
    planFacts: {
      targetRole: 'stale-writer',
      systemId: t.systemId,
      resyncMethod: d.method,
      divergenceLsn: d.divergenceLsn,
      rewindCheckpointLsn: d.rewindCheckpointLsn,
      lostTransactions: d.lostTransactions,
    },
    ...(losesData
      ? {
          expectedLoss: {
            bytes: d.lostBytes,
            seconds: null,
            description: `${target}: ${d.description}`,
          },
        }
      : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * Make `standby` (the old primary, or the secondary at the end of a failback) a streaming
 * standby of the other side through the configured resync command: analyse first (rewind or
 * rebuild, what is lost), CHECKPOINT the writer (else pg_rewind sees one timeline and does
 * nothing), run the command, rebuild when the rewind fails, then wait for streaming at lag 0.
 */
export async function resync(
  ctx: PgContext,
  { standby, progress }: { standby: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const writer = other(standby);
  const s = await inspect(ctx, standby);
  if (s.reachable && (await isStreamingStandby(ctx, standby))) {
    return {
      noop: true,
      summary: `${standby} is already a streaming standby of ${writer}`,
      evidence: {},
    };
  }
  const resync = ctx.opts.resync;
  if (!resync) {
    throw new PreconditionFailed(
      `postgres.resync.command is not configured: ${standby} must be rewound or rebuilt as a standby of ${writer} by hand (pg_rewind, else pg_basebackup), or configure the command (see README, "Failback")`,
    );
  }
  const analysis = await checkResync(ctx, standby, s, progress);
  const planned: ResyncMethod = analysis?.method ?? 'rewind';
  await ctx.withClient(
    writer,
    'CHECKPOINT before the resync',
    (c) => c.query('CHECKPOINT'),
    300_000,
  );
  const started = Date.now();
  const { method, rewindError, result } = await runResync(
    ctx,
    standby,
    resync,
    analysis,
    planned,
    progress,
  );
  await ctx.poll(60_000, `${standby} to stream from ${writer} after the resync`, async () =>
    (await isStreamingStandby(ctx, standby).catch(() => false)) ? true : undefined,
  );
  const caughtUp = await waitForLagZero(ctx, standby, progress);
  const lost =
    analysis && analysis.lostBytes > 0
      ? `; discarded ${formatBytes(analysis.lostBytes)} it wrote after the split (${analysis.lostTransactions ?? 'uncounted'} transactions)`
      : '';
  return {
    noop: false,
    summary: `${standby} ${method === 'rewind' ? 'rewound (pg_rewind)' : `rebuilt (pg_basebackup${rewindError ? ' after the rewind failed' : ''})`} and streaming from ${writer}, lag 0 at ${caughtUp.replayLsn}${lost}`,
    evidence: {
      method,
      plannedMethod: planned,
      rewindError,
      divergenceLsn: analysis?.divergenceLsn ?? null,
      lostBytes: analysis?.lostBytes ?? null,
      lostTransactions: analysis?.lostTransactions ?? null,
      replayLsn: caughtUp.replayLsn,
      durationMs: Date.now() - started,
      commandMs: result.durationMs,
      output: result.tail,
    },
  };
}

/**
 * Refuse a resync from no writer, across clusters, or over a writer the other side was not
 * promoted away from; for an old primary, the analysis of what resyncing it means.
 */
async function checkResync(
  ctx: PgContext,
  standby: RegionRole,
  s: SideState,
  progress: Progress,
): Promise<Divergence | null> {
  const writer = other(standby);
  const w = await inspectReachable(ctx, writer);
  if (w.inRecovery) {
    throw new PreconditionFailed(
      `${ctx.where(writer)} is in recovery: there is no writer to resync ${standby} from. Find the real writer first.`,
      { code: 'wrong-target' },
    );
  }
  // Unreachable here means stopped (a resync interrupted after it stopped the server): the command starts from there.
  if (s.reachable) sameCluster(ctx, standby, s, w);
  // Stopped standby: the writer is the only side to check, and a wrong one would be copied over it.
  const wrongTarget = s.reachable
    ? await identityProblem(ctx, standby, s, w)
    : await identityProblem(ctx, writer, w, s);
  if (wrongTarget)
    throw new PreconditionFailed(`${wrongTarget} Nothing was changed.`, { code: 'wrong-target' });
  if (!s.reachable)
    progress(
      `${standby} does not answer (${s.error.message}): the resync command takes it from there`,
    );
  if (!s.reachable || s.inRecovery) return null;
  const analysis = await divergence(ctx, standby);
  if (!analysis) {
    // Not promoted away from it: overwriting a writer with no common history would destroy data we cannot account for.
    throw new PreconditionFailed(
      `${ctx.where(standby)} accepts writes but ${writer} was not promoted from its timeline: refusing to overwrite it. Decide which side holds the data before resyncing.`,
      { code: 'wrong-target' },
    );
  }
  progress(`analysis of ${standby}: ${analysis.description}`, {
    divergenceLsn: analysis.divergenceLsn,
    lostBytes: analysis.lostBytes,
    lostTransactions: analysis.lostTransactions,
    method: analysis.method,
  });
  return analysis;
}

/** Run the resync command with the planned method; a failed rewind falls back to a rebuild. */
async function runResync(
  ctx: PgContext,
  standby: RegionRole,
  resync: { command: string; timeoutSeconds: number },
  analysis: Divergence | null,
  planned: ResyncMethod,
  progress: Progress,
) {
  const writer = other(standby);
  const run = (method: ResyncMethod) => {
    progress(
      `running the resync command for ${standby} (${method === 'rewind' ? 'pg_rewind' : 'pg_basebackup'})`,
    );
    return runShellCommand(NAME, `resync (${method})`, resync.command, {
      env: resyncEnv(ctx, standby, method, analysis),
      timeoutSeconds: resync.timeoutSeconds,
    });
  };
  let method = planned;
  let rewindError: string | null = null;
  let result;
  try {
    result = await run(method);
  } catch (err) {
    if (method !== 'rewind') throw err;
    rewindError = (err as Error).message;
    ctx.opts.log.warn({ standby, err: rewindError }, 'rewind failed: rebuilding with a full copy');
    progress(
      `rewinding ${standby} failed (${rewindError}): rebuilding it from a full copy of ${writer}`,
    );
    method = 'rebuild';
    result = await run(method);
  }
  return { method, rewindError, result };
}

/** What a resync command receives (README, "Failback"): inputs as variables, never on the command line. */
function resyncEnv(
  ctx: PgContext,
  standby: RegionRole,
  method: ResyncMethod,
  analysis: Divergence | null,
): Record<string, string> {
  const writer = other(standby);
  return {
    DR_RESYNC_STANDBY: standby,
    DR_RESYNC_TARGET_URL: ctx.url(standby),
    DR_RESYNC_SOURCE_URL: ctx.url(writer),
    DR_RESYNC_METHOD: method,
    DR_RESYNC_DIVERGENCE_LSN: analysis?.divergenceLsn ?? '',
  };
}

/** Wait until `standby` has replayed everything the writer has written (lag 0). */
async function waitForLagZero(
  ctx: PgContext,
  standby: RegionRole,
  progress: Progress,
): Promise<{ replayLsn: string }> {
  const writer = other(standby);
  const target = await writePosition(ctx, writer);
  let lastReport = 0;
  const replayLsn = await ctx.poll(
    ctx.opts.catchUpTimeoutSeconds * 1000,
    `${standby} to replay ${writer}'s WAL up to ${target} (lag 0)`,
    // A standby restarted while it catches up does not answer for a moment: poll on.
    () =>
      ctx.whileWaiting(
        standby,
        'reading the replay LSN',
        async (c) => {
          const lsn = (await c.query('SELECT pg_last_wal_replay_lsn()::text AS lsn')).rows[0]
            .lsn as string | null;
          if (lsn && lsnDiff(target, lsn) <= 0) return lsn;
          if (Date.now() - lastReport >= 1000) {
            lastReport = Date.now();
            progress(
              `waiting for ${standby} to catch up: ${lsn ? formatBytes(lsnDiff(target, lsn)) : '?'} behind`,
            );
          }
          return undefined;
        },
        (why) =>
          ctx.opts.log.info({ standby, why }, 'the standby does not answer while it catches up'),
      ),
  );
  return { replayLsn };
}
