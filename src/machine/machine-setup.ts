// The typed XState setup of the operation machine: context, events, the placeholder actors the
// engine replaces, the approval-expiry delay, guards and actions. The state config types used
// to build the states in stages.ts and states.ts come from it.
import { fromPromise, setup } from 'xstate';
import type { DomainEvent, PreflightReport, StepOutcome } from '../domain/types.js';
import { operationActions } from './actions.js';
import { operationGuards } from './guards.js';
import type { Clock } from './machine-action.js';
import { lastResortActions, lastResortGuards } from './last-resort.js';
import { manualActions, manualGuards } from './manual.js';
import { stepActions } from './step-actions.js';
import { undoActions, undoGuards } from './undo.js';
import type {
  OperationContext,
  OperationEvent,
  OperationInput,
  PreflightInput,
  RunStepInput,
  UndoInput,
} from './types.js';

function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(
      `the ${name} actor was not provided: use machine.provide({ actors: { ${name} } })`,
    );
  });
}

export function operationSetup(now: Clock) {
  return setup({
    types: {
      context: {} as OperationContext,
      events: {} as OperationEvent,
      input: {} as OperationInput,
      emitted: {} as DomainEvent,
    },
    actors: {
      preflight: notProvided<PreflightReport, PreflightInput>('preflight'),
      runStep: notProvided<StepOutcome, RunStepInput>('runStep'),
      undoDataTier: notProvided<{ summary: string }, UndoInput>('undoDataTier'),
    },
    delays: {
      // Computed from the stored deadline, not a fixed timeout, so the remaining time is right
      // whenever the state is (re-)entered.
      approvalExpiry: ({ context }) => Math.max(0, (context.expiresAt ?? now()) - now()),
    },
    guards: { ...operationGuards, ...undoGuards, ...manualGuards, ...lastResortGuards },
    actions: {
      ...operationActions(now),
      ...stepActions(now),
      ...undoActions(now),
      ...manualActions(now),
      ...lastResortActions(now),
    },
  });
}

type MachineConfig = Parameters<ReturnType<typeof operationSetup>['createMachine']>[0];
/** One state's config, typed with the machine's actors, guards and actions. */
export type NodeConfig = NonNullable<MachineConfig['states']>[string];
export type Transitions = NonNullable<NodeConfig['on']>;
