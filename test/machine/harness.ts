import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import type {
  ComponentReadiness,
  DomainEvent,
  PreflightReport,
  StepId,
  StepOutcome,
} from '../../src/domain/types.js';
import {
  createOperationMachine,
  type OperationInput,
  type OperationMachine,
  type PreflightInput,
  type RunStepInput,
  type UndoInput,
} from '../../src/machine/index.js';

export const REQUESTER = 'U-REQUESTER';
export const ALICE = 'U-ALICE';
export const BOB = 'U-BOB';
export const MALLORY = 'U-MALLORY';

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
export const TIMEOUT_MS = 30 * 60_000;

export function input(overrides: Partial<OperationInput> = {}): OperationInput {
  return {
    id: 'DR-20261125-093015',
    env: 'prod',
    kind: 'failover',
    requestedMode: 'auto',
    requester: REQUESTER,
    reason: 'eu-west-1 down',
    createdAt: T0,
    requiredApprovals: 1,
    approvalTimeoutMs: TIMEOUT_MS,
    ...overrides,
  };
}

export function component(
  name: ComponentReadiness['component'],
  overrides: Partial<ComponentReadiness> = {},
): ComponentReadiness {
  return {
    component: name,
    status: 'ready',
    summary: `${name} ready`,
    details: { lagBytes: 0 },
    planFacts: { target: `${name}-secondary` },
    ...overrides,
  };
}

export function report(overrides: Partial<PreflightReport> = {}): PreflightReport {
  return {
    mode: 'planned',
    components: [component('database'), component('cache'), component('dns')],
    checkedAt: T0,
    ...overrides,
  };
}

export function done(summary = 'done', extra: Partial<StepOutcome> = {}): StepOutcome {
  return { result: 'done', summary, evidence: { ok: true }, ...extra };
}

/**
 * Fake preflight and runStep actors with a simulated clock. Each step answers from its script,
 * one entry per attempt (the last entry repeats); unscripted steps succeed. A step scripted with
 * `hold` stays running until the test releases it.
 */
export class Harness {
  readonly clock = new SimulatedClock();
  readonly events: DomainEvent[] = [];
  readonly preflightCalls: PreflightInput[] = [];
  readonly stepCalls: RunStepInput[] = [];
  readonly undoCalls: UndoInput[] = [];
  readonly machine: OperationMachine;
  readonly logic: OperationMachine;
  // Keyed by invoke id: 'preflight', 'recheck' or the step id.
  private readonly held = new Map<
    string,
    { resolve: (o: never) => void; reject: (e: unknown) => void }
  >();

  constructor(
    readonly scripts: {
      preflight?: (PreflightReport | Error | 'hold')[];
      steps?: Partial<Record<StepId, (StepOutcome | Error | 'hold')[]>>;
      /** Every preflight and step call waits for release(): the test plays the actors' part. */
      holdAll?: boolean;
      /** The undo of a split data tier, one answer per call (the last repeats). */
      undo?: ({ summary: string } | Error)[];
    } = {},
    /** A machine to reuse (its clock is its own); by default one on this harness's clock. */
    machine?: OperationMachine,
  ) {
    this.clock.set(T0);
    this.machine = machine ?? createOperationMachine({ now: () => this.clock.now() });
    this.logic = this.machine.provide({
      actors: {
        preflight: fromPromise<PreflightReport, PreflightInput>(async ({ input }) => {
          this.preflightCalls.push(input);
          const list = this.scripts.holdAll
            ? ['hold' as const]
            : (this.scripts.preflight ?? [report()]);
          const answer = list[Math.min(this.preflightCalls.length - 1, list.length - 1)];
          if (answer === 'hold')
            return this.hold<PreflightReport>(
              input.purpose === 'initial' ? 'preflight' : 'recheck',
            );
          if (answer instanceof Error) throw answer;
          return answer;
        }),
        runStep: fromPromise<StepOutcome, RunStepInput>(async ({ input }) => {
          this.stepCalls.push(input);
          const list = this.scripts.holdAll
            ? ['hold' as const]
            : (this.scripts.steps?.[input.stepId] ?? [done(`${input.stepId} done`)]);
          const answer = list[Math.min(input.attempt - 1, list.length - 1)];
          if (answer === 'hold') return this.hold<StepOutcome>(input.stepId);
          if (answer instanceof Error) throw answer;
          return answer;
        }),
        undoDataTier: fromPromise<{ summary: string }, UndoInput>(async ({ input }) => {
          this.undoCalls.push(input);
          const list = this.scripts.undo ?? [{ summary: 'undone' }];
          const answer = list[Math.min(this.undoCalls.length - 1, list.length - 1)]!;
          if (answer instanceof Error) throw answer;
          return answer;
        }),
      },
    });
  }

  start(overrides: Partial<OperationInput> = {}) {
    const actor = createActor(this.logic, { input: input(overrides), clock: this.clock });
    actor.on('*', (e) => this.events.push(e as DomainEvent));
    actor.start();
    return actor;
  }

  restore(snapshot: unknown, overrides: Partial<OperationInput> = {}) {
    const actor = createActor(this.logic, {
      snapshot: snapshot as never,
      input: input(overrides),
      clock: this.clock,
    });
    actor.on('*', (e) => this.events.push(e as DomainEvent));
    actor.start();
    return actor;
  }

  private hold<T>(id: string): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.held.set(id, { resolve: resolve as (o: never) => void, reject }),
    );
  }

  /** Answer a held call: the preflight ('preflight' / 'recheck') or a step (its id). */
  release(id: string, answer: StepOutcome | PreflightReport | Error): void {
    const held = this.held.get(id);
    if (!held)
      throw new Error(`${id} is not held (held: ${[...this.held.keys()].join(', ') || 'none'})`);
    this.held.delete(id);
    if (answer instanceof Error) held.reject(answer);
    else held.resolve(answer as never);
  }

  heldIds(): string[] {
    return [...this.held.keys()].sort();
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  ofType<T extends DomainEvent['type']>(type: T): Extract<DomainEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<DomainEvent, { type: T }> => e.type === type);
  }
}

type OperationActor = ReturnType<Harness['start']>;

export function phase(actor: OperationActor): string {
  const value = actor.getSnapshot().value as string | Record<string, unknown>;
  return typeof value === 'string' ? value : Object.keys(value)[0];
}

export async function until(actor: OperationActor, wanted: string): Promise<void> {
  await waitFor(actor, (s) => {
    const value = s.value as string | Record<string, unknown>;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) === wanted;
  });
}

/** Let pending promise callbacks (fake actors answering) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export function approve(userId: string, planHash: string, at = T0 + 1000, authorized = true) {
  return { type: 'APPROVE' as const, userId, planHash, authorized, at };
}
