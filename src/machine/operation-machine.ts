import { emit, enqueueActions, fromPromise, setup } from 'xstate';
import type {
  DomainEvent,
  OperationKind,
  Phase,
  PreflightReport,
  StepId,
  StepOutcome,
} from '../domain/types.js';
import { errorInfo, type ErrorInfo } from '../errors.js';
import { ACTION_OF, computePlanHash, refusalForEvent, type UserEventType } from './approval.js';
import {
  abortedWhileRunning,
  blockedComponents,
  collectRpo,
  failedIn,
  initialSteps,
  patchStep,
  preflightError,
  refusalFromReport,
  rtoStepOf,
  stepOf,
  verificationError,
} from './records.js';
import { RUNBOOKS, runbookSteps } from './runbook.js';
import type {
  OperationContext,
  OperationEvent,
  OperationInput,
  PreflightInput,
  RunStepInput,
} from './types.js';

/** The machine's id: state ids in targets are `#operation.running.failover.stage-1`. */
const MACHINE_ID = 'operation';

const KINDS: readonly OperationKind[] = ['failover', 'failback', 'drill'];

/** `stage-1`, `stage-2`, ...: one-based, as people count stages on the card. */
function stageKey(index: number): string {
  return `stage-${index + 1}`;
}

function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(
      `the ${name} actor was not provided: use machine.provide({ actors: { ${name} } })`,
    );
  });
}

/**
 * The operation machine: preflight → awaitingApproval → recheck → running (stages generated from
 * the runbooks) → completed, with paused/rejected/aborted/expired/refused. Pure: all I/O happens
 * in the `preflight` and `runStep` actors the engine provides, and time comes from `now` or the
 * events' `at`, so tests drive it with a simulated clock.
 */
