import type { Logger } from 'pino';
import { fromPromise } from 'xstate';
import type { DrConfig } from '../config/schema.js';
import { FINAL_PHASES, type OperationKind, type OperationView, type PreflightReport, type StepId, type StepOutcome, type TimelineEntry } from '../domain/types.js';
import { DrError, errorInfo } from '../errors.js';
import {
  createOperationMachine,
  evaluateAction,
  STEP_TITLES,
  toView,
  type OperationAction,
  type OperationEvent,
  type OperationMachine,
  type PreflightInput,
  type RunStepInput,
} from '../machine/index.js';
import type { Providers } from '../providers/types.js';
import type { OperationStore, PersistedOperation } from '../store/types.js';
import { refusalMessage, successMessage } from './messages.js';
import { OperationRunner, type RunnerDeps } from './operation-runner.js';
import { runPreflight } from './preflight.js';
import { restoreActor } from './restore.js';
import { runStepOnce } from './run-step.js';
import type { ActionOutcome, Authorizer, Engine, EngineNotification, RequestResult } from './types.js';

export interface EngineDeps {
  config: DrConfig;
  store: OperationStore;
  providers: Providers;
  authorizer: Authorizer;
  log: Logger;
  now?: () => number;
  /** How often operations awaiting approval get a TICK (expiry check). Default 5000. */
  tickMs?: number;
}

const FINISHED_VIEWS_KEPT = 20;

/** A provider call of a step, under way in this process. */
interface StepCall {
  opId: string;
  stepId: StepId;
  startedAt: number;
}

