// What the engine's functions share: its dependencies and the state one engine keeps in memory
// (the runners it drives, recent finished views, listeners, step calls under way). Types only.
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { OperationView, StepId } from '../domain/types.js';
import type { OperationMachine, Runbooks } from '../machine/index.js';
import type { Step } from '../steps/index.js';
import type { Providers } from '../providers/types.js';
import type { OperationStore } from '../store/types.js';
import type { OperationRunner, RunnerDeps } from './operation-runner.js';
import type { Authorizer, EngineNotification } from './types.js';

export interface EngineDeps {
  config: DrConfig;
  store: OperationStore;
  providers: Providers;
  authorizer: Authorizer;
  log: Logger;
  now?: () => number;
  /** How often operations awaiting approval get a TICK (expiry check). Default 5000. */
  tickMs?: number;
  /** Waits before each automatic re-check of a step whose connection was lost (run-step.ts). */
  recheckDelaysMs?: readonly number[];
  /** Waits before each retry of a store write whose reply was lost (operation-runner.ts). */
  saveRetryDelaysMs?: readonly number[];
}

/** A provider call of a step, under way in this process. */
export interface StepCall {
  opId: string;
  stepId: StepId;
  /** As people read it (a custom step by its configured title). */
  title: string;
  startedAt: number;
}

export interface EngineContext {
  config: DrConfig;
  store: OperationStore;
  providers: Providers;
  authorizer: Authorizer;
  env: string;
  now: () => number;
  log: Logger;
  tickMs: number;
  recheckDelaysMs: readonly number[];
  saveRetryDelaysMs: readonly number[];
  machine: OperationMachine;
  /** The runbooks with the config's custom steps placed, and those steps by id. */
  runbooks: Runbooks;
  customSteps: ReadonlyMap<StepId, Step>;
  runnerDeps: RunnerDeps;
  register: (r: OperationRunner) => void;
  runners: Map<string, OperationRunner>;
  /** Views of operations that finished in this process, so status() needs no restore for them. */
  finishedViews: Map<string, OperationView>;
  listeners: Set<(n: EngineNotification) => void>;
  ticker: NodeJS.Timeout | undefined;
  /**
   * Step calls under way. An abort cannot interrupt a provider call: the machine abandons its
   * promise and the operation finishes (releasing the lock) while the call goes on. Until such a
   * call settles no new operation may start, or two could touch DNS or the databases at once.
   * In memory on purpose: after a restart the call died with the old process, so nothing is left
   * to wait for.
   */
  stepCalls: Set<StepCall>;
  /** Operations that finished as aborted while some of their step calls were still under way. */
  abortedWithCalls: Set<string>;
  /**
   * Creates reported to the requester as failed whose outcome is unknown: the connection dropped
   * and no attempt got an answer, so Redis may hold the operation and its env lock all the same.
   * Each is withdrawn (removed, if still untouched) as soon as Redis answers, so nobody meets an
   * operation "already in progress" that was never shown to anyone.
   */
  unconfirmed: Set<string>;
  withdrawing: Promise<void> | undefined;
  /** Head starts still setting the secondary's counts, by operation (head-start.ts). */
  headStarts: Map<string, Promise<void>>;
  /** Finished operations whose head start could not be withdrawn yet: each tick tries again. */
  headStartsLeft: Set<string>;
  retryingHeadStarts: Promise<void> | undefined;
}
