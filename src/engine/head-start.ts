// The scale lane's head start: the secondary's workloads start scaling at approval, beside the
// recheck, because they are the longest lane and need no data. If the operation then ends without
// its scale step having run (refused by the recheck, rejected, expired, aborted), the secondary
// goes back to standby size. Only a secondary found at standby size gets a head start, so going
// back restores what was there; a mark in the store, written before the first PATCH, makes the
// way back survive a restart.
import { errorInfo } from '../errors.js';
import type { OperationKind, OperationView, Runbook, TimelineEntry } from '../domain/types.js';
import type { ActionResult } from '../providers/types.js';
import type { EngineContext } from './context.js';
import { getView, notify } from './views.js';

const META_KEY = 'head-start';
/** `scaled`: counts set, the scale step has not taken over yet; with what the head start set. */
interface Mark {
  state: 'scaled' | 'handed-over' | 'withdrawn';
  result?: ActionResult;
}

const setMark = (ctx: EngineContext, opId: string, m: Mark) =>
  ctx.store.setMeta(opId, META_KEY, JSON.stringify(m));

async function getMark(ctx: EngineContext, opId: string): Promise<Mark | null> {
  const raw = await ctx.store.getMeta(opId, META_KEY);
  return raw ? (JSON.parse(raw) as Mark) : null;
}

/**
 * The runbook scales the secondary, and none of the team's own steps comes before it: a custom
 * step placed before the scale (a capacity check, a person's go-ahead) is not jumped.
 */
function headStartAllowed(runbook: Runbook): boolean {
  const at = runbook.stages.findIndex((stage) => stage.includes('scale-secondary'));
  const custom = new Set<string>((runbook.custom ?? []).map((c) => c.id));
  return (
    at >= 0 && !runbook.stages.slice(0, at).some((stage) => stage.some((id) => custom.has(id)))
  );
}

/**
 * At approval (the recheck): set the secondary's production counts without waiting for its pods,
 * when the runbook scales the secondary and every workload there is at standby size. Never
 * throws: the scale step does the work (and says what is wrong) if this cannot.
 */
function headStart(ctx: EngineContext, opId: string, kind: OperationKind): Promise<void> {
  const cluster = ctx.providers.cluster;
  if (!cluster || !headStartAllowed(ctx.runbooks[kind])) return Promise.resolve();
  const progress = (message: string) =>
    ctx.runners.get(opId)?.progress('scale-secondary', `head start at approval: ${message}`);
  const run = (async () => {
    try {
      const r = await cluster.scale({
        region: 'secondary',
        profile: 'production',
        progress,
        wait: false,
        onlyFrom: 'standby',
        // Marked, and confirmed as a step's record is, before the first write: the way back is
        // known even if this process or the state Redis's primary dies mid-way.
        beforeChange: async () => {
          const runner = ctx.runners.get(opId);
          if (!runner) throw new Error(`${opId} is not driven by this process`);
          await setMark(ctx, opId, { state: 'scaled' });
          await runner.confirmRecorded();
        },
      });
      if (r.noop) return;
      await setMark(ctx, opId, { state: 'scaled', result: r });
      ctx.log.info({ opId, summary: r.summary }, 'head start: secondary scaling at approval');
    } catch (err) {
      ctx.log.warn({ opId, err: errorInfo(err) }, 'head start: not taken; the scale step will');
    }
  })();
  ctx.headStarts.set(opId, run);
  return run.finally(() => ctx.headStarts.delete(opId));
}

/**
 * The scale step is about to run: the secondary's size is its business from now on. Returns what
 * the head start set, for the step's outcome (undefined when it took none).
 */
export async function handOver(
  ctx: EngineContext,
  opId: string,
): Promise<ActionResult | undefined> {
  await ctx.headStarts.get(opId);
  const m = await getMark(ctx, opId);
  if (m?.state !== 'scaled') return undefined;
  await setMark(ctx, opId, { ...m, state: 'handed-over' });
  // Counts set with no result recorded (a restart in between): the step sets them again.
  return m.result;
}

/**
 * An operation ended: if it gave the secondary a head start its scale step never took over, the
 * secondary goes back to standby size (counts and autoscalers), noted on its timeline.
 */
export async function withdrawHeadStart(ctx: EngineContext, view: OperationView): Promise<void> {
  const cluster = ctx.providers.cluster;
  if (!cluster) return;
  try {
    await ctx.headStarts.get(view.id);
    const m = await getMark(ctx, view.id);
    if (m?.state !== 'scaled') {
      ctx.headStartsLeft.delete(view.id);
      return;
    }
    const r = await cluster.scale({
      region: 'secondary',
      profile: 'standby',
      progress: () => undefined,
      wait: false,
    });
    await setMark(ctx, view.id, { ...m, state: 'withdrawn' });
    ctx.headStartsLeft.delete(view.id);
    const entry: TimelineEntry = {
      type: 'StepProgress',
      stepId: 'scale-secondary',
      message: `head start withdrawn (the operation ended ${view.phase} before scaling): ${r.summary}`,
      opId: view.id,
      at: ctx.now(),
    };
    await ctx.store.append(view.id, [entry]);
    notify(ctx, { op: view, entries: [entry] });
    ctx.log.info({ opId: view.id, summary: r.summary }, 'head start withdrawn');
  } catch (err) {
    ctx.headStartsLeft.add(view.id);
    ctx.log.error(
      { opId: view.id, err: errorInfo(err) },
      'head start: could not scale the secondary back to standby yet; trying again every tick',
    );
  }
}

/**
 * Longest the recheck waits for the head start's writes before it begins. The recheck is CPU in
 * this process and would delay the head start's few round trips; a slow cluster API must not
 * hold the data tier back for long.
 */
const LEAD_MS = 100;

/** The head start, given the lead over the recheck (at most LEAD_MS), then left to finish alone. */
export async function headStartFirst(
  ctx: EngineContext,
  opId: string,
  kind: OperationKind,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    headStart(ctx, opId, kind),
    new Promise<void>((r) => (timer = setTimeout(r, LEAD_MS))),
  ]);
  clearTimeout(timer);
}

/** The tick's retry of the withdrawals that failed (one pass at a time). */
export function retryHeadStartWithdrawals(ctx: EngineContext): Promise<void> {
  if (ctx.headStartsLeft.size === 0) return Promise.resolve();
  ctx.retryingHeadStarts ??= (async () => {
    try {
      for (const id of [...ctx.headStartsLeft]) {
        const view = await getView(ctx, id).catch(() => null);
        if (view && !ctx.runners.has(id)) await withdrawHeadStart(ctx, view);
      }
    } finally {
      ctx.retryingHeadStarts = undefined;
    }
  })();
  return ctx.retryingHeadStarts;
}

/** At start: the last operation may have ended just before a restart, its head start not yet withdrawn. */
export async function withdrawLeftHeadStart(ctx: EngineContext): Promise<void> {
  const id = await ctx.store.lastFinished(ctx.env).catch(() => null);
  if (!id) return;
  ctx.headStartsLeft.add(id);
  void retryHeadStartWithdrawals(ctx);
}