export function createEngine(deps: EngineDeps): Engine {
  const { config, store, providers, authorizer } = deps;
  const env = config.environment;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'engine', env });
  const runners = new Map<string, OperationRunner>();
  /** Views of operations that finished in this process, so status() needs no restore for them. */
  const finishedViews = new Map<string, OperationView>();
  const listeners = new Set<(n: EngineNotification) => void>();
  let ticker: NodeJS.Timeout | undefined;
  /**
   * Step calls under way. An abort cannot interrupt a provider call: the machine abandons its
   * promise and the operation finishes (releasing the lock) while the call goes on. Until such a
   * call settles no new operation may start, or two could touch DNS or the databases at once.
   * In memory on purpose: after a restart the call died with the old process, so nothing is left
   * to wait for.
   */
  const stepCalls = new Set<StepCall>();
  /** Operations that finished as aborted while some of their step calls were still under way. */
  const abortedWithCalls = new Set<string>();

  function abandonedCalls(opId?: string): StepCall[] {
    return [...stepCalls].filter((c) => abortedWithCalls.has(c.opId) && (opId === undefined || c.opId === opId));
  }

  function trackStepCall(call: StepCall, result: Promise<StepOutcome>): void {
    stepCalls.add(call);
    void result
      .then(
        (outcome) => ({ outcome, error: undefined }),
        (error: unknown) => ({ outcome: undefined, error }),
      )
      .then(async ({ outcome, error }) => {
        try {
          // An abort's final save may still be queued: the settlement goes on the timeline after it.
          await runners.get(call.opId)?.idle();
          if (abortedWithCalls.has(call.opId)) await recordSettlement(call, outcome, error);
        } catch (err) {
          log.error({ opId: call.opId, stepId: call.stepId, err: errorInfo(err) }, 'could not record how a step call left running by an abort ended');
        } finally {
          stepCalls.delete(call);
          if (!abandonedCalls(call.opId).length) abortedWithCalls.delete(call.opId);
        }
      });
  }

  async function recordSettlement(call: StepCall, outcome: StepOutcome | undefined, error: unknown): Promise<void> {
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
    await store.append(call.opId, [entry]);
    log.warn({ opId: call.opId, stepId: call.stepId, outcome: entry.outcome, detail: entry.detail }, 'a step call left running by an abort has settled');
    const view = finishedViews.get(call.opId) ?? (await get(call.opId));
    if (view) runnerDeps.notify({ op: view, entries: [entry] });
  }

  const machine: OperationMachine = createOperationMachine({ now }).provide({
    actors: {
      preflight: fromPromise<PreflightReport, PreflightInput>(({ input }) => runPreflight(providers, input, now)),
      runStep: fromPromise<StepOutcome, RunStepInput>(async ({ input }) => {
        const runner = runners.get(input.opId);
        const result = runStepOnce(
          {
            opId: input.opId,
            kind: input.kind,
            mode: input.mode,
            preflight: runner?.liveView.preflight,
            providers,
            log: log.child({ opId: input.opId, stepId: input.stepId, attempt: input.attempt }),
            approvedAt: input.approvedAt,
            targets: { rtoMinutes: config.targets.rtoMinutes, rpoMinutes: config.targets.rpoMinutes },
          },
          input.stepId,
          (message, data) => runner?.progress(input.stepId, message, data),
        );
        trackStepCall({ opId: input.opId, stepId: input.stepId, startedAt: now() }, result);
        return result;
      }),
    },
  }) as OperationMachine;

  const runnerDeps: RunnerDeps = {
    machine,
    store,
    log,
    now,
    notify(n) {
      for (const l of listeners) {
        try {
          l(n);
        } catch (err) {
          log.error({ err }, 'engine listener threw');
        }
      }
    },
    onFinished(view) {
      runners.delete(view.id);
      if (view.phase === 'aborted' && [...stepCalls].some((c) => c.opId === view.id)) abortedWithCalls.add(view.id);
      finishedViews.set(view.id, view);
      // Only recent ones are worth keeping in memory; older views are restored from the store.
      if (finishedViews.size > FINISHED_VIEWS_KEPT) finishedViews.delete(finishedViews.keys().next().value!);
      log.info({ opId: view.id, phase: view.phase }, 'operation finished');
    },
    onLost(id) {
      runners.delete(id);
    },
  };

  const register = (r: OperationRunner) => runners.set(r.id, r);

  /** The active operation's kind for the refusal text; unknown (undefined) when it cannot be read. */
  async function activeKindOf(id: string): Promise<OperationKind | undefined> {
    try {
      return (await get(id))?.kind;
    } catch {
      return undefined;
    }
  }

  /** A stored operation's view without running it: the snapshot restored into an actor never started. */
  function viewOfPersisted(p: PersistedOperation): OperationView {
    return toView(restoreActor(machine, p.snapshot).getSnapshot());
  }

  async function get(opId: string): Promise<OperationView | null> {
    const live = runners.get(opId);
    if (live) return live.view;
    const done = finishedViews.get(opId);
    if (done) return done;
    const p = await store.load(opId);
    return p ? viewOfPersisted(p) : null;
  }

  function notOwned(opId: string): DrError {
    return new DrError(
      'conflict',
      `${opId} is active but not driven by this dr-bot process (another process saved it more recently). Act on it where it runs, or restart this bot to take it over.`,
    );
  }

  async function act(
    action: OperationAction,
    opId: string,
    userId: string,
    event: (authorized: boolean, at: number) => OperationEvent,
    planHash?: string,
  ): Promise<ActionOutcome> {
    const runner = runners.get(opId);
    if (!runner || !runner.live) {
      const view = await get(opId);
      if (!view) return { ok: false, reason: 'unknown-operation', message: refusalMessage('unknown-operation', opId) };
      if (FINAL_PHASES.includes(view.phase)) return { ok: false, reason: 'finished', message: refusalMessage('finished', opId, view), op: view };
      throw notOwned(opId);
    }
    const authorized = await authorizer.isAuthorized(userId);
    // One instant for the answer and the event, so both judge the deadline alike.
    const at = now();
    // The machine applies the same policy and records the refusal in the timeline; this answer is for the person.
    const refusal = evaluateAction(runner.liveView, action, userId, authorized, planHash, at);
    runner.send(event(authorized, at));
    await runner.idle();
    if (runner.lost) throw notOwned(opId);
    const op = runner.view;
    log.info({ opId, action, userId, authorized, refusal, phase: op.phase }, 'action handled');
    if (refusal) return { ok: false, reason: refusal, message: refusalMessage(refusal, opId, op), op };
    const left = action === 'abort' ? abandonedCalls(opId) : [];
    const still = left.length
      ? ` ${stepList(left)} was still running and cannot be interrupted: its outcome goes on the timeline when it settles, and no new operation starts before that.`
      : '';
    return { ok: true, message: successMessage(action, op, userId) + still, op };
  }

  function tick(): void {
    for (const r of runners.values()) {
      if (r.live && r.liveView.phase === 'awaitingApproval') r.send({ type: 'TICK', at: now() });
    }
  }

  return {
    async start() {
      for (const id of await store.listActive(env)) {
        if (runners.has(id)) continue;
        const p = await store.load(id);
        if (!p || p.status !== 'active') continue;
        try {
          await OperationRunner.resume(runnerDeps, id, p.version, p.snapshot, register);
        } catch (err) {
          // One unreadable operation must not keep the bot (and the others) down.
          runners.delete(id);
          log.error(
            { opId: id, version: p.version, err: errorInfo(err) },
            'could not resume this operation from its stored snapshot: it stays active in the state Redis and keeps the environment locked until someone resolves it by hand',
          );
        }
      }
      ticker ??= setInterval(tick, deps.tickMs ?? 5000);
      ticker.unref();
    },

    async stop() {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      // Stopping is a restart to come: calls still under way are not waited for or recorded.
      abortedWithCalls.clear();
      const all = [...runners.values()];
      runners.clear();
      await Promise.all(all.map((r) => r.stop()));
    },

    async request({ kind, mode, requester, reason }): Promise<RequestResult> {
      const abandoned = abandonedCalls();
      if (abandoned.length > 0) return settling(abandoned[0]!.opId, abandoned);
      // Cheap early answer; store.create below is the atomic guard against a concurrent request.
      const active = await store.activeFor(env);
      if (active) return alreadyActive(active, kind, await activeKindOf(active));
      const id = await store.nextOperationId(new Date(now()));
      const input = {
        id,
        env,
        kind,
        requestedMode: mode,
        requester,
        reason,
        createdAt: now(),
        requiredApprovals: config.approvals.required,
        approvalTimeoutMs: Math.round(config.approvals.timeoutMinutes * 60_000),
      };
      const { runner, created } = await OperationRunner.start(runnerDeps, input, register);
      if (!created.ok) {
        runners.delete(id);
        if ('activeId' in created) return alreadyActive(created.activeId, kind, await activeKindOf(created.activeId));
        throw new DrError('provider', `could not record ${id} in the state Redis, so nothing was started: ${errorInfo(created.error).message}. Check REDIS_URL and that Redis answers, then request again.`, {
          retryable: true,
          cause: created.error,
        });
      }
      log.info({ opId: id, kind, mode, requester }, 'operation requested');
      await runner.idle();
      return { ok: true, op: runner.view };
    },

    approve({ opId, userId, planHash }) {
      return act('approve', opId, userId, (authorized, at) => ({ type: 'APPROVE', userId, planHash, authorized, at }), planHash);
    },

    reject({ opId, userId, reason }) {
      return act('reject', opId, userId, (authorized, at) => ({ type: 'REJECT', userId, authorized, at, ...(reason ? { reason } : {}) }));
    },

    retry({ opId, userId }) {
      return act('retry', opId, userId, (authorized, at) => ({ type: 'RETRY', userId, authorized, at }));
    },

    skip({ opId, userId }) {
      return act('skip', opId, userId, (authorized, at) => ({ type: 'SKIP', userId, authorized, at }));
    },

    async abort({ opId, userId, reason }) {
      const id = opId ?? (await store.activeFor(env));
      if (!id) return { ok: false, reason: 'unknown-operation', message: `There is no active operation in ${env} to abort.` };
      return act('abort', id, userId, (authorized, at) => ({ type: 'ABORT', userId, authorized, at, ...(reason ? { reason } : {}) }));
    },

    get,

    async status() {
      const [activeId, lastId] = await Promise.all([store.activeFor(env), store.lastFinished(env)]);
      return {
        active: activeId ? await get(activeId) : null,
        last: lastId ? await get(lastId) : null,
      };
    },

    timeline(opId) {
      return store.timeline(opId);
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function stepList(calls: StepCall[]): string {
  return [...new Set(calls.map((c) => STEP_TITLES[c.stepId] ?? c.stepId))].join(' and ');
}

function settling(opId: string, calls: StepCall[]): RequestResult {
  return {
    ok: false,
    code: 'settling',
    activeId: opId,
    stepIds: [...new Set(calls.map((c) => c.stepId))],
    message: `${opId} was aborted while ${stepList(calls)} was still running; waiting for it to settle. Its outcome goes on the timeline of ${opId}; request again once it is there.`,
  };
}

/** Says what is running, so "failback refused" reads as "the failover is not finished yet". */
function alreadyActive(activeId: string, requested: OperationKind, activeKind: OperationKind | undefined): RequestResult {
  const what = activeKind ? ` (a ${activeKind})` : '';
  return {
    ok: false,
    code: 'already-active',
    activeId,
    ...(activeKind ? { activeKind } : {}),
    message: `${activeId} is already in progress${what}: only one operation per environment runs at a time. Let it finish or abort it, then request the ${requested} again.`,
  };
}
