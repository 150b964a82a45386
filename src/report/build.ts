/**
 * The drill report, computed from what was recorded: the operation's view (step times, evidence,
 * RTO, RPO) and its timeline (failed attempts the view no longer shows). Pure.
 */
import { verdictLabel, verdictOf } from '../domain/consistency.js';
import { formatDuration, title } from '../domain/format.js';
import type { OperationView, StepId, TimelineEntry } from '../domain/types.js';
import type {
  AfterDrillCheck,
  DrillMeasure,
  DrillReport,
  DrillSummary,
  DrillTargets,
  ReportStep,
  RpoRow,
  RtoRow,
} from './types.js';

const FAILBACK_FIRST: StepId = 'verify-primary';
const FAILBACK_LAST: StepId = 'verify-primary-serving';

function rpoTargetMinutes(targets: DrillTargets, component: RpoRow['component']): number {
  const key = component === 'object-storage' ? 'objectStorage' : component;
  return targets.rpoMinutesByComponent?.[key] ?? targets.rpoMinutes;
}

/** Rows measured beside the steps, in a fixed order; any source other than a step's has no stepId. */
function measureRpoRows(measures: DrillMeasure[]): RpoRow[] {
  const order: DrillMeasure['component'][] = ['object-storage', 'kubernetes'];
  return [...measures]
    .sort((a, b) => order.indexOf(a.component) - order.indexOf(b.component))
    .map((m) => ({
      component: m.component,
      source: m.component === 'object-storage' ? 'canary' : 'velero-backup',
      bytes: null,
      seconds: m.seconds,
      description: m.description,
      targetMinutes: m.targetMinutes,
      // Measured and never seen (no copy within the target, no completed backup) is as bad as over target.
      pass:
        m.status === 'measured' ? m.seconds !== null && m.seconds <= m.targetMinutes * 60 : null,
      ...(m.status === 'not-configured' ? { configured: false } : {}),
    }));
}

const isMeasure = (r: Pick<RpoRow, 'source'>): boolean =>
  r.source === 'canary' || r.source === 'velero-backup';

function stepRows(view: OperationView): ReportStep[] {
  return view.steps.map((s) => {
    const durationMs =
      s.startedAt !== undefined && s.finishedAt !== undefined
        ? s.finishedAt - s.startedAt
        : undefined;
    const note =
      s.status === 'skipped'
        ? s.skipReason === 'not-configured'
          ? 'skipped: not configured'
          : `skipped by ${s.skippedBy ?? 'someone'}`
        : s.error?.message;
    return {
      id: s.id,
      title: title(s.id, [s]),
      status: s.status,
      attempts: s.attempts,
      ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(s.summary !== undefined ? { summary: s.summary } : {}),
      ...(s.evidence !== undefined ? { evidence: s.evidence } : {}),
      ...(s.checks !== undefined ? { checks: s.checks } : {}),
      ...(s.consistency !== undefined ? { consistency: s.consistency } : {}),
      ...(note ? { note } : {}),
    };
  });
}

function rtoRows(view: OperationView, targets: DrillTargets): RtoRow[] {
  const step = (id: StepId) => view.steps.find((s) => s.id === id);
  const first = step(FAILBACK_FIRST);
  const last = step(FAILBACK_LAST);
  const failbackMs =
    first?.startedAt !== undefined && last?.status === 'succeeded' && last.finishedAt !== undefined
      ? last.finishedAt - first.startedAt
      : null;
  const row = (phase: RtoRow['phase'], ms: number | null): RtoRow => ({
    phase,
    ms,
    targetMinutes: targets.rtoMinutes,
    pass: ms === null ? null : ms <= targets.rtoMinutes * 60_000,
  });
  return [row('failover', view.rtoMs ?? null), row('failback', failbackMs)];
}

