import type { SnapshotFrom } from 'xstate';
import type { OperationView, Phase, StepId } from '../domain/types.js';
import type { OperationMachine } from './operation-machine.js';
import { stagesOf } from './records.js';
import { lastResortOffer } from './last-resort-offer.js';
import { splitOf } from './split.js';
import { waitingOf } from './waiting.js';

type OperationSnapshot = SnapshotFrom<OperationMachine>;

/** The top-level state is the phase: running/paused carry the stage below them. */
export function phaseOf(snapshot: Pick<OperationSnapshot, 'value'>): Phase {
  const value = snapshot.value as string | Record<string, unknown>;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as Phase;
}

/** What adapters render, from a live snapshot (actor.getSnapshot()). */
export function toView(snapshot: OperationSnapshot): OperationView {
  const c = snapshot.context;
  const phase = phaseOf(snapshot);
  const currentSteps: StepId[] =
    phase === 'running'
      ? c.steps.filter((s) => s.status === 'running' || s.status === 'waiting').map((s) => s.id)
      : phase === 'paused'
        ? c.steps.filter((s) => s.status === 'failed').map((s) => s.id)
        : [];
  const view: OperationView = {
    id: c.id,
    env: c.env,
    kind: c.kind,
    requestedMode: c.requestedMode,
    mode: c.mode,
    requester: c.requester,
    reason: c.reason,
    phase,
    currentSteps,
    steps: c.steps.map((s) => ({ ...s })),
    stages: stagesOf(c),
    approvals: c.approvals.map((a) => ({ ...a })),
    requiredApprovals: c.requiredApprovals,
    expiresAt: c.expiresAt,
    planHash: c.planHash,
    preflight: c.preflight,
    createdAt: c.createdAt,
    approvedAt: c.approvedAt,
    finishedAt: c.finishedAt,
    rtoMs: c.rtoMs,
    rpo: c.rpo,
    rejectedBy: c.rejectedBy,
    abortedBy: c.abortedBy,
    lastError: c.lastError,
    split: phase === 'paused' || phase === 'undoing' ? splitOf(c.steps) : undefined,
    undo: c.undo,
    lastResortOffer: phase === 'paused' ? lastResortOffer(c.steps) : undefined,
    lastResort: c.lastResort,
    waiting: phase === 'running' && waitingOf(c).length > 0 ? waitingOf(c) : undefined,
  };
  // Absent fields stay absent, so a view compares and serializes like the stored data.
  for (const key of Object.keys(view) as (keyof OperationView)[]) {
    if (view[key] === undefined) delete view[key];
  }
  return view;
}
