import { createActor, type Actor, type Snapshot } from 'xstate';
import type { OperationKind, StepState } from '../domain/types.js';
import { commandRef } from '../domain/commands.js';
import { DrError, errorInfo, type ErrorInfo } from '../errors.js';
import {
  abortedWhileWaiting,
  runbookChange,
  toView,
  type OperationContext,
  type OperationInput,
  type OperationMachine,
  type Runbooks,
} from '../machine/index.js';

/**
 * An actor from a persisted snapshot (not started). XState takes the state from the snapshot;
 * the input is required by the types only, so it is read back from the persisted context.
 */
export function restoreActor(
  machine: OperationMachine,
  snapshot: unknown,
): Actor<OperationMachine> {
  const context = (snapshot as { context: OperationInput }).context;
  const input: OperationInput = {
    id: context.id,
    env: context.env,
    kind: context.kind,
    requestedMode: context.requestedMode,
    requester: context.requester,
    reason: context.reason,
    createdAt: context.createdAt,
    requiredApprovals: context.requiredApprovals,
    approvalTimeoutMs: context.approvalTimeoutMs,
  };
  return createActor(machine, { snapshot: snapshot as Snapshot<unknown>, input });
}

/**
 * A stored operation this version cannot drive: its snapshot is unreadable, or it was started
 * under a runbook that a deploy has changed since. It keeps its environment locked until an
 * approver closes it with an abort (closedSnapshot), which needs no machine.
 */
export class UnrestorableOperation extends DrError {
  constructor(
    readonly opId: string,
    /** Why, in words for the person on call. */
    readonly why: string,
  ) {
    super(
      'conflict',
      `${opId} cannot be resumed by this version of dr-bot: ${why}. It keeps the environment locked until an approver closes it with ${commandRef('abort')}.`,
    );
  }
}

function isContext(value: unknown): value is OperationContext {
  const c = value as Partial<OperationContext> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.id === 'string' &&
    typeof c.kind === 'string' &&
    Array.isArray(c.steps) &&
    Array.isArray(c.approvals)
  );
}

/**
 * restoreActor for an operation to be driven again: refuses (UnrestorableOperation) a snapshot
 * that cannot be read, or whose runbook is not this version's, before anything runs.
 */
export function restoreChecked(
  machine: OperationMachine,
  opId: string,
  snapshot: unknown,
  snapshotError?: string,
  runbooks?: Runbooks,
): Actor<OperationMachine> {
  if (snapshotError) throw new UnrestorableOperation(opId, snapshotError);
  const context = (snapshot as { context?: unknown } | null)?.context;
  if (!isContext(context))
    throw new UnrestorableOperation(opId, 'its stored snapshot has no readable operation context');
  const change = runbookChange(
    context.kind,
    context.runbook,
    context.steps,
    runbooks,
    context.custom,
  );
  if (change) throw new UnrestorableOperation(opId, change);
  return restoreReadable(machine, opId, snapshot);
}

/** restoreActor, with a snapshot whose state this machine cannot resolve reported as unrestorable. */
export function restoreReadable(
  machine: OperationMachine,
  opId: string,
  snapshot: unknown,
): Actor<OperationMachine> {
  try {
    const actor = restoreActor(machine, snapshot);
    // Resolving the state is where XState finds states that do not exist in this machine.
    toView(actor.getSnapshot());
    return actor;
  } catch (err) {
    throw new UnrestorableOperation(
      opId,
      `its stored state cannot be read by this version (${errorInfo(err).message})`,
    );
  }
}

/** Why a step left running or waiting for Done failed when its operation was closed unresumed. */
function closedWhile(status: 'running' | 'waiting'): ErrorInfo {
  if (status === 'waiting') return abortedWhileWaiting();
  return {
    code: 'unknown',
    message:
      'This step was running when the operation could not be resumed; its outcome is unknown. Check the component before acting on it.',
    retryable: false,
  };
}

/** What the store still knows of an operation whose snapshot may be unreadable. */
interface StoredFacts {
  id: string;
  env: string;
  kind: OperationKind;
  updatedAt: number;
  snapshot: unknown;
}

/**
 * The persisted snapshot of an unrestorable operation closed as aborted: its own context where
 * that can be read (steps that were running or waiting for Done are marked failed), else the
 * facts the store keeps beside it. The `aborted` state exists in every version, so this
 * snapshot can always be shown again.
 */
export function closedSnapshot(
  machine: OperationMachine,
  facts: StoredFacts,
  closedBy: { userId: string; at: number },
): unknown {
  const stored = (facts.snapshot as { context?: unknown } | null)?.context;
  const base: OperationContext = isContext(stored)
    ? stored
    : {
        id: facts.id,
        env: facts.env,
        kind: facts.kind,
        requestedMode: 'auto',
        requester: 'unknown',
        reason: '(the stored snapshot could not be read)',
        createdAt: facts.updatedAt,
        requiredApprovals: 1,
        approvalTimeoutMs: 0,
        approvals: [],
        steps: [],
      };
  const steps: StepState[] = base.steps.map((s) =>
    s.status === 'running' || s.status === 'waiting'
      ? { ...s, status: 'failed', finishedAt: closedBy.at, error: closedWhile(s.status) }
      : s,
  );
  const context: OperationContext = {
    ...base,
    steps,
    abortedBy: closedBy.userId,
    finishedAt: closedBy.at,
  };
  return machine.getPersistedSnapshot(machine.resolveState({ value: 'aborted', context }));
}
