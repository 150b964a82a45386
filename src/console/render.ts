/**
 * Terminal rendering of the same timeline and status the Slack adapter shows. Plain text with
 * fixed-width columns so it reads in a CI log as well as in a terminal.
 */
import type { OperationView, TimelineEntry } from '../domain/types.js';
import {
  STEP_ICONS,
  describeEntry,
  evidenceLines,
  formatDuration,
  formatRpo,
} from '../domain/format.js';

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

/** One timeline entry: a time-stamped sentence, then the evidence and checks indented below it. */
export function renderEntry(e: TimelineEntry): string {
  const lines = [`${clock(e.at)}  ${e.opId}  ${describeEntry(e)}`];
  const pad = ' '.repeat(14);
  if (e.type === 'PreflightCompleted') {
    for (const c of e.report.components) {
      lines.push(`${pad}${c.component.padEnd(13)} ${c.status.padEnd(15)} ${c.summary}`);
      if (c.expectedLoss)
        lines.push(`${pad}${''.padEnd(13)} expected loss: ${c.expectedLoss.description}`);
      for (const w of c.warnings ?? []) lines.push(`${pad}${''.padEnd(13)} ⚠ ${w}`);
    }
  }
  if (e.type === 'StepSucceeded') {
    for (const l of evidenceLines(e.outcome.evidence)) lines.push(`${pad}${l}`);
    for (const c of e.outcome.checks ?? [])
      lines.push(`${pad}${c.ok ? '✅' : '❌'} ${c.name}: ${c.detail}`);
    for (const r of e.outcome.rpo ?? []) lines.push(`${pad}RPO ${formatRpo(r)}`);
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
  for (const s of view.steps) {
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
    lines.push(`  ${STEP_ICONS[s.status]} ${s.title.padEnd(34)} ${took.padStart(9)}  ${note}`);
  }
  return lines.join('\n');
}

/** RTO against its target and RPO per component, as a small table. */
export function renderRtoRpo(
  view: OperationView,
  targets: { rtoMinutes: number; rpoMinutes: number },
): string {
  const rows: [string, string, string, string][] = [['measure', 'value', 'target', 'result']];
  if (view.rtoMs !== undefined) {
    const ok = view.rtoMs <= targets.rtoMinutes * 60_000;
    rows.push([
      'RTO',
      formatDuration(view.rtoMs),
      `${targets.rtoMinutes} min`,
      ok ? 'pass' : 'FAIL',
    ]);
  } else {
    rows.push(['RTO', 'not measured', `${targets.rtoMinutes} min`, '—']);
  }
  for (const r of view.rpo ?? []) {
    const seconds = r.seconds ?? 0;
    const ok = r.seconds !== null && seconds <= targets.rpoMinutes * 60;
    const value =
      r.bytes === 0 && (r.seconds ?? 0) === 0
        ? 'zero loss'
        : formatRpo(r).replace(`${r.component}: `, '').split(' — ')[0];
    rows.push([
      `RPO ${r.component}`,
      value,
      `${targets.rpoMinutes} min`,
      ok ? 'pass' : r.seconds === null ? '—' : 'FAIL',
    ]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
