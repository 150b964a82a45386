/**
 * The operation machine (pure XState v5) and its approval policy.
 *
 * How the engine drives it:
 * - Provide the I/O: `machine.provide({ actors: { preflight: fromPromise<PreflightReport, PreflightInput>(...),
 *   runStep: fromPromise<StepOutcome, RunStepInput>(...) } })`. A rejected runStep promise is a failed
 *   step (the machine serializes the error with errorInfo()); an outcome with `verified: false` fails
 *   the step with code `verification-failed`; `result: 'not-configured'` skips it.
 * - Timeline: the machine `emit`s DomainEvents (OperationRequested when a new actor starts, then
 *   preflight, approval, step and final events); listen with `actor.on('*', ...)` before
 *   `actor.start()` and stamp `{ opId, at }`. Final phases end the actor (`snapshot.status === 'done'`).
 *   It also emits ApprovalRefused / ActionRefused for every refused click it receives, so send
 *   every click (with `authorized` from the Authorizer) and answer the person with
 *   `evaluateAction(view, ...)`, which applies the same policy the machine does.
 * - Persistence: save `actor.getPersistedSnapshot()` after each transition; resume with
 *   `createActor(machine.provide(...), { snapshot, input })`. On start, a restored actor re-invokes
 *   the `runStep` of every step that was running when the snapshot was taken (with the same
 *   input, so the same attempt number) and only those, and `preflight` if it was pre/re-checking.
 *   It does not emit StepStarted again: the engine adds StepResumed, and runStep must call
 *   check() before run(). A restored actor has no approval-expiry timer: send TICK right after
 *   resuming (and every few seconds anyway); TICK with `at >= expiresAt` expires the approval.
 * - ABORT while a step runs takes effect at once (`aborted`); the step's promise is abandoned
 *   (its AbortSignal fires) and the step is shown as failed with an "outcome unknown" error,
 *   because a call in flight cannot be taken back.
 *
 * Snapshot values name the step: `{ running: { failover: { 'stage-1': { 'promote-database': 'running',
 * 'promote-cache': 'succeeded' } } } }`, `{ paused: { failover: 'stage-1' } }`, `'awaitingApproval'`.
 */
export { createOperationMachine } from './operation-machine.js';
export type { Runbooks } from './stages.js';
export type { OperationMachine } from './operation-machine.js';
export { computePlanHash, evaluateAction } from './approval.js';
export type { OperationAction } from './approval.js';
export { phaseOf, toView } from './view.js';
export { abortedWhileWaiting } from './records.js';
export { machineDiagram } from './diagram.js';
export type {
  OperationContext,
  OperationEvent,
  OperationInput,
  PreflightInput,
  RunStepInput,
  UndoInput,
} from './types.js';
export {
  FAILBACK_RUNBOOK,
  FAILOVER_RUNBOOK,
  STEP_TITLES,
  runbookChange,
  runbookSteps,
} from './runbook.js';
