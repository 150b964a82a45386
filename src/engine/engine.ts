import type { Logger } from 'pino';
import { fromPromise } from 'xstate';
import type { DrConfig } from '../config/schema.js';
import { commandRef, plainCommands } from '../domain/commands.js';
import {
  FINAL_PHASES,
  type OperationKind,
  type OperationView,
  type PreflightReport,
  type StepId,
  type StepOutcome,
  type TimelineEntry,
} from '../domain/types.js';
import { DrError, errorInfo, StaleVersionError } from '../errors.js';
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
import {
  closedSnapshot,
  restoreActor,
  restoreChecked,
  restoreReadable,
  UnrestorableOperation,
} from './restore.js';
import { runStepOnce } from './run-step.js';
import type {
  ActionOutcome,
  Authorizer,
  Engine,
  EngineNotification,
  RequestResult,
} from './types.js';

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
  /**
   * Creates reported to the requester as failed whose outcome is unknown: the connection dropped
   * and no attempt got an answer, so Redis may hold the operation and its env lock all the same.
   * Each is withdrawn (removed, if still untouched) as soon as Redis answers, so nobody meets an
   * operation "already in progress" that was never shown to anyone.
   */
  const unconfirmed = new Set<string>();
  let withdrawing: Promise<void> | undefined;

  function withdrawUnconfirmed(): Promise<void> {
    if (unconfirmed.size === 0) return Promise.resolve();
    withdrawing ??= (async () => {
      try {
        for (const id of [...unconfirmed]) {
          let res;
          try {
            res = await store.withdraw(id);
          } catch (err) {
            log.warn(
              { opId: id, err: errorInfo(err) },
              'could not yet remove an operation whose create was reported as failed; trying again later',
            );
            continue;
          }
          unconfirmed.delete(id);
          if (res === 'withdrawn')
            log.warn(
              { opId: id },
              'removed an operation that Redis recorded after all though its requester was told the request failed; the environment is unlocked',
            );
          else if (res === 'absent')
            log.info(
              { opId: id },
              'an operation whose create was reported as failed never reached Redis: nothing to remove',
            );
          else
            log.warn(
              { opId: id },
              'an operation whose create was reported as failed is recorded and was saved since (another process drives it); it is kept',
            );
        }
      } finally {
        withdrawing = undefined;
      }
    })();
    return withdrawing;
  }

  function abandonedCalls(opId?: string): StepCall[] {
    return [...stepCalls].filter(
      (c) => abortedWithCalls.has(c.opId) && (opId === undefined || c.opId === opId),
    );
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
          log.error(
            { opId: call.opId, stepId: call.stepId, err: errorInfo(err) },
            'could not record how a step call left running by an abort ended',
          );
        } finally {
          stepCalls.delete(call);
          if (!abandonedCalls(call.opId).length) abortedWithCalls.delete(call.opId);
        }
      });
  }

  async function recordSettlement(
    call: StepCall,
    outcome: StepOutcome | undefined,
    error: unknown,
  ): Promise<void> {
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
    log.warn(
      { opId: call.opId, stepId: call.stepId, outcome: entry.outcome, detail: entry.detail },
      'a step call left running by an abort has settled',
    );
    const view = finishedViews.get(call.opId) ?? (await get(call.opId));
    if (view) runnerDeps.notify({ op: view, entries: [entry] });
  }

  const machine: OperationMachine = createOperationMachine({ now }).provide({
    actors: {
      preflight: fromPromise<PreflightReport, PreflightInput>(({ input }) =>
        runPreflight(providers, input, now),
      ),
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
            targets: {
              rtoMinutes: config.targets.rtoMinutes,
              rpoMinutes: config.targets.rpoMinutes,
            },
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
      if (view.phase === 'aborted' && [...stepCalls].some((c) => c.opId === view.id))
        abortedWithCalls.add(view.id);
      rememberFinished(view);
      log.info({ opId: view.id, phase: view.phase }, 'operation finished');
    },
    onLost(id) {
      runners.delete(id);
    },
  };

  const register = (r: OperationRunner) => runners.set(r.id, r);

  /** The active operation for the refusal text: its kind, or why this version cannot resume it. */
  async function describeActive(
    id: string,
  ): Promise<{ kind?: OperationKind; unrestorable?: string }> {
    try {
      const kind = (await get(id))?.kind;
      return kind ? { kind } : {};
    } catch (err) {
      return err instanceof UnrestorableOperation ? { unrestorable: err.why } : {};
    }
  }

  /**
   * A stored operation's view without running it: the snapshot restored into an actor never
   * started. An active one must also be one this version can drive (its runbook unchanged);
   * a finished one only has to be readable. Throws UnrestorableOperation otherwise.
   */
  function viewOfPersisted(p: PersistedOperation): OperationView {
    if (p.status === 'active')
      return toView(restoreChecked(machine, p.id, p.snapshot, p.snapshotError).getSnapshot());
    if (p.snapshotError) throw new UnrestorableOperation(p.id, p.snapshotError);
    return toView(restoreReadable(machine, p.id, p.snapshot).getSnapshot());
  }

  /** Why this version cannot resume the active operation `id`, or null when it can (or it is not active). */
  async function unrestorableWhy(id: string): Promise<string | null> {
    const p = await store.load(id);
    if (!p || p.status !== 'active') return null;
    try {
      viewOfPersisted(p);
      return null;
    } catch (err) {
      if (err instanceof UnrestorableOperation) return err.why;
      throw err;
    }
  }

  function rememberFinished(view: OperationView): void {
    finishedViews.set(view.id, view);
    // Only recent ones are worth keeping in memory; older views are restored from the store.
    if (finishedViews.size > FINISHED_VIEWS_KEPT)
      finishedViews.delete(finishedViews.keys().next().value!);
  }

  /**
   * An abort of an operation this version cannot resume: an approver closes it as aborted
   * without a running machine (a final compare-and-set save releases the lock). Nothing is
   * re-checked or undone; the answer says to check the components.
   */
  async function closeUnrestorable(
    id: string,
    userId: string,
    why: string,
    reason: string | undefined,
  ): Promise<ActionOutcome> {
    const authorized = await authorizer.isAuthorized(userId);
    const p = await store.load(id);
    if (!p)
      return {
        ok: false,
        reason: 'unknown-operation',
        message: refusalMessage('unknown-operation', id),
      };
    if (p.status !== 'active')
      return { ok: false, reason: 'finished', message: refusalMessage('finished', id) };
    const at = now();
    if (!authorized) {
      // The requester's own withdrawal needs to know the request is not approved yet, which an
      // unreadable operation cannot tell: closing it is for approvers.
      await store.append(id, [
        { type: 'ActionRefused', userId, action: 'abort', reason: 'unauthorized', opId: id, at },
      ]);
      log.info({ opId: id, userId }, 'abort of an unresumable operation refused: not an approver');
      return { ok: false, reason: 'unauthorized', message: refusalMessage('unauthorized', id) };
    }
    const snapshot = closedSnapshot(
      machine,
      { id, env: p.env, kind: p.kind, updatedAt: p.updatedAt, snapshot: p.snapshot },
      { userId, at },
    );
    const entry: TimelineEntry = {
      type: 'OperationAborted',
      userId,
      ...(reason ? { reason } : {}),
      notResumed: why,
      opId: id,
      at,
    };
    try {
      await store.save(id, p.version, snapshot, [entry], { final: true });
    } catch (err) {
      if (err instanceof StaleVersionError) {
        throw new DrError(
          'conflict',
          `${id} changed while it was being closed (another dr-bot process?), so nothing was written. Check ${commandRef('status')} and abort again if it is still active.`,
          { cause: err },
        );
      }
      throw err;
    }
    const view = toView(restoreActor(machine, snapshot).getSnapshot());
    rememberFinished(view);
    log.warn(
      { opId: id, userId, why },
      'operation this version could not resume closed as aborted; the environment is unlocked',
    );
    runnerDeps.notify({ op: view, entries: [entry] });
    return {
      ok: true,
      message: `${id} closed as aborted by <@${userId}> without resuming it (${why}). The environment is unlocked. Nothing was re-checked or undone: check the components (database writer, DNS, replicas) before the next operation.`,
      op: view,
    };
  }

  async function get(opId: string): Promise<OperationView | null> {
    const live = runners.get(opId);
    if (live) return live.view;
    const done = finishedViews.get(opId);
    if (done) return done;
    const p = await store.load(opId);
    return p ? viewOfPersisted(p) : null;
  }

  /**
   * Environments may share a state Redis (their keys are apart, operation ids unique across
   * them): an id typed here may name another environment's operation, which this engine never
   * drives, and which this environment's approvers must not approve, abort or close.
   */
  function otherEnvironment(opId: string, other: string): ActionOutcome {
    return {
      ok: false,
      reason: 'other-environment',
      message: `${opId} is an operation of ${other}, not of ${env}: act on it with the bot (or dr console) of ${other}.`,
    };
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
      const stored = await store.load(opId);
      if (stored && stored.env !== env) return otherEnvironment(opId, stored.env);
      let view: OperationView | null;
      try {
        view = await get(opId);
      } catch (err) {
        if (err instanceof UnrestorableOperation)
          return { ok: false, reason: 'unrestorable', message: err.message };
        throw err;
      }
      if (!view)
        return {
          ok: false,
          reason: 'unknown-operation',
          message: refusalMessage('unknown-operation', opId),
        };
      if (FINAL_PHASES.includes(view.phase))
        return {
          ok: false,
          reason: 'finished',
          message: refusalMessage('finished', opId, view),
          op: view,
        };
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
    if (refusal)
      return { ok: false, reason: refusal, message: refusalMessage(refusal, opId, op), op };
    const left = action === 'abort' ? abandonedCalls(opId) : [];
    const still = left.length
      ? ` ${stepList(left)} was still running and cannot be interrupted: its outcome goes on the timeline when it settles, and no new operation starts before that.`
      : '';
    return { ok: true, message: successMessage(action, op, userId) + still, op };
  }

  function tick(): void {
    void withdrawUnconfirmed();
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
          await OperationRunner.resume(
            runnerDeps,
            id,
            p.version,
            p.snapshot,
            register,
            p.snapshotError,
          );
        } catch (err) {
          // One unreadable operation must not keep the bot (and the others) down.
          runners.delete(id);
          if (err instanceof UnrestorableOperation) {
            log.error(
              { opId: id, version: p.version, kind: p.kind, why: err.why },
              `${plainCommands(err.message)} Nothing was run for it.`,
            );
            continue;
          }
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
      await withdrawUnconfirmed();
      // Cheap early answer; store.create below is the atomic guard against a concurrent request.
      const active = await store.activeFor(env);
      if (active) return alreadyActive(active, kind, await describeActive(active));
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
        if ('activeId' in created)
          return alreadyActive(created.activeId, kind, await describeActive(created.activeId));
        // Redis may have recorded it before the connection dropped: remove it once Redis answers.
        if (created.uncertain) {
          unconfirmed.add(id);
          void withdrawUnconfirmed();
        }
        const leftover = created.uncertain
          ? ` If Redis recorded it before the connection dropped, dr-bot removes it as soon as Redis answers again, so it does not hold ${env}.`
          : '';
        throw new DrError(
          'provider',
          `could not record ${id} in the state Redis, so nothing was started: ${errorInfo(created.error).message.replace(/\.$/, '')}.${leftover} Check REDIS_URL and that Redis answers, then request again.`,
          {
            retryable: true,
            cause: created.error,
          },
        );
      }
      log.info({ opId: id, kind, mode, requester }, 'operation requested');
      await runner.idle();
      return { ok: true, op: runner.view };
    },

    approve({ opId, userId, planHash }) {
      return act(
        'approve',
        opId,
        userId,
        (authorized, at) => ({ type: 'APPROVE', userId, planHash, authorized, at }),
        planHash,
      );
    },

    reject({ opId, userId, reason }) {
      return act('reject', opId, userId, (authorized, at) => ({
        type: 'REJECT',
        userId,
        authorized,
        at,
        ...(reason ? { reason } : {}),
      }));
    },

    retry({ opId, userId }) {
      return act('retry', opId, userId, (authorized, at) => ({
        type: 'RETRY',
        userId,
        authorized,
        at,
      }));
    },

    skip({ opId, userId }) {
      return act('skip', opId, userId, (authorized, at) => ({
        type: 'SKIP',
        userId,
        authorized,
        at,
      }));
    },

    async abort({ opId, userId, reason }) {
      await withdrawUnconfirmed();
      const id = opId ?? (await store.activeFor(env));
      if (!id)
        return {
          ok: false,
          reason: 'unknown-operation',
          message: `There is no active operation in ${env} to abort.`,
        };
      if (!runners.get(id)?.live) {
        const stored = await store.load(id);
        if (stored && stored.env !== env) return otherEnvironment(id, stored.env);
        const why = await unrestorableWhy(id);
        if (why !== null) return closeUnrestorable(id, userId, why, reason);
      }
      return act('abort', id, userId, (authorized, at) => ({
        type: 'ABORT',
        userId,
        authorized,
        at,
        ...(reason ? { reason } : {}),
      }));
    },

    get,

    async status() {
      await withdrawUnconfirmed();
      const [activeId, lastId] = await Promise.all([store.activeFor(env), store.lastFinished(env)]);
      let active: OperationView | null = null;
      let unrestorable: { id: string; reason: string } | undefined;
      if (activeId) {
        try {
          active = await get(activeId);
        } catch (err) {
          if (!(err instanceof UnrestorableOperation)) throw err;
          unrestorable = { id: activeId, reason: err.why };
        }
      }
      let last: OperationView | null = null;
      if (lastId) {
        try {
          last = await get(lastId);
        } catch (err) {
          if (!(err instanceof UnrestorableOperation)) throw err;
          log.warn(
            { opId: lastId, why: err.why },
            'the last finished operation cannot be shown by this version',
          );
        }
      }
      return { active, last, ...(unrestorable ? { unrestorable } : {}) };
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
function alreadyActive(
  activeId: string,
  requested: OperationKind,
  active: { kind?: OperationKind; unrestorable?: string },
): RequestResult {
  const activeKind = active.kind;
  const what = activeKind ? ` (a ${activeKind})` : '';
  return {
    ok: false,
    code: 'already-active',
    activeId,
    ...(activeKind ? { activeKind } : {}),
    ...(active.unrestorable ? { unrestorable: active.unrestorable } : {}),
    message: active.unrestorable
      ? `${activeId} holds the environment but cannot be resumed by this version of dr-bot (${active.unrestorable}). An approver can close it with ${commandRef('abort')}; then request the ${requested} again.`
      : `${activeId} is already in progress${what}: only one operation per environment runs at a time. Let it finish or abort it, then request the ${requested} again.`,
  };
}