function rpoRows(view: OperationView, targets: DrillTargets): RpoRow[] {
  return view.steps.flatMap((s) =>
    s.status === 'succeeded'
      ? (s.rpo ?? []).map((r) => {
          const targetMinutes = rpoTargetMinutes(targets, r.component);
          return {
            ...r,
            stepId: s.id,
            targetMinutes,
            pass: r.seconds === null ? null : r.seconds <= targetMinutes * 60,
          };
        })
      : [],
  );
}

function deviationsOf(
  view: OperationView,
  timeline: TimelineEntry[],
  rto: RtoRow[],
  rpo: RpoRow[],
): string[] {
  const out: string[] = [];
  if (view.phase !== 'completed')
    out.push(
      `The drill did not complete: it ended ${view.phase}${view.lastError ? ` (${view.lastError.message})` : ''}.`,
    );
  for (const e of timeline) {
    if (e.type === 'StepFailed')
      out.push(
        `${title(e.stepId, view.steps)} failed after ${formatDuration(e.durationMs)}: ${e.error.message}`,
      );
  }
  for (const s of view.steps) {
    const name = title(s.id, [s]);
    if (s.status === 'skipped' && s.skipReason === 'skipped-by-user')
      out.push(`${name} was skipped by ${s.skippedBy ?? 'someone'}.`);
    if (s.status === 'skipped' && s.skipReason === 'not-configured')
      out.push(`${name} did not run: its component is not configured.`);
    for (const c of s.checks ?? [])
      if (!c.ok) out.push(`${name}: check ${c.name} failed (${c.detail}).`);
    // A passing check that proved less than every chunk (unproven: continue). A cache is sampled by design.
    for (const scope of s.status === 'succeeded' ? (s.consistency ?? []) : [])
      if (scope.component === 'database' && verdictOf(scope) !== 'consistent')
        out.push(`${name}: postgres ${scope.name} was not wholly proven (${verdictLabel(scope)}).`);
  }
  for (const r of rto) {
    if (r.pass === false)
      out.push(
        `${cap(r.phase)} RTO ${formatDuration(r.ms)} is over the ${r.targetMinutes} min target.`,
      );
    if (r.ms === null && view.phase === 'completed')
      out.push(`${cap(r.phase)} RTO was not measured (its verification did not go green).`);
  }
  for (const r of rpo) {
    if (r.pass === false && r.seconds === null)
      out.push(
        `RPO ${r.component} is over the ${targetText(r.targetMinutes)} target: ${r.description}.`,
      );
    else if (r.pass === false)
      out.push(
        `RPO ${r.component} ${formatDuration(r.seconds! * 1000)} is over the ${targetText(r.targetMinutes)} target (${r.description}).`,
      );
    else if (r.source === 'write-load' && !r.description.startsWith('zero loss'))
      out.push(`Acknowledged writes were lost (${r.component}): ${r.description}.`);
    else if (isMeasure(r) && r.configured !== false && r.pass === null)
      out.push(`RPO ${r.component} was not measured: ${r.description}.`);
  }
  if (!rpo.some((r) => r.source === 'write-load') && view.phase === 'completed') {
    out.push(
      'RPO was not measured from a write load (no PostgreSQL or Redis configured, or the load step was skipped).',
    );
  }
  return out;
}

