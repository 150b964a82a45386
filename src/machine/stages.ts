// The states generated from the runbooks: one parallel state per stage under `running.<kind>`
// (a sub-machine per step) and its twin under `paused.<kind>`. The ids they get are the ones
// persisted snapshots name, so changing them strands active operations.
import type {
  CustomStepId,
  OperationKind,
  PreflightReport,
  Runbook,
  StepId,
} from '../domain/types.js';
import type { Clock } from './machine-action.js';
import type { NodeConfig } from './machine-setup.js';
import { activeLastResort } from './last-resort.js';
import { stepOf } from './records.js';

/** The runbooks a machine is generated from: the built-in ones, or those with custom steps placed. */
export type Runbooks = Readonly<Record<OperationKind, Runbook>>;

/** The machine's id: state ids in targets are `#operation.running.failover.stage-1`. */
export const MACHINE_ID = 'operation';

export const KINDS: readonly OperationKind[] = ['failover', 'failback', 'drill'];

/** `stage-1`, `stage-2`, ...: one-based, as people count stages on the card. */
export function stageKey(index: number): string {
  return `stage-${index + 1}`;
}

function stageTarget(runbooks: Runbooks, kind: OperationKind, index: number): string {
  const stages = runbooks[kind].stages;
  return index < stages.length
    ? `#${MACHINE_ID}.running.${kind}.${stageKey(index)}`
    : `#${MACHINE_ID}.completed`;
}

/** The `waiting` state of a manual step's lane: no actor runs, a person's click ends it. */
function waitingNode(stepId: StepId): NodeConfig {
  const acts = { type: 'manualActs', params: { stepId } };
  return {
    entry: { type: 'startManualStep', params: { stepId } },
    on: {
      DONE: {
        guard: acts,
        target: 'succeeded',
        actions: { type: 'confirmManualStep', params: { stepId } },
      },
      SKIP: {
        guard: acts,
        target: 'skipped',
        actions: { type: 'skipManualStep', params: { stepId } },
      },
    },
  } as NodeConfig;
}

/** A manual step for the other mode does not apply (skipped); otherwise it waits. */
function manualStart(stepId: StepId) {
  return [
    {
      guard: { type: 'manualOffMode', params: { stepId } },
      target: 'skipped',
      actions: { type: 'skipManualOffMode', params: { stepId } },
    },
    { target: 'waiting' },
  ];
}

function stepNode(stepId: StepId, now: Clock, manual: boolean): NodeConfig {
  return {
    // A retry or a resume re-enters the whole stage; steps that already finished stay finished.
    initial: 'pending',
    states: {
      pending: {
        always: [
          {
            guard: { type: 'stepSettled', params: { stepId, status: 'succeeded' } },
            target: 'succeeded',
          },
          {
            guard: { type: 'stepSettled', params: { stepId, status: 'skipped' } },
            target: 'skipped',
          },
          ...(manual ? manualStart(stepId) : [{ target: 'running' }]),
        ],
      },
      ...(manual ? { waiting: waitingNode(stepId) } : {}),
      running: {
        entry: { type: 'startStep', params: { stepId } },
        invoke: {
          id: stepId,
          src: 'runStep',
          input: ({ context }) => ({
            opId: context.id,
            kind: context.kind,
            stepId,
            mode: context.mode ?? 'planned',
            attempt: stepOf(context, stepId).attempts,
            approvedAt: context.approvedAt ?? now(),
            ...(activeLastResort(context, stepId)
              ? { lastResort: activeLastResort(context, stepId)!.action }
              : {}),
          }),
          onDone: [
            {
              guard: {
                type: 'notConfigured',
                params: ({ event }) => ({ outcome: event.output }),
              },
              target: 'skipped',
              actions: {
                type: 'stepNotConfigured',
                params: ({ event }) => ({ stepId, outcome: event.output }),
              },
            },
            {
              guard: {
                type: 'verificationFailed',
                params: ({ event }) => ({ outcome: event.output }),
              },
              target: 'failed',
              actions: {
                type: 'stepFailed',
                params: ({ event }) => ({ stepId, error: undefined, outcome: event.output }),
              },
            },
            {
              target: 'succeeded',
              actions: {
                type: 'stepSucceeded',
                params: ({ event }) => ({ stepId, outcome: event.output }),
              },
            },
          ],
          onError: {
            target: 'failed',
            actions: {
              type: 'stepFailed',
              params: ({ event }) => ({ stepId, error: event.error }),
            },
          },
        },
      },
      succeeded: { type: 'final' },
      skipped: { type: 'final' },
      failed: { type: 'final' },
    },
  } as NodeConfig;
}

export function runningKindNode(runbooks: Runbooks, kind: OperationKind, now: Clock): NodeConfig {
  const stages = runbooks[kind].stages;
  const manual = new Set(
    (runbooks[kind].custom ?? []).filter((c) => c.action === 'manual').map((c) => c.id),
  );
  const states: Record<string, NodeConfig> = {};
  stages.forEach((stage, index) => {
    states[stageKey(index)] = {
      type: 'parallel',
      states: Object.fromEntries(
        stage.map((stepId) => [stepId, stepNode(stepId, now, manual.has(stepId as CustomStepId))]),
      ),
      onDone: [
        {
          guard: { type: 'stageFailed', params: { stage } },
          target: `#${MACHINE_ID}.paused.${kind}.${stageKey(index)}`,
          actions: { type: 'pause', params: { stage } },
        },
        { target: stageTarget(runbooks, kind, index + 1) },
      ],
    } as NodeConfig;
  });
  return { initial: stageKey(0), states };
}

export function pausedKindNode(runbooks: Runbooks, kind: OperationKind): NodeConfig {
  const stages = runbooks[kind].stages;
  const states: Record<string, NodeConfig> = {};
  stages.forEach((stage, index) => {
    states[stageKey(index)] = {
      on: {
        RETRY: {
          guard: { type: 'allowed', params: { phase: 'paused' } },
          target: stageTarget(runbooks, kind, index),
          actions: { type: 'retryStage', params: { stage } },
        },
        SKIP: {
          guard: { type: 'allowed', params: { phase: 'paused' } },
          target: stageTarget(runbooks, kind, index + 1),
          actions: { type: 'skipStage', params: { stage } },
        },
        // The click that completes the last resort's approvals re-runs the stage with it.
        DETACH: [
          {
            guard: 'lastResortCompletes',
            target: stageTarget(runbooks, kind, index),
            actions: ['recordLastResort', { type: 'startLastResort', params: { stage } }],
          },
          { guard: { type: 'allowed', params: { phase: 'paused' } }, actions: 'recordLastResort' },
        ],
      },
    } as NodeConfig;
  });
  return { initial: stageKey(0), states };
}

/** Same plan as approved: run the operation's own runbook (one transition per kind). */
export function startRunning() {
  return KINDS.map((kind) => ({
    guard: {
      type: 'planUnchanged' as const,
      params: ({ event }: { event: { output: PreflightReport } }) => ({
        report: event.output,
        kind,
      }),
    },
    target: `#${MACHINE_ID}.running.${kind}`,
    actions: [
      {
        type: 'recordPreflight' as const,
        params: ({ event }: { event: { output: PreflightReport } }) => ({ report: event.output }),
      },
      'markApproved' as const,
    ],
  }));
}
