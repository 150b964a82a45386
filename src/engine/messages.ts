import { commandRef } from '../domain/commands.js';
import { lastResortWaiting } from '../domain/last-resort-text.js';
import { componentNames } from '../domain/split-text.js';
import type { OperationView, RefusalReason } from '../domain/types.js';
import type { OperationAction } from '../machine/index.js';

/**
 * What the person who clicked reads (ephemeral in Slack): why it did not count and what to do.
 * Commands are named with commandRef, which the adapter spells.
 */
export function refusalMessage(reason: RefusalReason, opId: string, view?: OperationView): string {
  const phase = view ? phaseWords(view) : 'not active';
  switch (reason) {
    case 'self-approval':
      return `You requested ${opId} — someone else has to approve it.`;
    case 'unauthorized':
      return `You are not allowed to do that on ${opId}: only the configured approvers (approvals.approvers or the approvers' user group) can. Ask one of them.`;
    case 'duplicate':
      return `Your approval of ${opId} is already counted; it needs another approver.`;
    case 'stale-plan':
      return `The plan of ${opId} changed since this approval request was posted (the preflight re-ran). Review the new plan and approve that one.`;
    case 'not-awaiting-approval':
      return `${opId} is not waiting for approval (it is ${phase}).`;
    case 'not-paused':
      return `${opId} is not paused (it is ${phase}): Retry and Skip only apply to a failed step.`;
    case 'finished':
      return `${opId} is already ${phase}; nothing was changed.`;
    case 'unknown-operation':
      return `There is no operation ${opId}. ${commandRef('status')} shows the active one.`;
    case 'other-environment':
      return `${opId} is an operation of ${view?.env ?? 'another environment'}, not of this one.`;
    case 'unrestorable':
      return `${opId} cannot be resumed by this version of dr-bot, so it can only be closed: an approver runs ${commandRef('abort')}. ${commandRef('status')} says why.`;
    case 'no-last-resort':
      return `${opId} has no failed step whose driver offers a last resort (${phase}): Retry, Skip or Abort.`;
    case 'nothing-to-undo':
      return `${opId} has no switched data component the bot can put back, so there is nothing to undo (${phase}). Retry, or abort and fix it by hand.`;
    case 'not-waiting':
      return `${opId} has no manual step waiting for that (it is ${phase}${view?.waiting?.length ? `; waiting: ${view.waiting.map((w) => w.stepId.replace(/^custom:/, '')).join(', ')}` : ''}).`;
    case 'expired':
      return `Too late: the approval window of ${opId} closed${view?.expiresAt !== undefined ? ` at ${new Date(view.expiresAt).toISOString()}` : ''}, so your approval did not count and nothing was changed. Request it again if it is still needed.`;
  }
}

export function successMessage(
  action: OperationAction,
  view: OperationView,
  userId: string,
): string {
  switch (action) {
    case 'approve': {
      if (view.phase === 'awaitingApproval') {
        return `Approval recorded for ${view.id} (${view.approvals.length}/${view.requiredApprovals}); waiting for more approvers.`;
      }
      return `Approved: ${view.id} is ${phaseWords(view)}.`;
    }
    case 'reject':
      return `${view.id} rejected by <@${userId}>; nothing was changed.`;
    case 'retry':
      return `Retrying ${view.id}: the failed step is re-checked and run again.`;
    case 'skip':
      return `Skipped the step on ${view.id}; it continues without it (${phaseWords(view)}).`;
    case 'done':
      return `Marked done on ${view.id}; it continues (${phaseWords(view)}).`;
    case 'undo':
      return undoMessage(view);
    case 'detach':
      return (
        lastResortWaiting(view) ??
        `Last resort on ${view.id} approved by two people: it is ${phaseWords(view)}.`
      );
    case 'abort':
      return `${view.id} aborted by <@${userId}>. Steps already done stay done; check the components before acting on them.`;
  }
}

function phaseWords(view: OperationView): string {
  switch (view.phase) {
    case 'awaitingApproval':
      return 'awaiting approval';
    case 'recheck':
      return 're-checking before it runs';
    default:
      return view.phase;
  }
}

function undoMessage(view: OperationView): string {
  const u = view.undo;
  const names = u ? componentNames(u.components) : 'the data tier';
  if (view.phase === 'paused' && u && u.error === undefined)
    return `Undo of ${names} on ${view.id}: ${u.approvals.length}/${view.requiredApprovals} approval(s); it runs once another approver clicks Undo too.`;
  return `Undo of ${names} on ${view.id} approved: it is ${phaseWords(view)}.`;
}
