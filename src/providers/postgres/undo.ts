/**
 * Undo of a failover's fence when the promotion never happened (the data tier split: the old
 * primary fenced read-only, the standby still streaming from it): the fence is lifted and the
 * old primary takes writes again. A promoted standby is never undone: it may hold writes.
 */
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed } from '../../errors.js';
import type { ActionResult, Progress } from '../types.js';
import { other, type PgContext, type SideState } from './context.js';
import { unfence } from './fence.js';
import { inspect, inspectReachable, isStreamingStandby } from './state.js';

function stateOf(s: SideState, primary: RegionRole): string {
  if (!s.reachable) return `unreachable (${s.error.message})`;
  return s.inRecovery
    ? `in recovery but not streaming from ${primary}`
    : 'promoted (not in recovery)';
}

export async function undoPromotion(
  ctx: PgContext,
  { promoted, progress }: { promoted: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const back = other(promoted);
  const b = await inspectReachable(ctx, back);
  const p = await inspect(ctx, promoted);
  // A standby that streams from the old primary has not been promoted, and none is under way:
  // promoting stops its WAL receiver first. Anything else could make two writers.
  if (!p.reachable || !(await isStreamingStandby(ctx, promoted)))
    throw new PreconditionFailed(
      `${ctx.where(promoted)} is ${stateOf(p, back)}: nothing proves it was not promoted, so lifting the fence on ${back} could make two writers. Nothing was changed; check ${promoted} and lift the fence by hand (ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();) once it is a standby.`,
      { code: 'wrong-target' },
    );
  if (!b.readOnlyFenced)
    return {
      noop: true,
      summary: `${back} already takes writes and ${promoted} is its streaming standby: nothing to undo`,
      evidence: { writer: back, currentLsn: b.currentLsn },
    };
  progress(`undo: lifting the read-only fence on ${back} (${promoted} was never promoted)`);
  if (!(await unfence(ctx, back)))
    throw new PreconditionFailed(
      `${ctx.where(back)} is read-only, but not by the bot's fence (default_transaction_read_only is not set by ALTER SYSTEM): nothing was changed; lift it where it was set.`,
      { code: 'wrong-target' },
    );
  // The reload is asynchronous: done once a new session takes writes again.
  await ctx.poll(10_000, `${back} to lift default_transaction_read_only`, async () => {
    const s = await inspectReachable(ctx, back);
    return s.readOnlyFenced ? undefined : true;
  });
  return {
    noop: false,
    summary: `PostgreSQL is back: the fence on ${back} is lifted and it takes writes again; ${promoted} is still its streaming standby`,
    evidence: { unfenced: back, standby: promoted },
  };
}