/** "30 min", "10 s", "24 h": a target as people write it. */
export function targetText(minutes: number): string {
  if (minutes < 1) return `${Math.round(minutes * 60)} s`;
  if (minutes >= 60 && minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function delta(now: number | null, then: number | null): string {
  if (now === null || then === null) return 'not comparable (not measured in both drills)';
  const d = now - then;
  if (d === 0) return `${formatDuration(now)}, unchanged`;
  return `${formatDuration(now)} vs ${formatDuration(then)} (${d > 0 ? '+' : '−'}${formatDuration(Math.abs(d))}, ${d > 0 ? 'slower' : 'faster'})`;
}

function compare(now: DrillSummary, then: DrillSummary | null): string[] {
  if (!then)
    return ['This is the first recorded drill of this environment: nothing to compare with.'];
  const out = [
    `Previous drill: ${then.opId} on ${new Date(then.finishedAt).toISOString().slice(0, 10)}, ${then.passed ? 'passed' : 'failed'}.`,
  ];
  for (const r of now.rto) {
    const prev = then.rto.find((p) => p.phase === r.phase);
    out.push(`${cap(r.phase)} RTO: ${delta(r.ms, prev?.ms ?? null)}.`);
  }
  for (const r of now.rpo.filter(
    (x) => (x.source === 'write-load' || isMeasure(x)) && x.configured !== false,
  )) {
    const prev = then.rpo.find((p) => p.source === r.source && p.component === r.component);
    const sec = (x: RpoRow | undefined) => (x && x.seconds !== null ? x.seconds * 1000 : null);
    out.push(`RPO ${r.component}: ${delta(sec(r), sec(prev))}.`);
  }
  out.push(`Total: ${delta(now.totalMs, then.totalMs)}.`);
  // Only changes a person would act on: at least half again as long, and a second or more.
  for (const [id, ms] of Object.entries(now.stepDurations ?? {}) as [StepId, number][]) {
    const before = then.stepDurations?.[id];
    if (before !== undefined && ms >= before * 1.5 && ms - before >= 1000) {
      out.push(`Step ${id} took ${delta(ms, before)}.`);
    }
  }
  return out;
}

/** A report for a finished drill; `previous` is the last drill of the same environment before it. */
export function buildDrillReport(input: {
  view: OperationView;
  timeline: TimelineEntry[];
  targets: DrillTargets;
  previous: DrillSummary | null;
  now: number;
  /** Object storage and Kubernetes state, measured beside the steps; absent: no such rows. */
  measures?: DrillMeasure[];
  /** Readiness read after the failback (standby footprint, Terraform state); absent: no such rows. */
  afterDrill?: AfterDrillCheck[];
}): DrillReport {
  const { view, timeline, targets } = input;
  const rto = rtoRows(view, targets);
  const rpo = [...rpoRows(view, targets), ...measureRpoRows(input.measures ?? [])];
  const deviations = [
    ...deviationsOf(view, timeline, rto, rpo),
    ...(input.afterDrill ?? [])
      .filter((c) => c.status !== 'ok')
      .map((c) => `After the drill, ${c.title}: ${c.detail}.`),
  ];
  const finishedAt = view.finishedAt ?? input.now;
  const passed =
    view.phase === 'completed' &&
    rto.every((r) => r.pass !== false) &&
    rto[0].pass === true &&
    rpo.every((r) => r.pass !== false) &&
    !view.steps.some(
      (s) =>
        s.status === 'failed' || (s.status === 'skipped' && s.skipReason === 'skipped-by-user'),
    );
  const summary: DrillSummary = {
    opId: view.id,
    finishedAt,
    passed,
    rto,
    rpo,
    totalMs: view.approvedAt !== undefined ? finishedAt - view.approvedAt : null,
    stepDurations: Object.fromEntries(
      view.steps
        .filter(
          (x) =>
            x.status === 'succeeded' && x.startedAt !== undefined && x.finishedAt !== undefined,
        )
        .map((x) => [x.id, x.finishedAt! - x.startedAt!]),
    ),
  };
  return {
    ...summary,
    env: view.env,
    requester: view.requester,
    reason: view.reason,
    approvers: view.approvals.map((a) => a.userId),
    mode: view.mode ?? null,
    phase: view.phase,
    createdAt: view.createdAt,
    approvedAt: view.approvedAt ?? null,
    steps: stepRows(view),
    deviations,
    previous: input.previous,
    comparison: compare(summary, input.previous),
    ...(input.afterDrill ? { afterDrill: input.afterDrill } : {}),
    generatedAt: input.now,
  };
}

/** The part of a report the next drill compares with. */
export function summaryOf(report: DrillReport): DrillSummary {
  return {
    opId: report.opId,
    finishedAt: report.finishedAt,
    passed: report.passed,
    rto: report.rto,
    rpo: report.rpo,
    totalMs: report.totalMs,
    ...(report.stepDurations ? { stepDurations: report.stepDurations } : {}),
  };
}
