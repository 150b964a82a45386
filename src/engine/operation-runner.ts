import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createActor, type Actor } from 'xstate';
import type {
  DomainEvent,
  Evidence,
  OperationView,
  StepId,
  TimelineEntry,
} from '../domain/types.js';
import { DrError, errorInfo, FencedWriteError, StaleVersionError } from '../errors.js';
import {
  toView,
  type OperationEvent,
  type OperationInput,
  type OperationMachine,
  type Runbooks,
} from '../machine/index.js';
import type { CreateResult, OperationStore } from '../store/types.js';
import { restoreChecked } from './restore.js';
import type { EngineNotification } from './types.js';

export interface RunnerDeps {
  machine: OperationMachine;
  /** What the machine was generated from: a stored operation must match them to be resumed. */
  runbooks?: Runbooks;
  store: OperationStore;
  log: Logger;
  now: () => number;
  /** Waits before each retry of a failed save, create or append: SAVE_RETRY_DELAYS_MS. */
  saveRetryDelaysMs?: readonly number[];
  notify: (n: EngineNotification) => void;
  /** Called once, after the final snapshot is persisted. */
  onFinished: (view: OperationView) => void;
  /** Called when a compare-and-set save was refused: another process owns the operation now. */
  onLost: (id: string) => void;
}

type RunnerState = 'live' | 'finished' | 'lost' | 'stopped' | 'refused';

/**
 * store.create's answer, or the error that kept it from answering. `uncertain`: no attempt got an
 * answer from Redis (the connection dropped), so the first one may have been applied all the same.
 */
type CreateOutcome = CreateResult | { ok: false; error: unknown; uncertain: boolean };

/**
 * Saves that fail for another reason than a stale version (Redis restarting) are retried a few
 * times; so are the create and progress appends, each attempt with the same id.
 */
export const SAVE_RETRY_DELAYS_MS = [200, 1000, 3000];

/** An error Redis itself answered (not a lost connection): repeating the same write changes nothing. */
const isAnswered = (err: unknown) => err instanceof DrError && !err.retryable;

/**
 * One operation's actor and its persistence. Every snapshot the actor publishes is written with
 * compare-and-set, together with the domain events emitted since the previous write, through a
 * serial queue: the store sees transitions in the order they happened and never two at once.
 */
export class OperationRunner {
  readonly id: string;
  readonly actor: Actor<OperationMachine>;
  /** The last persisted state: what get(), status() and notifications show. */
  view: OperationView;
  /** The actor's state right now, possibly not yet persisted: what policy answers are based on. */
  liveView: OperationView;
  private state: RunnerState = 'live';
  private version: number;
  private pending: TimelineEntry[] = [];
  /** Entries of a save that failed for good; the next save carries them so the timeline misses nothing. */
  private unsaved: TimelineEntry[] = [];
  /**
   * Saves that failed for good but may have been applied all the same (Redis wrote them and the
   * reply was lost), each with how many of the leading `unsaved` entries it wrote. At most one
   * of them can have landed (they all expected the same version).
   */
  private uncertain: { saveId: string; entryCount: number }[] = [];
  private queue: Promise<void> = Promise.resolve();
  /**
   * The snapshot last handed to the queue (not the last one saved): a transition back to it
   * before the queue drains must still be written, so compare with what was queued last.
   */
  private lastQueuedJson: string | undefined;
  private readonly log: Logger;
  private createResult: ((r: CreateOutcome) => void) | undefined;
  /** Steps that were running when the previous process stopped, until their first call here. */
  private readonly resumedSteps = new Set<StepId>();

  private constructor(
    private readonly deps: RunnerDeps,
    id: string,
    actor: Actor<OperationMachine>,
    version: number,
    persistedJson?: string,
  ) {
    this.id = id;
    this.actor = actor;
    this.version = version;
    this.lastQueuedJson = persistedJson;
    this.log = deps.log.child({ opId: id });
    this.view = toView(actor.getSnapshot());
    this.liveView = this.view;
    actor.on('*', (event) => {
      this.pending.push({ ...(event as DomainEvent), opId: id, at: deps.now() });
    });
    actor.subscribe({
      next: () => this.onSnapshot(),
      error: (err) =>
        this.log.error(
          { err: errorInfo(err) },
          'operation actor crashed; its last persisted state is kept',
        ),
    });
  }

  /**
   * A new operation: its first snapshot is written with store.create, which takes the env lock.
   * Resolves with the create result; when the lock is held the actor is stopped and nothing is written.
   */
  static start(
    deps: RunnerDeps,
    input: OperationInput,
    register: (r: OperationRunner) => void,
  ): Promise<{ runner: OperationRunner; created: CreateOutcome }> {
    const actor = createActor(deps.machine, { input });
    const runner = new OperationRunner(deps, input.id, actor, 0);
    register(runner);
    const created = new Promise<CreateOutcome>((resolve) => {
      runner.createResult = resolve;
    });
    actor.start();
    return created.then((c) => ({ runner, created: c }));
  }

