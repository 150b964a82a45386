/**
 * Terminal rendering of the same timeline and status the Slack adapter shows. Plain text with
 * fixed-width columns so it reads in a CI log as well as in a terminal.
 */
import { AFTER_LAST_RESORT, lastResortWaiting } from '../domain/last-resort-text.js';
import { consistencyTable } from '../domain/consistency.js';
import { splitLine, undoHint, undoWaiting } from '../domain/split-text.js';
import type { OperationView, TimelineEntry } from '../domain/types.js';
import {
  STEP_ICONS,
  describeEntry,
  evidenceLines,
  formatDuration,
  formatRpo,
  laneLines,
  separateExpectedLoss,
  title,
  type StepTitles,
} from '../domain/format.js';

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

/**
 * One timeline entry: a time-stamped sentence, then the checks, RPO and (with `evidence`) the
 * step's evidence indented below it.
 */
export function renderEntry(
  e: TimelineEntry,
  opts: { evidence?: boolean; steps?: StepTitles } = {},
): string {
  const lines = [`${clock(e.at)}  ${e.opId}  ${describeEntry(e, opts.steps)}`];
  const pad = ' '.repeat(14);
  if (e.type === 'PreflightCompleted') {
    for (const c of e.report.components) {
      lines.push(`${pad}${c.component.padEnd(13)} ${c.status.padEnd(15)} ${c.summary}`);
      const loss = separateExpectedLoss(c);
      if (loss) lines.push(`${pad}${''.padEnd(13)} expected loss: ${loss}`);
      for (const w of c.warnings ?? []) lines.push(`${pad}${''.padEnd(13)} ⚠ ${w}`);
    }
  }
  if (e.type === 'StepSucceeded') {
    if (opts.evidence !== false)
      for (const l of evidenceLines(e.outcome.evidence)) lines.push(`${pad}${l}`);
    for (const c of e.outcome.checks ?? [])
      lines.push(`${pad}${c.ok ? '✅' : '❌'} ${c.name}: ${c.detail}`);
    for (const r of e.outcome.rpo ?? []) lines.push(`${pad}RPO ${formatRpo(r)}`);
    for (const l of consistencyTable(e.outcome.consistency ?? [])) lines.push(`${pad}${l}`);
  }
  return lines.join('\n');
}

/** The status card as text: who, why, approvals, each step with its icon and duration. */
export function renderStatus(view: OperationView): string {
  const lines = [
    `${view.id}  ${view.kind}${view.mode ? ` (${view.mode})` : ''}  env ${view.env}  — ${view.phase}`,
    `requested by ${view.requester}: ${view.reason || '(no reason given)'}`,
    `approvals ${view.approvals.length}/${view.requiredApprovals}${view.approvals.length ? `: ${view.approvals.map((a) => a.userId).join(', ')}` : ''}`,
  ];
  const stepLine = (s: OperationView['steps'][number]): string => {
    const took =
      s.startedAt !== undefined && s.finishedAt !== undefined
        ? formatDuration(s.finishedAt - s.startedAt)
        : '';
    const note =
      s.status === 'skipped'
        ? s.skipReason === 'not-configured'
          ? 'skipped — not configured'
          : `skipped by ${s.skippedBy ?? '?'}`
        : (s.summary ?? s.error?.message ?? '');
    const name = title(s.id, [s]);
    return `${STEP_ICONS[s.status]} ${name.padEnd(34)} ${took.padStart(9)}  ${note}`;
  };
  for (const l of laneLines(view, stepLine)) lines.push(`  ${l}`);
  // What the consistency check proved: the evidence for the switch back.
  const checked = view.steps.find((s) => s.consistency?.length);
  for (const l of consistencyTable(checked?.consistency ?? [])) lines.push(`    ${l}`);
  // A split data tier: each component's role, and what undo (or nothing) can put back.
  if (view.split) {
    lines.push(`data tier: ${splitLine(view.split)}`);
    if (view.phase === 'paused') lines.push(`  ${undoHint(view.split, view.requiredApprovals)}`);
    const waiting = view.phase === 'paused' ? undoWaiting(view) : null;
    if (waiting) lines.push(`  ${waiting}`);
  }
  if (view.undo?.summary) lines.push(`undone: ${view.undo.summary}`);
  // A failed step's last resort: never run by retry; `detach`, confirmed by a second approver.
  if (view.lastResortOffer) {
    lines.push(`last resort offered (\`detach\`, two people): ${view.lastResortOffer.why}`);
    const waiting = lastResortWaiting(view);
    if (waiting) lines.push(`  ${waiting}`);
  }
  if (view.lastResort?.finishedAt !== undefined)
    lines.push(`last resort done: ${AFTER_LAST_RESORT[view.lastResort.action]}`);
  for (const w of view.waiting ?? []) {
    const who = w.owners.length
      ? `${w.owners.join(' or ')} (or an approver)`
      : `an approver or the requester ${view.requester}`;
    const id = w.stepId.replace(/^custom:/, '');
    lines.push(`waiting: ${title(w.stepId, view.steps)} — ${w.text}`);
    lines.push(`  ${who} must type \`done ${id}\` (an approver may \`skip ${id}\`)`);
  }
  return lines.join('\n');
}
