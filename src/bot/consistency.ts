/**
 * The consistency table on the status card and in the step's thread reply: what the failback's
 * check proved per table and keyspace. On a card paused at the check it is what the person who
 * chooses Retry or Skip (switch back on this evidence) reads.
 */
import { consistencyTable, type ConsistencyScope } from '../domain/consistency.js';
import type { OperationView } from '../domain/types.js';

/** Slack's section text limit, with room for the heading and the fences. */
const MAX_CHARS = 2900;

/** Slack mrkdwn treats &, < and > as control characters, inside code blocks too. */
function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "*Consistency*" and the table in a code block, or null when there is nothing to show. */
export function consistencyText(
  scopes: readonly ConsistencyScope[] | undefined,
  heading = '*Consistency*: what was compared',
): string | null {
  if (!scopes || scopes.length === 0) return null;
  const lines = consistencyTable(scopes, 300);
  let body = escape(lines.join('\n').replace(/```/g, "'''"));
  if (body.length > MAX_CHARS - heading.length)
    body = `${body.slice(0, MAX_CHARS - heading.length - 1)}…`;
  return `${heading}\n\`\`\`\n${body}\n\`\`\``;
}

/** The check's table for the card, once the check ran; before the switch back it is the evidence. */
export function cardConsistency(view: OperationView): string | null {
  const step = view.steps.find((s) => s.id === 'verify-consistency');
  if (!step?.consistency) return null;
  const pausedHere = view.phase === 'paused' && view.currentSteps.includes('verify-consistency');
  return consistencyText(
    step.consistency,
    pausedHere
      ? '*Before the switch back*: what the consistency check proved (Retry compares again; Skip switches back on this evidence)'
      : '*Consistency*: what the check proved before the switch back',
  );
}
