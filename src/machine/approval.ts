import type {
  Approval,
  CustomStepPlan,
  OperationKind,
  OperationView,
  Phase,
  PreflightReport,
  RefusalReason,
  StepId,
} from '../domain/types.js';
import { FINAL_PHASES } from '../domain/types.js';
import { lastResortOffer, pendingLastResort } from './last-resort-offer.js';
import { pendingUndo, splitOf } from './split.js';
import type { OperationContext, OperationEvent, UserEvent } from './types.js';
import { waitingOf, waitingTarget } from './waiting.js';

export type OperationAction =
  'approve' | 'reject' | 'retry' | 'skip' | 'abort' | 'undo' | 'done' | 'detach';

/** The part of an operation the approval policy looks at; an OperationView has all of it. */
type PolicySubject = Pick<OperationView, 'phase' | 'requester' | 'approvals' | 'planHash'> &
  Partial<
    Pick<
      OperationView,
      'expiresAt' | 'split' | 'undo' | 'waiting' | 'lastResort' | 'lastResortOffer'
    >
  >;

/**
 * Before the plan is approved nothing has changed yet, so the requester may still cancel
 * (reject/abort) their own request; once steps run, stopping needs an authorized person.
 */
const PRE_APPROVAL_PHASES: readonly Phase[] = ['preflight', 'awaitingApproval', 'recheck'];

/**
 * The approval policy, shared by the machine's guards and the adapters' ephemeral answers so
 * both always agree. Returns why the action is refused, or null when it counts.
 *
 * - approve: awaiting approval, before the deadline (`at`, when the person clicked, is before
 *   `expiresAt`), not the requester, authorized, not already counted, bound to the current plan hash.
 * - reject: before approval, by an authorized person or the requester.
 * - retry: paused, by an authorized person or the requester (it re-runs an approved step).
 * - skip: paused, by an authorized person only (skipping bypasses a safety step); while a
 *   manual step waits (running), it skips that step, by an authorized person too.
 * - done: a manual step waits; its owners, or (none configured) authorized people or the requester.
 * - abort: any active phase; the requester may abort only before approval.
 * - undo: paused with a split data tier the bot can put back. Two people, like the plan: the
 *   first click (an authorized person or the requester) asks, then authorized others approve.
 * - detach: paused where a failed step's driver offers its last resort; the undo's two-person rule.
 */
export function evaluateAction(
  view: PolicySubject,
  action: OperationAction,
  userId: string,
  authorized: boolean,
  planHash?: string,
  at?: number,
  stepId?: StepId,
): RefusalReason | null {
  if (FINAL_PHASES.includes(view.phase)) return 'finished';
  const isRequester = userId === view.requester;
  const preApproval = PRE_APPROVAL_PHASES.includes(view.phase);
  switch (action) {
    case 'approve': {
      const already = hasApproved(view.approvals, userId);
      if (view.phase !== 'awaitingApproval') return already ? 'duplicate' : 'not-awaiting-approval';
      // Past the deadline nothing else matters: the request expires, the click does not count.
      if (at !== undefined && view.expiresAt !== undefined && at >= view.expiresAt)
        return 'expired';
      if (isRequester) return 'self-approval';
      if (!authorized) return 'unauthorized';
      if (already) return 'duplicate';
      if (planHash === undefined || planHash !== view.planHash) return 'stale-plan';
      return null;
    }
    case 'reject':
      if (!preApproval) return 'not-awaiting-approval';
      return authorized || isRequester ? null : 'unauthorized';
    case 'retry':
      if (view.phase !== 'paused') return 'not-paused';
      return authorized || isRequester ? null : 'unauthorized';
    case 'skip':
      if (view.phase === 'running' && (view.waiting?.length ?? 0) > 0)
        return !waitingTarget(view.waiting, stepId)
          ? 'not-waiting'
          : authorized
            ? null
            : 'unauthorized';
      if (view.phase !== 'paused') return 'not-paused';
      return authorized ? null : 'unauthorized';
    case 'done': {
      const target = view.phase === 'running' ? waitingTarget(view.waiting, stepId) : undefined;
      if (!target) return 'not-waiting';
      const allowed = target.owners.length > 0 ? target.owners.includes(userId) : isRequester;
      return allowed || authorized ? null : 'unauthorized';
    }
    case 'abort':
      return authorized || (preApproval && isRequester) ? null : 'unauthorized';
    case 'undo':
      if (view.phase !== 'paused') return 'not-paused';
      if (!view.split || view.split.undoable.length === 0) return 'nothing-to-undo';
      return twoPersonRefusal(pendingUndo(view.undo), userId, authorized, isRequester);
    case 'detach':
      if (view.phase !== 'paused') return 'not-paused';
      if (!view.lastResortOffer) return 'no-last-resort';
      return twoPersonRefusal(pendingLastResort(view.lastResort), userId, authorized, isRequester);
  }
}

