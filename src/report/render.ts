/**
 * The drill report as Markdown (the file posted in the channel and printed by `dr report`) and as
 * a short summary (the channel message, the console). Plain text: no Slack markup.
 */
import { consistencyRows } from '../domain/consistency.js';
import { evidenceLines, formatBytes, formatDuration } from '../domain/format.js';
import { targetText } from './build.js';
import type { AfterDrillCheck, DrillReport, RpoRow, RtoRow } from './types.js';

function verdict(pass: boolean | null): string {
  return pass === null ? '—' : pass ? 'pass' : 'FAIL';
}

function iso(at: number | null | undefined): string {
  return at === null || at === undefined
    ? '—'
    : new Date(at).toISOString().replace('T', ' ').slice(0, 23);
}

const AFTER_RESULT: Record<AfterDrillCheck['status'], string> = {
  ok: 'ok',
  degraded: 'NOT OK',
  unknown: 'not read',
};

const MEASURE_LABELS: Partial<Record<NonNullable<RpoRow['source']>, string>> = {
  canary: 'canary',
  'velero-backup': 'Velero backup',
};

function rpoValue(r: RpoRow): string {
  if (r.configured === false) return 'not configured';
  if (r.source === 'canary' || r.source === 'velero-backup') {
    if (r.seconds !== null) return formatDuration(r.seconds * 1000);
    if (r.pass === null) return 'not measured';
    return r.source === 'canary' ? 'not replicated' : 'no backup';
  }
  if (r.seconds === 0 && (r.bytes ?? 0) === 0) return 'zero loss';
  const parts = [
    r.seconds === null ? null : formatDuration(r.seconds * 1000),
    r.bytes === null ? null : formatBytes(r.bytes),
  ].filter((p) => p !== null);
  return parts.length > 0 ? parts.join(' / ') : 'unknown';
}

/** Where a drill measured replication loss, in words: its promotions, not their step ids. */
const PROMOTION_LABELS: Record<string, string> = {
  'promote-database': 'failover promotion',
  'promote-cache': 'failover promotion',
  'promote-primary': 'failback promotion',
};

function rpoLabel(r: RpoRow): string {
  const how =
    r.source === 'write-load'
      ? 'write load'
      : (MEASURE_LABELS[r.source ?? 'replication'] ??
        PROMOTION_LABELS[r.stepId ?? ''] ??
        `at ${r.stepId ?? '?'}`);
  return `RPO ${r.component} (${how})`;
}

/** measure, value, target, result — the RTO/RPO table's rows. */
function measureRows(report: Pick<DrillReport, 'rto' | 'rpo'>): [string, string, string, string][] {
  const rows: [string, string, string, string][] = report.rto.map((r: RtoRow) => [
    `RTO ${r.phase}`,
    r.ms === null ? 'not measured' : formatDuration(r.ms),
    `${r.targetMinutes} min`,
    verdict(r.pass),
  ]);
  for (const r of report.rpo)
    rows.push([
      rpoLabel(r),
      rpoValue(r),
      r.configured === false ? '—' : targetText(r.targetMinutes),
      verdict(r.pass),
    ]);
  return rows;
}