export function createOperationMachine(deps: { now?: () => number } = {}) {
  const now = deps.now ?? Date.now;

  const builder = setup({
    types: {
      context: {} as OperationContext,
      events: {} as OperationEvent,
      input: {} as OperationInput,
      emitted: {} as DomainEvent,
    },
    actors: {
      preflight: notProvided<PreflightReport, PreflightInput>('preflight'),
      runStep: notProvided<StepOutcome, RunStepInput>('runStep'),
    },
    delays: {
      // Computed from the stored deadline, not a fixed timeout, so the remaining time is right
      // whenever the state is (re-)entered.
      approvalExpiry: ({ context }) => Math.max(0, (context.expiresAt ?? now()) - now()),
    },
    guards: {
      reportBlocked: (_, params: { report: PreflightReport }) =>
        blockedComponents(params.report).length > 0,
      planUnchanged: ({ context }, params: { report: PreflightReport; kind: OperationKind }) =>
        context.kind === params.kind &&
        computePlanHash(
          context.id,
          context.kind,
          params.report,
          runbookSteps(RUNBOOKS[context.kind]),
        ) === context.planHash,
      allowed: ({ context, event }, params: { phase: Phase }) =>
        refusalForEvent(context, params.phase, event) === null,
      approvalCompletes: ({ context, event }) =>
        refusalForEvent(context, 'awaitingApproval', event) === null &&
        context.approvals.length + 1 >= context.requiredApprovals,
      pastDeadline: ({ context, event }) =>
        context.expiresAt !== undefined && 'at' in event && event.at >= context.expiresAt,
      stepSettled: ({ context }, params: { stepId: StepId; status: 'succeeded' | 'skipped' }) =>
        stepOf(context, params.stepId).status === params.status,
      notConfigured: (_, params: { outcome: StepOutcome }) =>
        params.outcome.result === 'not-configured',
      verificationFailed: (_, params: { outcome: StepOutcome }) =>
        params.outcome.verified === false,
      stageFailed: ({ context }, params: { stage: readonly StepId[] }) =>
        failedIn(context, params.stage).length > 0,
    },
    actions: {
      emitRequested: emit(({ context }) => ({
        type: 'OperationRequested' as const,
        kind: context.kind,
        requestedMode: context.requestedMode,
        requester: context.requester,
        reason: context.reason,
      })),
      recordPreflight: enqueueActions(({ enqueue }, params: { report: PreflightReport }) => {
        enqueue.assign({ preflight: params.report, mode: params.report.mode });
        enqueue.emit({ type: 'PreflightCompleted', report: params.report });
      }),
      openApproval: enqueueActions(({ context, enqueue }, params: { report: PreflightReport }) => {
        const planHash = computePlanHash(
          context.id,
          context.kind,
          params.report,
          runbookSteps(RUNBOOKS[context.kind]),
        );
        const expiresAt = now() + context.approvalTimeoutMs;
        if (context.planHash !== undefined && context.planHash !== planHash) {
          enqueue.emit({
            type: 'ApprovalsInvalidated',
            previousPlanHash: context.planHash,
            planHash,
          });
        }
        enqueue.assign({ planHash, expiresAt, approvals: [], approvalCompletedAt: undefined });
        enqueue.emit({
          type: 'ApprovalRequested',
          planHash,
          expiresAt,
          required: context.requiredApprovals,
        });
      }),
      recordApproval: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'APPROVE') return;
        const approvals = [
          ...context.approvals,
          { userId: event.userId, at: event.at, planHash: event.planHash },
        ];
        enqueue.assign({ approvals });
        enqueue.emit({
          type: 'ApprovalRecorded',
          userId: event.userId,
          count: approvals.length,
          required: context.requiredApprovals,
        });
      }),
      /**
       * The approval that completes the quorum is the final approval: announced then, and RTO runs
       * from its click (`at`), not from the end of the re-check that follows, which a restart
       * repeats and which may take a while.
       */
      completeApproval: enqueueActions(({ context, enqueue, event }) => {
        if (event.type !== 'APPROVE') return;
        enqueue.assign({ approvalCompletedAt: event.at });
        enqueue.emit({
          type: 'OperationApproved',
          approvers: context.approvals.map((a) => a.userId),
        });
      }),
      /** The re-check passed: the operation counts as approved (at the final approval) and starts. */
      markApproved: enqueueActions(({ context, enqueue }) => {
        const finalApproval = context.approvalCompletedAt ?? context.approvals.at(-1)?.at ?? now();
        enqueue.assign({ approvedAt: finalApproval });
        // A snapshot saved in the re-check by a version that announced the approval only here.
        if (context.approvalCompletedAt === undefined) {
          enqueue.emit({
            type: 'OperationApproved',
            approvers: context.approvals.map((a) => a.userId),
          });
        }
      }),
      refuse: enqueueActions(({ context, event, enqueue }, params: { phase: Phase }) => {
        if (event.type === 'TICK') return;
        const reason = refusalForEvent(context, params.phase, event);
        if (reason === null) return;
        if (event.type === 'APPROVE') {
          enqueue.emit({ type: 'ApprovalRefused', userId: event.userId, reason });
        } else {
          enqueue.emit({
            type: 'ActionRefused',
            userId: event.userId,
            action: ACTION_OF[event.type],
            reason,
          });
        }
      }),
      refuseOperation: enqueueActions(({ enqueue }, params: { error: ErrorInfo }) => {
        enqueue.assign({ lastError: params.error, finishedAt: now() });
        enqueue.emit({ type: 'OperationRefused', error: params.error });
      }),
      reject: enqueueActions(({ enqueue, event }) => {
        if (event.type !== 'REJECT') return;
        enqueue.assign({ rejectedBy: event.userId, finishedAt: event.at });
        enqueue.emit({
          type: 'OperationRejected',
          userId: event.userId,
          ...(event.reason ? { reason: event.reason } : {}),
        });
      }),
      expire: enqueueActions(({ context, enqueue }) => {
        // It expired at the deadline, even when a restored actor only notices on a later TICK.
        enqueue.assign({ finishedAt: context.expiresAt ?? now() });
        enqueue.emit({ type: 'OperationExpired' });
      }),
      abort: enqueueActions(({ context, enqueue, event }) => {
        if (event.type !== 'ABORT') return;
        // A running step cannot be interrupted mid-call: its effect may or may not have
        // happened, and the card must not show it as still running on a finished operation.
        const steps = context.steps.map((s) =>
          s.status === 'running'
            ? {
                ...s,
                status: 'failed' as const,
                finishedAt: event.at,
                error: abortedWhileRunning(),
              }
            : s,
        );
        enqueue.assign({ steps, abortedBy: event.userId, finishedAt: event.at });
        enqueue.emit({
          type: 'OperationAborted',
          userId: event.userId,
          ...(event.reason ? { reason: event.reason } : {}),
        });
      }),
      startStep: enqueueActions(({ context, enqueue }, params: { stepId: StepId }) => {
        const attempts = stepOf(context, params.stepId).attempts + 1;
        enqueue.assign({
          steps: patchStep(context.steps, params.stepId, {
            status: 'running',
            attempts,
            startedAt: now(),
            finishedAt: undefined,
            error: undefined,
          }),
        });
        enqueue.emit({ type: 'StepStarted', stepId: params.stepId, attempt: attempts });
      }),
      stepNotConfigured: enqueueActions(
        ({ context, enqueue }, params: { stepId: StepId; outcome: StepOutcome }) => {
          enqueue.assign({
            steps: patchStep(context.steps, params.stepId, {
              status: 'skipped',
              skipReason: 'not-configured',
              finishedAt: now(),
              summary: params.outcome.summary,
              evidence: params.outcome.evidence,
            }),
          });
          enqueue.emit({ type: 'StepSkipped', stepId: params.stepId, reason: 'not-configured' });
        },
      ),
      stepSucceeded: enqueueActions(
        ({ context, enqueue }, params: { stepId: StepId; outcome: StepOutcome }) => {
          const finishedAt = now();
          const durationMs = finishedAt - (stepOf(context, params.stepId).startedAt ?? finishedAt);
          const { summary, evidence, checks, consistency, rpo } = params.outcome;
          enqueue.assign({
            steps: patchStep(context.steps, params.stepId, {
              status: 'succeeded',
              finishedAt,
              summary,
              evidence,
              checks,
              consistency,
              rpo,
            }),
          });
          enqueue.emit({
            type: 'StepSucceeded',
            stepId: params.stepId,
            outcome: params.outcome,
            durationMs,
          });
        },
      ),
      stepFailed: enqueueActions(
        (
          { context, enqueue },
          params: { stepId: StepId; error: unknown; outcome?: StepOutcome },
        ) => {
          const finishedAt = now();
          const durationMs = finishedAt - (stepOf(context, params.stepId).startedAt ?? finishedAt);
          const error = params.outcome
            ? verificationError(params.stepId, params.outcome)
            : errorInfo(params.error);
          const seen = params.outcome
            ? {
                summary: params.outcome.summary,
                evidence: params.outcome.evidence,
                checks: params.outcome.checks,
                consistency: params.outcome.consistency,
              }
            : {};
          enqueue.assign({
            steps: patchStep(context.steps, params.stepId, {
              status: 'failed',
              finishedAt,
              error,
              ...seen,
            }),
          });
          enqueue.emit({ type: 'StepFailed', stepId: params.stepId, error, durationMs });
        },
      ),
      pause: enqueueActions(({ context, enqueue }, params: { stage: readonly StepId[] }) => {
        const stepIds = failedIn(context, params.stage);
        enqueue.assign({ lastError: stepOf(context, stepIds[0]).error });
        enqueue.emit({ type: 'OperationPaused', stepIds });
      }),
      retryStage: enqueueActions(
        ({ context, enqueue, event }, params: { stage: readonly StepId[] }) => {
          if (event.type !== 'RETRY') return;
          let steps = context.steps;
          for (const stepId of failedIn(context, params.stage)) {
            steps = patchStep(steps, stepId, { status: 'pending' });
            enqueue.emit({ type: 'StepRetried', stepId, userId: event.userId });
          }
          enqueue.assign({ steps, lastError: undefined });
        },
      ),
      skipStage: enqueueActions(
        ({ context, enqueue, event }, params: { stage: readonly StepId[] }) => {
          if (event.type !== 'SKIP') return;
          let steps = context.steps;
          for (const stepId of failedIn(context, params.stage)) {
            steps = patchStep(steps, stepId, {
              status: 'skipped',
              skipReason: 'skipped-by-user',
              skippedBy: event.userId,
            });
            enqueue.emit({
              type: 'StepSkipped',
              stepId,
              reason: 'skipped-by-user',
              userId: event.userId,
            });
          }
          enqueue.assign({ steps, lastError: undefined });
        },
      ),
      complete: enqueueActions(({ context, enqueue }) => {
        const finishedAt = now();
        const rtoStep = rtoStepOf(context.kind);
        const verified = rtoStep ? stepOf(context, rtoStep) : undefined;
        const rtoMs =
          verified?.status === 'succeeded' &&
          verified.finishedAt !== undefined &&
          context.approvedAt !== undefined
            ? verified.finishedAt - context.approvedAt
            : undefined;
        const rpo = collectRpo(context.steps);
        enqueue.assign({ finishedAt, rtoMs, rpo });
        enqueue.emit({
          type: 'OperationCompleted',
          durationMs: finishedAt - context.createdAt,
          ...(rtoMs !== undefined ? { rtoMs } : {}),
          rpo,
        });
      }),
    },
  });

  type MachineConfig = Parameters<typeof builder.createMachine>[0];
  type NodeConfig = NonNullable<MachineConfig['states']>[string];
  type Transitions = NonNullable<NodeConfig['on']>;

  /**
   * Every active state answers every person's action: the ones it accepts are listed first, the
   * fallback emits the refusal for the timeline (the adapter answers the person ephemerally).
   */
  function actionHandlers(
    phase: Phase,
    accepted: Partial<Record<UserEventType, unknown[]>>,
  ): Transitions {
    const on: Record<string, unknown[]> = {};
    for (const type of Object.keys(ACTION_OF) as UserEventType[]) {
      on[type] = [...(accepted[type] ?? []), { actions: { type: 'refuse', params: { phase } } }];
    }
    return on as Transitions;
  }

  /** ABORT from any active phase; a running step's promise is abandoned (see index.ts). */
  function abortTransition(phase: Phase) {
    return {
      guard: { type: 'allowed', params: { phase } },
      target: `#${MACHINE_ID}.aborted`,
      actions: 'abort',
    };
  }

  function stageTarget(kind: OperationKind, index: number): string {
    const stages = RUNBOOKS[kind].stages;
    return index < stages.length
      ? `#${MACHINE_ID}.running.${kind}.${stageKey(index)}`
      : `#${MACHINE_ID}.completed`;
  }

  function stepNode(stepId: StepId): NodeConfig {
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
            { target: 'running' },
          ],
        },
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

  function runningKindNode(kind: OperationKind): NodeConfig {
    const stages = RUNBOOKS[kind].stages;
    const states: Record<string, NodeConfig> = {};
    stages.forEach((stage, index) => {
      states[stageKey(index)] = {
        type: 'parallel',
        states: Object.fromEntries(stage.map((stepId) => [stepId, stepNode(stepId)])),
        onDone: [
          {
            guard: { type: 'stageFailed', params: { stage } },
            target: `#${MACHINE_ID}.paused.${kind}.${stageKey(index)}`,
            actions: { type: 'pause', params: { stage } },
          },
          { target: stageTarget(kind, index + 1) },
        ],
      } as NodeConfig;
    });
    return { initial: stageKey(0), states };
  }

  function pausedKindNode(kind: OperationKind): NodeConfig {
    const stages = RUNBOOKS[kind].stages;
    const states: Record<string, NodeConfig> = {};
    stages.forEach((stage, index) => {
      states[stageKey(index)] = {
        on: {
          RETRY: {
            guard: { type: 'allowed', params: { phase: 'paused' } },
            target: stageTarget(kind, index),
            actions: { type: 'retryStage', params: { stage } },
          },
          SKIP: {
            guard: { type: 'allowed', params: { phase: 'paused' } },
            target: stageTarget(kind, index + 1),
            actions: { type: 'skipStage', params: { stage } },
          },
        },
      } as NodeConfig;
    });
    return { initial: stageKey(0), states };
  }

  /** Same plan as approved: run the operation's own runbook (one transition per kind). */
  function startRunning() {
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

  return builder.createMachine({
    id: MACHINE_ID,
    context: ({ input }) => ({
      ...input,
      runbook: RUNBOOKS[input.kind].stages.map((stage) => [...stage]),
      approvals: [],
      steps: initialSteps(input.kind),
    }),
    entry: 'emitRequested',
    initial: 'preflight',
    states: {
      preflight: {
        invoke: {
          id: 'preflight',
          src: 'preflight',
          input: ({ context }) => ({
            opId: context.id,
            kind: context.kind,
            requestedMode: context.requestedMode,
            purpose: 'initial' as const,
          }),
          onDone: [
            {
              guard: { type: 'reportBlocked', params: ({ event }) => ({ report: event.output }) },
              target: 'refused',
              actions: [
                { type: 'recordPreflight', params: ({ event }) => ({ report: event.output }) },
                {
                  type: 'refuseOperation',
                  params: ({ event }) => ({ error: refusalFromReport(event.output) }),
                },
              ],
            },
            {
              target: 'awaitingApproval',
              actions: [
                { type: 'recordPreflight', params: ({ event }) => ({ report: event.output }) },
                { type: 'openApproval', params: ({ event }) => ({ report: event.output }) },
              ],
            },
          ],
          onError: {
            target: 'refused',
            actions: {
              type: 'refuseOperation',
              params: ({ event }) => ({ error: preflightError(event.error) }),
            },
          },
        },
        on: actionHandlers('preflight', {
          REJECT: [
            {
              guard: { type: 'allowed', params: { phase: 'preflight' } },
              target: 'rejected',
              actions: 'reject',
            },
          ],
          ABORT: [abortTransition('preflight')],
        }),
      },
      awaitingApproval: {
        after: { approvalExpiry: { target: 'expired', actions: 'expire' } },
        on: {
          ...actionHandlers('awaitingApproval', {
            APPROVE: [
              // A click that arrives after the deadline (before the timer fired) does not count: it
              // is refused as expired (the policy says so too), and the request expires.
              {
                guard: 'pastDeadline',
                target: 'expired',
                actions: [{ type: 'refuse', params: { phase: 'awaitingApproval' } }, 'expire'],
              },
              {
                guard: 'approvalCompletes',
                target: 'recheck',
                actions: ['recordApproval', 'completeApproval'],
              },
              {
                guard: { type: 'allowed', params: { phase: 'awaitingApproval' } },
                actions: 'recordApproval',
              },
            ],
            REJECT: [
              {
                guard: { type: 'allowed', params: { phase: 'awaitingApproval' } },
                target: 'rejected',
                actions: 'reject',
              },
            ],
            ABORT: [abortTransition('awaitingApproval')],
          }),
          TICK: { guard: 'pastDeadline', target: 'expired', actions: 'expire' },
        },
      },
      recheck: {
        invoke: {
          id: 'recheck',
          src: 'preflight',
          input: ({ context }) => ({
            opId: context.id,
            kind: context.kind,
            requestedMode: context.requestedMode,
            purpose: 'recheck' as const,
          }),
          onDone: [
            {
              guard: { type: 'reportBlocked', params: ({ event }) => ({ report: event.output }) },
              target: 'refused',
              actions: [
                { type: 'recordPreflight', params: ({ event }) => ({ report: event.output }) },
                {
                  type: 'refuseOperation',
                  params: ({ event }) => ({ error: refusalFromReport(event.output) }),
                },
              ],
            },
            ...startRunning(),
            {
              // The plan changed since people approved it: their approvals no longer count.
              target: 'awaitingApproval',
              actions: [
                { type: 'recordPreflight', params: ({ event }) => ({ report: event.output }) },
                { type: 'openApproval', params: ({ event }) => ({ report: event.output }) },
              ],
            },
          ],
          onError: {
            target: 'refused',
            actions: {
              type: 'refuseOperation',
              params: ({ event }) => ({ error: preflightError(event.error) }),
            },
          },
        },
        on: actionHandlers('recheck', {
          REJECT: [
            {
              guard: { type: 'allowed', params: { phase: 'recheck' } },
              target: 'rejected',
              actions: 'reject',
            },
          ],
          ABORT: [abortTransition('recheck')],
        }),
      },
      running: {
        // Never entered through `initial`: recheck targets the operation's own runbook.
        initial: KINDS[0],
        states: Object.fromEntries(KINDS.map((kind) => [kind, runningKindNode(kind)])),
        on: actionHandlers('running', { ABORT: [abortTransition('running')] }),
      },
      paused: {
        initial: KINDS[0],
        states: Object.fromEntries(KINDS.map((kind) => [kind, pausedKindNode(kind)])),
        on: actionHandlers('paused', { ABORT: [abortTransition('paused')] }),
      },
      completed: { type: 'final', entry: 'complete' },
      rejected: { type: 'final' },
      aborted: { type: 'final' },
      expired: { type: 'final' },
      refused: { type: 'final' },
    },
  });
}

export type OperationMachine = ReturnType<typeof createOperationMachine>;
