/** A step's checks as a fixed-width table for its thread reply (Slack mrkdwn has no tables). */
import type { CheckResult } from '../domain/types.js';

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Rows beyond this are summarized, so the table (and its closing fence) fits in one section. */
const MAX_CHECK_ROWS = 25;

export function checksTable(checks: CheckResult[]): string {
  // Failures first: when the list is cut, the ones a person must read stay visible.
  const ordered = [...checks.filter((c) => !c.ok), ...checks.filter((c) => c.ok)];
  const shown = ordered.slice(0, MAX_CHECK_ROWS);
  const rows = [
    ['result', 'check', 'kind', 'detail'],
    ...shown.map((c) => [c.ok ? 'pass' : 'FAIL', clip(c.name, 40), c.kind, clip(c.detail, 60)]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  '),
  );
  // A code block keeps the columns aligned; Slack mrkdwn has no tables.
  if (ordered.length > shown.length)
    lines.push(`… and ${ordered.length - shown.length} more (all passed)`);
  return '```\n' + lines.join('\n').replace(/```/g, "'''") + '\n```';
}