/** The RTO/RPO table in fixed-width columns (terminal, CI logs). */
export function renderMeasuresTable(report: Pick<DrillReport, 'rto' | 'rpo'>): string {
  const rows: [string, string, string, string][] = [
    ['measure', 'value', 'target', 'result'],
    ...measureRows(report),
  ];
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

/** A few lines: verdict, RTO and RPO, the number of deviations. */
export function renderDrillSummary(report: DrillReport): string {
  const [headline, ...rest] = drillHeadline(report);
  const lines = [headline];
  for (const [measure, value, target, result] of measureRows(report))
    lines.push(`• ${measure}: ${value} (target ${target}) — ${result}`);
  return [...lines, ...rest].join('\n');
}

/** The verdict, the deviations and the comparison, without the measures (the console prints
 * those once, as a table). */
export function drillHeadline(report: DrillReport): string[] {
  const lines = [
    `Drill ${report.opId} in ${report.env}: ${report.passed ? 'PASSED' : 'FAILED'} (${report.phase})`,
  ];
  lines.push(
    report.deviations.length === 0
      ? '• No deviations.'
      : `• ${report.deviations.length} deviation(s); the first: ${report.deviations[0]}`,
  );
  if (report.previous) lines.push(`• ${report.comparison[1] ?? report.comparison[0]}`);
  for (const c of report.afterDrill ?? [])
    lines.push(`• After the drill, ${c.title}: ${AFTER_RESULT[c.status]} — ${c.detail}`);
  return lines;
}

/** The report's last section: readiness read once the failback is done. */
function afterDrillLines(checks: AfterDrillCheck[] | undefined): string[] {
  if (!checks || checks.length === 0) return [];
  const out = ['', '## After the drill', ''];
  for (const c of checks) out.push(`- ${c.title}: ${AFTER_RESULT[c.status]} — ${c.detail}`);
  return out;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderDrillMarkdown(report: DrillReport): string {
  const out: string[] = [];
  out.push(`# Drill report ${report.opId} — ${report.passed ? 'PASSED' : 'FAILED'}`, '');
  out.push(`- Environment: ${report.env}`);
  out.push(`- Requested by ${report.requester}: ${report.reason || '(no reason given)'}`);
  out.push(`- Approved by ${report.approvers.join(', ') || '—'} at ${iso(report.approvedAt)} UTC`);
  out.push(
    `- Mode: ${report.mode ?? '—'}; outcome: ${report.phase}; finished ${iso(report.finishedAt)} UTC`,
  );
  out.push(`- Total from approval: ${formatDuration(report.totalMs)}`, '');

  out.push(
    '## RTO and RPO against the targets',
    '',
    '| Measure | Value | Target | Result |',
    '|---|---|---|---|',
  );
  for (const row of measureRows(report)) out.push(`| ${row.map(cell).join(' | ')} |`);
  for (const r of report.rpo) out.push('', `- ${rpoLabel(r)}: ${r.description}`);
  out.push('');

  out.push(
    '## Steps',
    '',
    '| Step | Status | Attempts | Started (UTC) | Duration | Summary |',
    '|---|---|---|---|---|---|',
  );
  for (const s of report.steps) {
    out.push(
      `| ${cell(s.title)} | ${s.status} | ${s.attempts} | ${iso(s.startedAt)} | ${formatDuration(s.durationMs)} | ${cell(s.summary ?? s.note ?? '')} |`,
    );
  }
  out.push('', '### Evidence', '');
  for (const s of report.steps) {
    const ev = evidenceLines(s.evidence);
    const checks = (s.checks ?? []).map(
      (c) => `${c.ok ? 'ok' : 'FAILED'} — ${c.name}: ${c.detail}`,
    );
    const scopes = consistencyRows(s.consistency ?? []);
    if (ev.length === 0 && checks.length === 0 && scopes.length === 0) continue;
    out.push(`**${s.title}**`, '');
    for (const l of [...ev, ...checks]) out.push(`- ${l}`);
    out.push('');
    const [head, ...rows] = scopes;
    if (!head || rows.length === 0) continue;
    out.push(`| ${head.map(cell).join(' | ')} |`, `|${'---|'.repeat(head.length)}`);
    for (const r of rows) out.push(`| ${r.map(cell).join(' | ')} |`);
    out.push('');
  }

  out.push('## Deviations', '');
  if (report.deviations.length === 0)
    out.push('None: every step ran once and every measure is within its target.');
  for (const d of report.deviations) out.push(`- ${d}`);
  out.push('', '## Compared with the previous drill', '');
  for (const c of report.comparison) out.push(`- ${c}`);
  out.push(...afterDrillLines(report.afterDrill));
  out.push('', `_Generated ${iso(report.generatedAt)} UTC by dr-bot._`, '');
  return out.join('\n');
}