/**
 * An undo or a last resort: the first click (an authorized person or the requester) asks, then
 * authorized others approve, each once (approvalsLeft / lastResortCompletes count them).
 */
function twoPersonRefusal(
  asked: { requestedBy: string; approvals: { userId: string }[] } | undefined,
  userId: string,
  authorized: boolean,
  isRequester: boolean,
): RefusalReason | null {
  if (!asked) return authorized || isRequester ? null : 'unauthorized';
  if (asked.requestedBy === userId) return 'self-approval';
  if (asked.approvals.some((a) => a.userId === userId)) return 'duplicate';
  return authorized ? null : 'unauthorized';
}

export type UserEventType = UserEvent['type'];

/** The machine event for each action a person can take. */
export const ACTION_OF: Record<UserEventType, OperationAction> = {
  APPROVE: 'approve',
  REJECT: 'reject',
  RETRY: 'retry',
  SKIP: 'skip',
  ABORT: 'abort',
  UNDO: 'undo',
  DONE: 'done',
  DETACH: 'detach',
};

/** The machine's side of the policy: the same evaluation, from its context in a known phase. */
export function refusalForEvent(
  context: OperationContext,
  phase: Phase,
  event: OperationEvent,
): RefusalReason | null {
  if (event.type === 'TICK') return null;
  const subject: PolicySubject = {
    phase,
    requester: context.requester,
    approvals: context.approvals,
    planHash: context.planHash,
    ...(context.expiresAt !== undefined ? { expiresAt: context.expiresAt } : {}),
    split: splitOf(context.steps),
    undo: context.undo,
    waiting: waitingOf(context),
    lastResort: context.lastResort,
    lastResortOffer: lastResortOffer(context.steps),
  };
  const planHash = event.type === 'APPROVE' ? event.planHash : undefined;
  const stepId = event.type === 'DONE' || event.type === 'SKIP' ? event.stepId : undefined;
  return evaluateAction(
    subject,
    ACTION_OF[event.type],
    event.userId,
    event.authorized,
    planHash,
    event.at,
    stepId,
  );
}

function hasApproved(approvals: readonly Approval[], userId: string): boolean {
  return approvals.some((a) => a.userId === userId);
}

/**
 * The hash an approval is bound to: operation id, kind, resolved mode, the steps, and each
 * component's stable `planFacts` (never raw lag, which changes every second and would
 * invalidate every approval). Components are sorted so the preflight's order does not matter.
 */
export function computePlanHash(
  opId: string,
  kind: OperationKind,
  report: PreflightReport,
  steps: StepId[],
  custom?: readonly CustomStepPlan[],
): string {
  const components = [...report.components]
    .sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0))
    .map((c) => ({ component: c.component, facts: c.planFacts ?? {} }));
  return fnv1a64(canonicalJson({ opId, kind, mode: report.mode, steps, components, custom }));
}

/** JSON with object keys sorted at every level, so equal data always gives equal text. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // undefined and functions have no JSON form; treat them like a missing value.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/**
 * FNV-1a, 64 bit, over the UTF-8 bytes. Not a security hash: it only has to notice that the
 * plan changed, and it keeps the machine free of node:crypto.
 */
function fnv1a64(text: string): string {
  let hash = FNV64_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV64_PRIME) & MASK64;
  }
  return hash.toString(16).padStart(16, '0');
}
