// Builds an engine's context: its in-memory state, the operation machine with the I/O actors
// (preflight, step runs) provided, and the hooks its operation runners call back.
import { fromPromise } from 'xstate';
import { customRunbooks } from '../config/index.js';
import type { PreflightReport, StepOutcome } from '../domain/types.js';
import { title } from '../domain/format.js';
import { customSteps } from '../steps/index.js';
import {
  createOperationMachine,
  type OperationMachine,
  type PreflightInput,
  type RunStepInput,
  type UndoInput,
} from '../machine/index.js';
import type { EngineContext, EngineDeps } from './context.js';
import { SAVE_RETRY_DELAYS_MS, type RunnerDeps } from './operation-runner.js';
import { runPreflight } from './preflight.js';
import { undoDataTier } from '../steps/undo-data-tier.js';
import { RECHECK_DELAYS_MS, runStepRechecking } from './run-step.js';
import { handOver, headStartFirst, withdrawHeadStart } from './head-start.js';
import { trackStepCall } from './step-calls.js';
import { notify, rememberFinished } from './views.js';

export function createEngineContext(deps: EngineDeps): EngineContext {
  const env = deps.config.environment;
  const now = deps.now ?? Date.now;
  // The machine and the runner hooks call back into the context, so they are added once it exists.
  const ctx = {
    config: deps.config,
    store: deps.store,
    providers: deps.providers,
    authorizer: deps.authorizer,
    env,
    now,
    log: deps.log.child({ component: 'engine', env }),
    tickMs: deps.tickMs ?? 5000,
    recheckDelaysMs: deps.recheckDelaysMs ?? RECHECK_DELAYS_MS,
    saveRetryDelaysMs: deps.saveRetryDelaysMs ?? SAVE_RETRY_DELAYS_MS,
    runners: new Map(),
    finishedViews: new Map(),
    listeners: new Set(),
    ticker: undefined,
    stepCalls: new Set(),
    abortedWithCalls: new Set(),
    unconfirmed: new Set(),
    withdrawing: undefined,
    headStarts: new Map(),
    headStartsLeft: new Set(),
    retryingHeadStarts: undefined,
    runbooks: customRunbooks(deps.config.runbook.steps),
    customSteps: customSteps(deps.config),
  } as Omit<EngineContext, 'machine' | 'runnerDeps' | 'register'> as EngineContext;
  ctx.machine = engineMachine(ctx);
  ctx.runnerDeps = runnerDeps(ctx);
  ctx.register = (r) => ctx.runners.set(r.id, r);
  return ctx;
}

function engineMachine(ctx: EngineContext): OperationMachine {
  const { config, providers, runners, log, now } = ctx;
  return createOperationMachine({ now, runbooks: ctx.runbooks }).provide({
    actors: {
      preflight: fromPromise<PreflightReport, PreflightInput>(async ({ input }) => {
        // The scale step waits for the head start to end (handOver); the recheck only briefly.
        if (input.purpose === 'recheck') await headStartFirst(ctx, input.opId, input.kind);
        return runPreflight(providers, input, now);
      }),
      runStep: fromPromise<StepOutcome, RunStepInput>(async ({ input, signal }) => {
        const runner = runners.get(input.opId);
        // The snapshot that records this step as running is queued right after this actor
        // starts (one tick later): it must be written, and confirmed, before the step acts.
        await Promise.resolve();
        await runner?.confirmRecorded();
        const head =
          input.stepId === 'scale-secondary' ? await handOver(ctx, input.opId) : undefined;
        const result = runStepRechecking(
          {
            opId: input.opId,
            kind: input.kind,
            mode: input.mode,
            preflight: runner?.liveView.preflight,
            providers,
            log: log.child({ opId: input.opId, stepId: input.stepId, attempt: input.attempt }),
            approvedAt: input.approvedAt,
            targets: {
              rtoMinutes: config.targets.rtoMinutes,
              rpoMinutes: config.targets.rpoMinutes,
            },
            resumed: runner?.takeResumed(input.stepId) ?? false,
            ...(input.lastResort ? { lastResort: input.lastResort } : {}),
            ...(head ? { headStart: head } : {}),
            regions: {
              primary: config.regions.primary.name,
              secondary: config.regions.secondary.name,
            },
          },
          input.stepId,
          (message, data) => runner?.progress(input.stepId, message, data),
          ctx.customSteps,
          { delaysMs: ctx.recheckDelaysMs, signal },
        );
        const stepTitle = title(input.stepId, [...ctx.customSteps.values()]);
        const call = { opId: input.opId, stepId: input.stepId, title: stepTitle, startedAt: now() };
        trackStepCall(ctx, call, result);
        return result;
      }),
      undoDataTier: fromPromise<{ summary: string }, UndoInput>(async ({ input }) => {
        const runner = runners.get(input.opId);
        // As for a step: the snapshot that records the undo as running is confirmed first.
        await Promise.resolve();
        await runner?.confirmRecorded();
        // Its progress goes on the timeline under the Redis step it puts back.
        return undoDataTier(providers, input.components, (message, data) =>
          runner?.progress('promote-cache', message, data),
        );
      }),
    },
  }) as OperationMachine;
}

function runnerDeps(ctx: EngineContext): RunnerDeps {
  const { runners, log } = ctx;
  return {
    machine: ctx.machine,
    runbooks: ctx.runbooks,
    store: ctx.store,
    log,
    now: ctx.now,
    saveRetryDelaysMs: ctx.saveRetryDelaysMs,
    notify: (n) => notify(ctx, n),
    onFinished(view) {
      runners.delete(view.id);
      if (view.phase === 'aborted' && [...ctx.stepCalls].some((c) => c.opId === view.id))
        ctx.abortedWithCalls.add(view.id);
      rememberFinished(ctx, view);
      log.info({ opId: view.id, phase: view.phase }, 'operation finished');
      void withdrawHeadStart(ctx, view);
    },
    onLost(id) {
      runners.delete(id);
    },
  };
}
