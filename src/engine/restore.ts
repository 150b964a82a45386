import { createActor, type Actor, type Snapshot } from 'xstate';
import type { OperationInput, OperationMachine } from '../machine/index.js';

/**
 * An actor from a persisted snapshot (not started). XState takes the state from the snapshot;
 * the input is required by the types only, so it is read back from the persisted context.
 */
export function restoreActor(machine: OperationMachine, snapshot: unknown): Actor<OperationMachine> {
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
