// A start's recovery: the drills whose report still awaits publication are published, oldest
// first and a few per start; one whose claim another process holds is looked at again later.
import { errorInfo } from '../errors.js';
import { due, enqueue, publish, reportable } from './reporter-publish.js';
import type { ReporterContext } from './reporter-types.js';

/** How many drills awaiting publication one start publishes (more means publishing keeps failing). */
const RECOVERED_PER_START = 10;
/**
 * How many it looks through for those: without Slack (the lab) every drill stays awaiting
 * publication, and the console skips those it showed already.
 */
const SCANNED_PER_START = 200;

/** A claim held by a process that died stays until it expires: look again then, a few times. */
const MAX_RECOVERY_TRIES = 3;

async function recoverDrill(ctx: ReporterContext, opId: string, tries: number): Promise<void> {
  const { handled, log } = ctx;
  if (ctx.stopped || handled.has(opId)) return;
  const outcome = await publish(ctx, opId);
  // Failed: left unpublished for the next start, not retried in a loop against a channel that refuses it.
  if (outcome === 'published' || outcome === 'delivered' || outcome === 'nothing')
    handled.add(opId);
  if (outcome !== 'held') return;
  if (tries >= MAX_RECOVERY_TRIES) {
    log.warn(
      { opId },
      'the drill report is still claimed by another process; the next start publishes it if that process did not',
    );
    return;
  }
  const wait = (await ctx.reports.claimLeftMs(opId)) + 100;
  const timer = setTimeout(() => {
    ctx.retries.delete(timer);
    void enqueue(ctx, opId, () => recoverDrill(ctx, opId, tries + 1));
  }, wait);
  timer.unref();
  ctx.retries.add(timer);
}

export async function recoverAll(ctx: ReporterContext): Promise<void> {
  const { reports, handled } = ctx;
  if (ctx.stopped) return;
  const ids = await reports.awaitingPublication(ctx.environment, SCANNED_PER_START);
  // A drill that finished before drills were marked as awaiting publication: the last finished
  // operation, reported unless it has a stored report (then it was published, as it was then).
  const { last } = await ctx.engine.status();
  if (last && reportable(last) && !ids.includes(last.id) && !(await reports.get(last.id)))
    ids.push(last.id);
  let tried = 0;
  for (const opId of ids) {
    if (handled.has(opId)) continue;
    if (ctx.listeners.size > 0) {
      // Looked at again under the claim; this only passes over what no adapter here is due (shown by the console already).
      const todo = await due(ctx, opId).catch(() => null);
      if (todo && todo.record.length === 0 && todo.others.length === 0) continue;
    }
    if (++tried > RECOVERED_PER_START) break;
    // One drill whose report cannot be built must not keep the others from theirs.
    await recoverDrill(ctx, opId, 1).catch((err: unknown) =>
      ctx.log.error(
        { opId, err: errorInfo(err) },
        'could not build or store the drill report; the next start tries again, `dr report` builds it',
      ),
    );
  }
}
