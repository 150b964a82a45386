import { initialSteps } from './records.js';
import { RUNBOOKS } from './runbook.js';
import { operationSetup } from './machine-setup.js';
import { MACHINE_ID, type Runbooks } from './stages.js';
import {
  awaitingApprovalState,
  pausedState,
  preflightState,
  recheckState,
  runningState,
  undoingState,
} from './states.js';

/**
 * The operation machine: preflight → awaitingApproval → recheck → running (stages generated from
 * the runbooks) → completed, with paused/rejected/aborted/expired/refused. Pure: all I/O happens
 * in the `preflight` and `runStep` actors the engine provides, and time comes from `now` or the
 * events' `at`, so tests drive it with a simulated clock.
 */
export function createOperationMachine(deps: { now?: () => number; runbooks?: Runbooks } = {}) {
  const now = deps.now ?? Date.now;
  // Custom steps (config `runbook.steps`) are placed in these; the built-in runbooks otherwise.
  const runbooks = deps.runbooks ?? RUNBOOKS;
  return operationSetup(now).createMachine({
    id: MACHINE_ID,
    context: ({ input }) => ({
      ...input,
      runbook: runbooks[input.kind].stages.map((stage) => [...stage]),
      ...(runbooks[input.kind].custom ? { custom: [...runbooks[input.kind].custom!] } : {}),
      approvals: [],
      steps: initialSteps(runbooks[input.kind]),
    }),
    entry: 'emitRequested',
    initial: 'preflight',
    states: {
      preflight: preflightState(),
      awaitingApproval: awaitingApprovalState(),
      recheck: recheckState(),
      running: runningState(runbooks, now),
      paused: pausedState(runbooks),
      undoing: undoingState(runbooks),
      completed: { type: 'final', entry: 'complete' },
      rejected: { type: 'final' },
      aborted: { type: 'final' },
      expired: { type: 'final' },
      refused: { type: 'final' },
    },
  });
}

export type OperationMachine = ReturnType<typeof createOperationMachine>;
