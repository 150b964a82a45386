/**
 * The words of a failed step's last resort (issue 20), shared by the timeline, the card and the
 * engine's answers: what it is called, what it does, and what a person must do after it.
 */
import type { LastResortState, OperationView, TimelineEntry } from './types.js';

type LastResortEntry = Extract<
  TimelineEntry,
  { type: 'LastResortRequested' | 'LastResortStarted' | 'LastResortDone' | 'LastResortFailed' }
>;

/** The button's label: never the default, never a primary style. */
export const LAST_RESORT_LABEL: Record<LastResortState['action'], string> = {
  'detach-cache': 'Detach the secondary cache (last resort)',
};

const NAME: Record<LastResortState['action'], string> = {
  'detach-cache': 'the detach of the secondary cache',
};

/** What it does, plainly, for its confirm dialog (Slack allows 300 characters there). */
export const LAST_RESORT_EFFECT: Record<LastResortState['action'], string> = {
  'detach-cache':
    'The secondary leaves the global datastore and becomes a standalone writable cluster. The old primary keeps its data but is no longer linked. One-way: re-adding a region to a datastore wipes that region’s data.',
};

/** After it: the bot does not re-link; failing back is a person's work (the card says how). */
export const AFTER_LAST_RESORT: Record<LastResortState['action'], string> = {
  'detach-cache':
    'The caches are no longer linked. To fail back, re-create the global datastore by hand with the serving cache as primary and re-add the old primary’s region (this wipes the old primary’s data), then request the failback; the bot does not do it.',
};

export function describeLastResort(e: LastResortEntry): string {
  const name = NAME[e.action];
  switch (e.type) {
    case 'LastResortRequested':
      return e.count === 0
        ? `${e.userId} asked for ${name} (last resort): needs ${e.required} approval(s) by another approver`
        : `${e.userId} approved ${name} (${e.count}/${e.required})`;
    case 'LastResortStarted':
      return `Running ${name} (last resort), approved by ${e.approvers.join(', ')}`;
    case 'LastResortDone':
      return `Last resort done: ${e.summary}`;
    case 'LastResortFailed':
      return `${name[0]!.toUpperCase()}${name.slice(1)} failed: ${e.error.message}`;
  }
}

/** "Detach … 1/1 approval(s) …": the pending request, for the card and the engine's answer. */
export function lastResortWaiting(
  view: Pick<OperationView, 'lastResort' | 'requiredApprovals' | 'phase'>,
): string | null {
  const lr = view.lastResort;
  if (view.phase !== 'paused' || !lr || lr.startedAt !== undefined || lr.error !== undefined)
    return null;
  return `${NAME[lr.action][0]!.toUpperCase()}${NAME[lr.action].slice(1)} asked by ${lr.requestedBy}: ${lr.approvals.length}/${view.requiredApprovals} approval(s); it runs once another approver clicks it too`;
}
