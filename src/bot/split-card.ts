/**
 * The parts of the status card and thread for a split data tier: each component's role per
 * region, the Undo button (when the bot can put a component back) and the undo's replies.
 */
import {
  componentNames,
  describeUndo,
  splitLine,
  undoEffect,
  undoHint,
  undoWaiting,
} from '../domain/split-text.js';
import type { OperationView, TimelineEntry } from '../domain/types.js';
import { lastResortButton, lastResortReply, lastResortSection } from './last-resort-card.js';
import { escapeMrkdwn } from './mrkdwn.js';

type Confirm = { title: string; text: string; confirm: string };

/** The card's sections under the steps: the split data tier, then a failed step's last resort. */
export function pausedSections(view: OperationView): string[] {
  return [splitSection(view), lastResortSection(view)].filter((s): s is string => s !== null);
}

/** The paused card's danger buttons beside Retry: Undo, then the last resort (never defaults). */
export function pausedButtons(
  view: OperationView,
): { action: 'undo' | 'detach'; label: string; confirm: Confirm }[] {
  const undo = undoButton(view);
  const last = lastResortButton(view);
  return [
    ...(undo ? [{ action: 'undo' as const, ...undo }] : []),
    ...(last ? [{ action: 'detach' as const, ...last }] : []),
  ];
}

/** The card section under the steps while paused (or undoing) with the data tier split. */
function splitSection(view: OperationView): string | null {
  if (!view.split) return null;
  const lines = [`*Data tier:* ${escapeMrkdwn(splitLine(view.split))}`];
  if (view.phase === 'paused')
    lines.push(escapeMrkdwn(undoHint(view.split, view.requiredApprovals)));
  const waiting = view.phase === 'paused' ? undoWaiting(view) : null;
  if (waiting) lines.push(`⏳ ${escapeMrkdwn(waiting)}`);
  if (view.undo?.error && view.phase === 'paused')
    lines.push(`❌ The last undo failed: ${escapeMrkdwn(view.undo.error.message)}`);
  return lines.join('\n');
}

/** "Undo Redis", with what it does in its confirm dialog; null when nothing can be undone. */
function undoButton(
  view: OperationView,
): { label: string; confirm: { title: string; text: string; confirm: string } } | null {
  if (view.phase !== 'paused' || !view.split || view.split.undoable.length === 0) return null;
  const names = componentNames(view.split.undoable);
  return {
    label: `Undo ${names}`,
    confirm: {
      title: `Undo ${names}?`,
      text: `${undoEffect(view.split)}; then ${view.id} ends aborted. It runs once ${view.requiredApprovals} other approver(s) click Undo too.`,
      confirm: `Undo ${names}`,
    },
  };
}

/** Thread reply text for the undo's (and the last resort's) timeline entries; null for others. */
export function undoReply(entry: TimelineEntry): string | null {
  switch (entry.type) {
    case 'UndoRequested':
      return `↩️ ${escapeMrkdwn(describeUndo(entry))}`;
    case 'UndoStarted':
      return `↩️ ${escapeMrkdwn(describeUndo(entry))}`;
    case 'DataTierUndone':
      return `✅ ${escapeMrkdwn(describeUndo(entry))}`;
    case 'UndoFailed':
      return `❌ ${escapeMrkdwn(describeUndo(entry))}: Retry, Undo again or Abort on the card`;
    default:
      return lastResortReply(entry);
  }
}
