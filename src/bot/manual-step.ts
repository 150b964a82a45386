/**
 * Manual runbook steps in Slack: the checklist item posted in the incident thread with Done and
 * Skip, the reply when someone confirms it, and the `/dr status` line saying who must act.
 */
import type { types as SlackTypes } from '@slack/bolt';
import { formatDuration } from '../domain/format.js';
import type { ManualWait, OperationView, TimelineEntry } from '../domain/types.js';
import { escapeMrkdwn } from './mrkdwn.js';
import { whoMayApprove } from './refusals.js';
import { button, section, user, type SlackMessage } from './render.js';

interface ApproverPolicy {
  approvers: readonly string[];
  userGroup?: string;
}

/** Who may click Done: the step's owners (and approvers), or the approvers and the requester. */
function whoMustAct(w: ManualWait, view: OperationView, policy?: ApproverPolicy): string {
  if (w.owners.length > 0) return `${w.owners.map(user).join(' or ')} (or an approver)`;
  const approvers = policy ? whoMayApprove(policy) : 'an approver';
  return `${approvers} or the requester ${user(view.requester)}`;
}

function waitingMessage(
  entry: Extract<TimelineEntry, { type: 'ManualStepWaiting' }>,
  view: OperationView,
): SlackMessage {
  const w = view.waiting?.find((x) => x.stepId === entry.stepId) ?? {
    ...entry,
    since: entry.at,
  };
  const value = { opId: view.id, stepId: entry.stepId };
  const text = `✋ ${entry.title} (custom): waiting for Done`;
  const blocks: SlackTypes.KnownBlock[] = [
    section(
      `*✋ ${escapeMrkdwn(entry.title)}* _(custom)_ — the ${view.kind} waits for Done\n${escapeMrkdwn(entry.text)}\nDone by: ${whoMustAct(w, view)}`,
    ),
    {
      type: 'actions',
      block_id: `dr_manual:${view.id}:${entry.stepId}`,
      elements: [
        button('done', 'Done', value, 'primary'),
        button('skip', 'Skip', value, undefined, {
          title: 'Skip this checklist item?',
          text: `${escapeMrkdwn(entry.title)} is marked skipped (by you, in the timeline) and the ${view.kind} goes on without it.`,
          confirm: 'Skip',
        }),
      ],
    },
  ];
  return { text, blocks };
}

/** Thread replies of manual steps: the checklist item with its buttons, and who confirmed it. */
export function renderManualReply(entry: TimelineEntry, view: OperationView): SlackMessage | null {
  if (entry.type === 'ManualStepWaiting') return waitingMessage(entry, view);
  if (entry.type !== 'StepSucceeded') return null;
  const confirmedBy = entry.outcome.evidence.confirmedBy;
  if (typeof confirmedBy !== 'string') return null;
  const title = view.steps.find((s) => s.id === entry.stepId)?.title ?? entry.stepId;
  const text = `☑️ ${title} (custom) done, confirmed by ${user(confirmedBy)} after ${formatDuration(entry.durationMs)}`;
  return {
    text,
    blocks: [
      section(
        `*☑️ ${escapeMrkdwn(title)}* _(custom)_ done — confirmed by ${user(confirmedBy)} after ${formatDuration(entry.durationMs)}`,
      ),
    ],
  };
}

/** `/dr status`: which manual steps wait, and who must click Done. */
export function waitingLines(view: OperationView | null, policy: ApproverPolicy): string[] {
  return (view?.waiting ?? []).map(
    (w) =>
      `*Waiting:* ✋ ${escapeMrkdwn(w.title)} (custom) since ${new Date(w.since).toISOString().slice(11, 19)} UTC — ${whoMustAct(w, view!, policy)} must click Done in the thread`,
  );
}

/**
 * The checklist item once it is settled: its message edited to this, so no stale Done or Skip
 * is left to click, and it says who settled it. Null for any other entry.
 */
export function renderManualSettled(
  entry: TimelineEntry,
  view: OperationView,
): SlackMessage | null {
  let how: string;
  if (entry.type === 'StepSucceeded' && typeof entry.outcome.evidence.confirmedBy === 'string')
    how = `done, confirmed by ${user(entry.outcome.evidence.confirmedBy)}`;
  else if (entry.type === 'StepSkipped' && entry.reason === 'skipped-by-user' && entry.userId)
    how = `skipped by ${user(entry.userId)}`;
  else return null;
  const title = view.steps.find((s) => s.id === entry.stepId)?.title ?? entry.stepId;
  const icon = entry.type === 'StepSucceeded' ? '☑️' : '⏭';
  const when = new Date(entry.at).toISOString().slice(11, 19);
  return {
    text: `${icon} ${title} (custom): ${how}`,
    blocks: [section(`*${icon} ${escapeMrkdwn(title)}* _(custom)_ — ${how} at ${when} UTC`)],
  };
}

/** A checklist item an abort left unconfirmed: its message loses its buttons and says so. */
export function renderManualAborted(
  title: string,
  entry: Extract<TimelineEntry, { type: 'OperationAborted' }>,
  kind: OperationView['kind'],
): SlackMessage {
  const how = `not confirmed: the ${kind} was aborted by ${user(entry.userId)}`;
  const when = new Date(entry.at).toISOString().slice(11, 19);
  return {
    text: `✖ ${title} (custom): ${how}`,
    blocks: [section(`*✖ ${escapeMrkdwn(title)}* _(custom)_ — ${how} at ${when} UTC`)],
  };
}
