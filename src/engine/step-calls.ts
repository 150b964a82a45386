// Step calls under way in this process, and those an abort left running: how each settles goes
// on the timeline, and no new operation starts before they have all settled.
import type { StepOutcome, TimelineEntry } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import type { EngineContext, StepCall } from './context.js';
import type { RequestResult } from './types.js';
import { getView, notify } from './views.js';

export function abandonedCalls(ctx: EngineContext, opId?: string): StepCall[] {
  return [...ctx.stepCalls].filter(
    (c) => ctx.abortedWithCalls.has(c.opId) && (opId === undefined || c.opId === opId),
  );
}

export function trackStepCall(
  ctx: EngineContext,
  call: StepCall,
  result: Promise<StepOutcome>,
): void {
  ctx.stepCalls.add(call);
  void result
    .then(
      (outcome) => ({ outcome, error: undefined }),
      (error: unknown) => ({ outcome: undefined, error }),
    )
    .then(async ({ outcome, error }) => {
      try {
        // An abort's final save may still be queued: the settlement goes on the timeline after it.
        await ctx.runners.get(call.opId)?.idle();
        if (ctx.abortedWithCalls.has(call.opId)) await recordSettlement(ctx, call, outcome, error);
      } catch (err) {
        ctx.log.error(
          { opId: call.opId, stepId: call.stepId, err: errorInfo(err) },
          'could not record how a step call left running by an abort ended',
        );
      } finally {
        ctx.stepCalls.delete(call);
        if (!abandonedCalls(ctx, call.opId).length) ctx.abortedWithCalls.delete(call.opId);
      }
    });
}

async function recordSettlement(
  ctx: EngineContext,
  call: StepCall,
  outcome: StepOutcome | undefined,
  error: unknown,
): Promise<void> {
  const { now } = ctx;
  const failed = outcome === undefined || outcome.verified === false;
  const entry: TimelineEntry = {
    type: 'AbortedStepSettled',
    stepId: call.stepId,
    outcome: failed ? 'failed' : 'succeeded',
    detail: outcome ? outcome.summary : errorInfo(error).message,
    durationMs: now() - call.startedAt,
    opId: call.opId,
    at: now(),
  };
  await ctx.store.append(call.opId, [entry]);
  ctx.log.warn(
    { opId: call.opId, stepId: call.stepId, outcome: entry.outcome, detail: entry.detail },
    'a step call left running by an abort has settled',
  );
  const view = ctx.finishedViews.get(call.opId) ?? (await getView(ctx, call.opId));
  if (view) notify(ctx, { op: view, entries: [entry] });
}

export function stepList(calls: StepCall[]): string {
  return [...new Set(calls.map((c) => c.title))].join(' and ');
}

export function settling(opId: string, calls: StepCall[]): RequestResult {
  return {
    ok: false,
    code: 'settling',
    activeId: opId,
    stepIds: [...new Set(calls.map((c) => c.stepId))],
    message: `${opId} was aborted while ${stepList(calls)} was still running; waiting for it to settle. Its outcome goes on the timeline of ${opId}; request again once it is there.`,
  };
}
