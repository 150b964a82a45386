/**
 * The parts of the status card and thread for a failed step's last resort (issue 20): the
 * extra button with its own confirm dialog, what it does, who asked and approved, and after it
 * what a person must do to fail back. Built like split-card.ts's Undo (same two-person rule).
 */
import {
  AFTER_LAST_RESORT,
  describeLastResort,
  LAST_RESORT_EFFECT,
  LAST_RESORT_LABEL,
} from '../domain/last-resort-text.js';
import type { OperationView, TimelineEntry } from '../domain/types.js';
import { escapeMrkdwn } from './mrkdwn.js';

const user = (id: string): string => `<@${id}>`;

/**
 * The button's label and confirm dialog; null unless paused with a driver's offer. Never the
 * default: a danger button after Retry, outside the approval card, with its own dialog.
 */
export function lastResortButton(
  view: OperationView,
): { label: string; confirm: { title: string; text: string; confirm: string } } | null {
  const offer = view.phase === 'paused' ? view.lastResortOffer : undefined;
  if (!offer) return null;
  const label = LAST_RESORT_LABEL[offer.action];
  return {
    label,
    confirm: {
      title: 'Detach the secondary cache?',
      text: `${LAST_RESORT_EFFECT[offer.action]} Runs once ${view.requiredApprovals} other approver(s) click it too.`,
      confirm: 'Detach (one-way)',
    },
  };
}

/** The card section: the offer and why, the request waiting, its failure, or what to do after it. */
export function lastResortSection(view: OperationView): string | null {
  const lines: string[] = [];
  const offer = view.phase === 'paused' ? view.lastResortOffer : undefined;
  const lr = view.lastResort;
  if (offer) {
    lines.push(
      `*Last resort offered:* ${escapeMrkdwn(offer.why)}. Never done by Retry: only by the button "${LAST_RESORT_LABEL[offer.action]}", confirmed by two people.`,
    );
    if (lr && lr.startedAt === undefined && lr.error === undefined)
      lines.push(
        `⏳ Asked by ${user(lr.requestedBy)}${lr.approvals.length ? `, approved by ${lr.approvals.map((a) => user(a.userId)).join(', ')}` : ''}: ${lr.approvals.length}/${view.requiredApprovals} approval(s); it runs once another approver clicks it too.`,
      );
    if (lr?.error) lines.push(`❌ The last attempt failed: ${escapeMrkdwn(lr.error.message)}`);
  }
  if (lr?.finishedAt !== undefined)
    lines.push(`⚠️ *Last resort done.* ${escapeMrkdwn(AFTER_LAST_RESORT[lr.action])}`);
  return lines.length ? lines.join('\n') : null;
}

/** Thread reply text for the last resort's timeline entries; null for any other entry. */
export function lastResortReply(entry: TimelineEntry): string | null {
  switch (entry.type) {
    case 'LastResortRequested':
    case 'LastResortStarted':
      return `🧯 ${escapeMrkdwn(describeLastResort(entry))}`;
    case 'LastResortDone':
      return `✅ ${escapeMrkdwn(describeLastResort(entry))}`;
    case 'LastResortFailed':
      return `❌ ${escapeMrkdwn(describeLastResort(entry))}`;
    default:
      return null;
  }
}
