/**
 * Ephemeral answers to a refused click or command. The engine says *why* (a RefusalReason); this
 * module says it in words that tell the clicker what to do next.
 */
import type { OperationView, RefusalReason } from '../domain/types.js';

interface ApproverPolicy {
  approvers: readonly string[];
  userGroup?: string;
}

export function whoMayApprove(policy: ApproverPolicy): string {
  const names = policy.approvers.map((id) => `<@${id}>`);
  if (policy.userGroup) names.push(`members of <!subteam^${policy.userGroup}>`);
  if (names.length === 0)
    return 'nobody is configured as an approver (approvals.approvers / approvals.userGroup)';
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

export function refusalMessage(input: {
  reason: RefusalReason;
  opId: string;
  userId: string;
  action: 'approve' | 'reject' | 'retry' | 'skip' | 'abort' | 'undo' | 'done' | 'detach';
  op?: OperationView | null;
  policy: ApproverPolicy;
  /** The engine's own wording, used where we have nothing more specific to say. */
  fallback?: string;
}): string {
  const { reason, opId, op, policy, action, userId } = input;
  switch (reason) {
    case 'self-approval':
      if (action === 'undo')
        return `You asked for this undo; another approver must click Undo too.`;
      if (action === 'detach')
        return `You asked for this last resort; another approver must click it too.`;
      return `You requested ${opId}; another approver must approve it.`;
    case 'unauthorized':
      if (action === 'done')
        return `You may not confirm this item on ${opId}: its owners, ${whoMayApprove(policy)} or the requester may. Ask one of them.`;
      return `You are not allowed to ${action} ${opId}. Only ${whoMayApprove(policy)} may ${action === 'approve' ? 'approve' : 'do that'}.`;
    case 'duplicate':
      return action === 'undo' || action === 'detach'
        ? `Your approval of the ${action === 'undo' ? 'undo' : 'last resort'} is already counted; it needs another approver.`
        : 'Your approval is already counted.';
    case 'stale-plan':
      return 'The plan changed since this button was drawn; review the updated card.';
    case 'finished':
      return `${opId} has already finished (${op?.phase ?? 'finished'}).`;
    case 'not-awaiting-approval':
      // A second click on Approve after the first one started the operation is a double click.
      if (action === 'approve' && op?.approvals.some((a) => a.userId === userId))
        return 'Your approval is already counted.';
      // Before approval the checks may still be running: "not yet", not "any more".
      if (op?.phase === 'preflight')
        return `${opId} is not ready for approval yet: its checks are still running. Approve once the card shows the Approve button.`;
      return `${opId} is not waiting for approval any more${op ? ` (it is ${op.phase})` : ''}.`;
    case 'not-paused':
      return `${opId} is not paused${op ? ` (it is ${op.phase})` : ''}: nothing to ${action}.`;
    case 'unknown-operation':
      return `There is no operation ${opId}.`;
    case 'expired':
      return `Too late: the approval window of ${opId} had closed${op?.expiresAt !== undefined ? ` (${new Date(op.expiresAt).toISOString()})` : ''}, so your approval did not count and nothing was changed. Request it again if it is still needed.`;
    default:
      return input.fallback ?? `Refused: ${String(reason)}.`;
  }
}