  /**
   * A persisted operation taken over after a restart. Steps that were running are recorded as
   * resumed before the actor restarts them (runStep re-checks them before acting). Throws
   * UnrestorableOperation, before anything runs, when this version cannot drive it.
   */
  static async resume(
    deps: RunnerDeps,
    id: string,
    version: number,
    snapshot: unknown,
    register: (r: OperationRunner) => void,
    snapshotError?: string,
  ): Promise<OperationRunner> {
    const actor = restoreChecked(deps.machine, id, snapshot, snapshotError, deps.runbooks);
    const runner = new OperationRunner(deps, id, actor, version, JSON.stringify(snapshot));
    register(runner);
    const resumed: TimelineEntry[] = runner.view.steps
      .filter((s) => s.status === 'running')
      .map((s) => ({ type: 'StepResumed', stepId: s.id, opId: id, at: deps.now() }));
    for (const e of resumed) runner.resumedSteps.add((e as { stepId: StepId }).stepId);
    if (resumed.length > 0) {
      await deps.store.append(id, resumed);
      deps.notify({ op: runner.view, entries: resumed });
    }
    runner.log.info(
      {
        phase: runner.view.phase,
        resumedSteps: resumed.map((e) => (e as { stepId: StepId }).stepId),
      },
      'operation resumed',
    );
    actor.start();
    runner.send({ type: 'TICK', at: deps.now() });
    return runner;
  }

  get live(): boolean {
    return this.state === 'live';
  }

  get lost(): boolean {
    return this.state === 'lost';
  }

  get finished(): boolean {
    return this.state === 'finished';
  }

  send(event: OperationEvent): void {
    if (this.state !== 'live') return;
    this.actor.send(event);
  }

  /** True once for a step that was running when the previous process stopped. */
  takeResumed(stepId: StepId): boolean {
    return this.resumedSteps.delete(stepId);
  }

  /** Resolves when everything sent so far is persisted (or refused as stale). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Step progress: a timeline entry outside the snapshot, in order with the transitions. */
  progress(stepId: StepId, message: string, data?: Evidence): void {
    if (this.state !== 'live') return;
    const entry: TimelineEntry = {
      type: 'StepProgress',
      stepId,
      message,
      ...(data ? { data } : {}),
      opId: this.id,
      at: this.deps.now(),
    };
    // One id for every attempt: an attempt Redis applied but whose reply was lost makes the
    // retry a no-op, so the timeline shows the entry once.
    const appendId = randomUUID();
    this.enqueue(async () => {
      for (let attempt = 0; ; attempt++) {
        if (this.state === 'lost' || this.state === 'refused') return;
        try {
          await this.deps.store.append(this.id, [entry], { appendId });
          break;
        } catch (err) {
          const delay = (this.deps.saveRetryDelaysMs ?? SAVE_RETRY_DELAYS_MS)[attempt];
          if (delay === undefined || isAnswered(err)) throw err;
          this.log.warn(
            { err: errorInfo(err), stepId, attempt: attempt + 1 },
            'writing a step progress entry failed, retrying',
          );
          await new Promise((r) => setTimeout(r, delay));
        }
      }
      this.deps.notify({ op: this.view, entries: [entry] });
    });
  }

  /**
   * Before a step acts: the snapshot recording it as running is saved, and the state store
   * confirms it on disk and on a replica (as far as it has them). Throws otherwise, so the step
   * fails before any effect and the operation pauses for a person.
   */
  async confirmRecorded(): Promise<void> {
    await this.queue;
    if (this.state === 'lost' || this.state === 'refused')
      throw new DrError(
        'fenced',
        `this process no longer drives ${this.id} (another instance does): the step was not run`,
      );
    let missing: string | undefined;
    if (this.uncertain.length > 0) missing = 'the save of this step failed';
    else
      missing = await this.deps.store
        .confirmWritten?.()
        .catch((err: unknown) => `the state Redis did not answer (${errorInfo(err).message})`);
    if (missing)
      throw new DrError(
        'timeout',
        `the state store did not confirm the write: nothing was changed (${missing}). Retry once the state Redis and its replica answer`,
        { retryable: true },
      );
  }

  /** Stop driving the operation; it stays persisted for the next start. */
  async stop(): Promise<void> {
    if (this.state === 'live') this.state = 'stopped';
    this.actor.stop();
    await this.queue;
  }

  private onSnapshot(): void {
    if (this.state !== 'live') return;
    const snapshot = this.actor.getSnapshot();
    const persisted = this.actor.getPersistedSnapshot();
    const json = JSON.stringify(persisted);
    const entries = this.pending.splice(0);
    const final = snapshot.status === 'done';
    const view = toView(snapshot);
    this.liveView = view;
    if (final) this.state = 'finished';
    if (this.createResult) {
      const resolve = this.createResult;
      this.createResult = undefined;
      this.lastQueuedJson = json;
      this.enqueue(() => this.create(json, entries, view, resolve));
      return;
    }
    if (!final && entries.length === 0 && json === this.lastQueuedJson) return;
    this.lastQueuedJson = json;
    this.enqueue(() => this.save(json, entries, view, final));
  }

