// The machine's top-level phase states: preflight, awaiting approval, the re-check, and the
// running and paused parents of the generated stage states. Every one answers every action.
import type { Phase } from '../domain/types.js';
import { ACTION_OF, type UserEventType } from './approval.js';
import type { Clock } from './machine-action.js';
import type { NodeConfig, Transitions } from './machine-setup.js';
import { preflightError, refusalFromReport } from './records.js';
import {
  KINDS,
  MACHINE_ID,
  pausedKindNode,
  runningKindNode,
  stageKey,
  startRunning,
  type Runbooks,
} from './stages.js';

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

export function preflightState(): NodeConfig {
  return {
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
  };
}

export function awaitingApprovalState(): NodeConfig {
  return {
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
  };
}

export function recheckState(): NodeConfig {
  return {
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
  };
}

export function runningState(runbooks: Runbooks, now: Clock): NodeConfig {
  return {
    // Never entered through `initial`: recheck targets the operation's own runbook.
    initial: KINDS[0],
    states: Object.fromEntries(KINDS.map((kind) => [kind, runningKindNode(runbooks, kind, now)])),
    on: actionHandlers('running', { ABORT: [abortTransition('running')] }),
  };
}

export function pausedState(runbooks: Runbooks): NodeConfig {
  return {
    initial: KINDS[0],
    states: Object.fromEntries(KINDS.map((kind) => [kind, pausedKindNode(runbooks, kind)])),
    on: actionHandlers('paused', {
      ABORT: [abortTransition('paused')],
      // The click that completes the undo's approvals starts it; the ones before count.
      UNDO: [
        { guard: 'undoCompletes', target: `#${MACHINE_ID}.undoing`, actions: 'recordUndo' },
        { guard: { type: 'allowed', params: { phase: 'paused' } }, actions: 'recordUndo' },
      ],
    }),
  };
}

/** A failed undo goes back to the pause it came from (one transition per kind and stage). */
function backToPause(runbooks: Runbooks) {
  return KINDS.flatMap((kind) =>
    runbooks[kind].stages.map((stage, index) => ({
      guard: { type: 'pausedIn' as const, params: { kind, stage } },
      target: `#${MACHINE_ID}.paused.${kind}.${stageKey(index)}`,
      actions: {
        type: 'undoFailed' as const,
        params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }),
      },
    })),
  );
}

/**
 * Putting a split data tier back (Redis switched back to the old primary). Done: the operation
 * ends aborted with the rollback recorded; failed: paused again, the undo can be asked again.
 */
export function undoingState(runbooks: Runbooks): NodeConfig {
  return {
    entry: 'startUndo',
    invoke: {
      id: 'undo',
      src: 'undoDataTier',
      input: ({ context }) => ({
        opId: context.id,
        kind: context.kind,
        components: context.undo?.components ?? [],
      }),
      onDone: {
        target: 'aborted',
        actions: {
          type: 'undoDone',
          params: ({ event }) => ({ summary: event.output.summary }),
        },
      },
      onError: backToPause(runbooks),
    },
    on: actionHandlers('undoing', { ABORT: [abortTransition('undoing')] }),
  };
}