  /**
   * The create is idempotent on the operation id (the same create arriving again is its own
   * success), so an attempt whose reply was lost is retried as it is: Redis either applied it
   * (the retry answers "created") or did not (the retry creates it, or finds another operation
   * holding the lock). Only when no attempt got an answer is the outcome left uncertain.
   */
  private async create(
    json: string,
    entries: TimelineEntry[],
    view: OperationView,
    resolve: (r: CreateOutcome) => void,
  ): Promise<void> {
    const op = {
      id: this.id,
      env: view.env,
      kind: view.kind,
      snapshot: JSON.parse(json) as unknown,
      entries,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.deps.store.create(op);
        if (res.ok) {
          this.version = res.version;
          this.view = view;
          if (attempt > 0)
            this.log.info(
              { attempts: attempt + 1 },
              'the operation was created after its store connection dropped',
            );
          this.deps.notify({ op: view, entries });
        } else {
          this.state = 'refused';
          this.actor.stop();
        }
        resolve(res);
        return;
      } catch (err) {
        const delay = (this.deps.saveRetryDelaysMs ?? SAVE_RETRY_DELAYS_MS)[attempt];
        if (delay === undefined || isAnswered(err)) {
          this.state = 'refused';
          this.actor.stop();
          this.log.error(
            { err: errorInfo(err), attempts: attempt + 1 },
            'could not create the operation in the store',
          );
          resolve({ ok: false, error: err, uncertain: !isAnswered(err) });
          return;
        }
        this.log.warn(
          { err: errorInfo(err), attempt: attempt + 1 },
          'creating the operation in the store failed, retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async save(
    json: string,
    fresh: TimelineEntry[],
    view: OperationView,
    final: boolean,
  ): Promise<void> {
    if (this.state === 'lost' || this.state === 'refused') return;
    let entries = [...this.unsaved, ...fresh];
    this.unsaved = [];
    // One id for every attempt of this save: an attempt whose reply was lost but that Redis
    // applied makes the next attempt a no-op success instead of a stale refusal.
    const saveId = randomUUID();
    for (let attempt = 0; ; attempt++) {
      try {
        this.version = await this.deps.store.save(
          this.id,
          this.version,
          JSON.parse(json),
          entries,
          { final, saveId },
        );
        this.view = view;
        this.uncertain = [];
        break;
      } catch (err) {
        if (err instanceof FencedWriteError) {
          this.state = 'lost';
          this.actor.stop();
          this.log.error(
            { err: errorInfo(err), phase: view.phase },
            'the instance lease is not ours any more: this process stops driving the operation',
          );
          this.deps.onLost(this.id);
          return;
        }
        let transient = err;
        if (err instanceof StaleVersionError) {
          const earlier = await this.ownEarlierSave().catch((loadErr: unknown) => ({
            unknown: loadErr,
          }));
          if (earlier && 'entryCount' in earlier) {
            // An earlier save of ours landed after all: its entries are in the timeline already.
            entries = entries.slice(earlier.entryCount);
            continue;
          }
          if (earlier === undefined) {
            this.state = 'lost';
            this.actor.stop();
            this.log.error(
              { err: errorInfo(err), phase: view.phase },
              'another process wrote this operation first: this process stops driving it and does not overwrite the stored state',
            );
            this.deps.onLost(this.id);
            return;
          }
          // Could not read the store to tell whose version it is: as good as Redis being away.
          transient = earlier.unknown;
        }
        const delay = (this.deps.saveRetryDelaysMs ?? SAVE_RETRY_DELAYS_MS)[attempt];
        if (delay === undefined) {
          this.log.error(
            { err: errorInfo(transient), phase: view.phase },
            'could not persist the operation; it keeps running in memory and the next transition retries',
          );
          this.unsaved = entries;
          this.uncertain.push({ saveId, entryCount: entries.length });
          // The store is behind: the next snapshot must be written even if it looks unchanged.
          this.lastQueuedJson = undefined;
          return;
        }
        this.log.warn(
          { err: errorInfo(transient), attempt: attempt + 1 },
          'saving the operation failed, retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.deps.notify({ op: view, entries });
    if (final) this.deps.onFinished(view);
  }

  /**
   * After a stale refusal: is the stored version one of our own saves that failed for good (its
   * reply lost)? If so, adopt it and say how many pending entries it already wrote; undefined
   * when another writer made it.
   */
  private async ownEarlierSave(): Promise<{ entryCount: number } | undefined> {
    if (this.uncertain.length === 0) return undefined;
    const stored = await this.deps.store.load(this.id);
    if (!stored || stored.version !== this.version + 1) return undefined;
    const mine = this.uncertain.find((u) => u.saveId === stored.saveId);
    if (!mine) return undefined;
    this.log.info(
      { version: stored.version },
      'a save whose reply was lost had been applied; continuing from it',
    );
    this.version = stored.version;
    this.uncertain = [];
    return { entryCount: mine.entryCount };
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => {
      this.log.error({ err: errorInfo(err) }, 'operation persistence task failed');
    });
  }
}
