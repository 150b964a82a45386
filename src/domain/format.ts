/**
 * Plain-text wording shared by every adapter (Slack, console, reports), so the same event reads
 * the same everywhere. Pure functions, no markup: adapters add their own (mrkdwn, ANSI).
 */
import { describeLastResort } from './last-resort-text.js';
import type {
  StepId,
  ComponentReadiness,
  Evidence,
  JsonValue,
  OperationView,
  RefusalReason,
  RpoMeasurement,
  StepState,
  TimelineEntry,
} from './types.js';
import { STEP_TITLES } from '../machine/runbook.js';
import { describeUndo } from './split-text.js';

export function formatDuration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m} min ${rest} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export const STEP_ICONS: Record<StepState['status'], string> = {
  pending: '·',
  running: '⏳',
  waiting: '✋',
  succeeded: '✅',
  failed: '❌',
  skipped: '⏭',
};

/** Evidence values as a person reads them: lists joined, objects as `key value` pairs, no JSON. */
function formatJson(value: JsonValue): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(formatJson).join(', ');
  const pairs = Object.entries(value).map(([k, v]) => `${k} ${formatJson(v)}`);
  return pairs.length > 0 ? pairs.join(', ') : '—';
}

/** `key: value` lines for evidence, in the order the step reported them. */
export function evidenceLines(evidence: Evidence | undefined): string[] {
  if (!evidence) return [];
  return Object.entries(evidence).map(([k, v]) => `${k}: ${formatJson(v)}`);
}

export function formatRpo(rpo: RpoMeasurement): string {
  const parts = [
    rpo.bytes === null ? null : formatBytes(rpo.bytes),
    rpo.seconds === null ? null : formatDuration(rpo.seconds * 1000),
  ].filter((p): p is string => p !== null);
  return `${rpo.component}: ${parts.length ? parts.join(' / ') : 'unknown'} — ${rpo.description}`;
}

const REFUSAL_TEXT: Record<RefusalReason, string> = {
  'self-approval': 'the requester cannot approve their own request',
  unauthorized: 'not an authorized approver',
  duplicate: 'approval already counted',
  'stale-plan': 'the plan changed since this approval was drawn',
  'not-awaiting-approval': 'the operation is not waiting for approval',
  'not-paused': 'the operation is not paused',
  finished: 'the operation has already finished',
  'unknown-operation': 'no such operation',
  'other-environment': 'the operation belongs to another environment',
  expired: 'it came after the approval deadline',
  unrestorable: 'the operation cannot be resumed by this version; only an abort closes it',
  'nothing-to-undo': 'no switched data component the bot can put back',
  'no-last-resort': 'no failed step offers a last resort',
  'not-waiting': 'no manual step of that name waits for Done',
};

/** The steps whose titles a view knows: a custom step's title is in config, not in STEP_TITLES. */
export type StepTitles = readonly Pick<StepState, 'id' | 'title'>[];

/**
 * A step's title as people read it. A custom step (config runbook.steps) shows its configured
 * title from `steps` (its id when they do not have it), marked as custom.
 */
export function title(stepId: StepId, steps: StepTitles = []): string {
  if (!stepId.startsWith('custom:')) return STEP_TITLES[stepId] ?? stepId;
  const configured = steps.find((s) => s.id === stepId)?.title;
  return `${configured ?? stepId.slice('custom:'.length)} (custom)`;
}

/** One sentence per timeline entry. */
export function describeEntry(e: TimelineEntry, steps: StepTitles = []): string {
  const t = (id: StepId): string => title(id, steps);
  switch (e.type) {
    case 'OperationRequested':
      return `${e.requester} requested a ${e.requestedMode === 'auto' ? '' : `${e.requestedMode} `}${e.kind}: ${e.reason || '(no reason given)'}`;
    case 'PreflightCompleted':
      return `Preflight: ${e.report.mode} ${e.report.components.map((c) => `${c.component} ${c.status}`).join(', ')}`;
    case 'ApprovalRequested':
      return `Waiting for ${e.required} approval(s) until ${new Date(e.expiresAt).toISOString()} (plan ${e.planHash})`;
    case 'ApprovalRecorded':
      return `${e.userId} approved (${e.count}/${e.required})`;
    case 'ApprovalRefused':
      return `Approval by ${e.userId} refused: ${REFUSAL_TEXT[e.reason]}`;
    case 'ApprovalsInvalidated':
      return `The plan changed (${e.previousPlanHash} → ${e.planHash}): earlier approvals no longer count`;
    case 'OperationApproved':
      return `Approved by ${e.approvers.join(', ')}`;
    case 'OperationRejected':
      return `Rejected by ${e.userId}${e.reason ? `: ${e.reason}` : ''}`;
    case 'OperationExpired':
      return 'Expired: no approval in time, nothing was changed';
    case 'OperationRefused':
      return `Refused before any change: ${e.error.message}`;
    case 'StepStarted':
      return `${t(e.stepId)}: started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}${e.beside?.length ? `, in parallel with ${e.beside.map(t).join(', ')}` : ''}`;
    case 'StepProgress':
      return `${t(e.stepId)}: ${e.message}`;
    case 'StepResumed':
      return `${t(e.stepId)}: resumed after a restart, re-checking before running`;
    case 'ManualStepWaiting':
      return `${t(e.stepId)}: waiting for Done by ${e.owners.length ? e.owners.join(' or ') : 'an approver or the requester'}: ${e.text}`;
    case 'StepSucceeded':
      return `${t(e.stepId)}: ${e.outcome.result === 'already-done' ? 'already done' : 'done'} in ${formatDuration(e.durationMs)} — ${e.outcome.summary}`;
    case 'StepSkipped':
      return `${t(e.stepId)}: skipped — ${e.reason === 'not-configured' ? 'not configured' : `by ${e.userId ?? 'someone'}`}`;
    case 'StepFailed':
      return `${t(e.stepId)}: failed after ${formatDuration(e.durationMs)} — ${e.error.message}`;
    case 'OperationPaused':
      return `Paused at ${e.stepIds.map(t).join(', ')}: retry, skip or abort`;
    case 'StepRetried':
      return `${t(e.stepId)}: retried by ${e.userId}`;
    case 'ActionRefused':
      return `${e.action} by ${e.userId} refused: ${REFUSAL_TEXT[e.reason]}`;
    case 'OperationAborted':
      return `Aborted by ${e.userId}${e.reason ? `: ${e.reason}` : ''}${e.notResumed ? ` (closed without resuming: ${e.notResumed})` : ''}`;
    case 'AbortedStepSettled':
      return `${t(e.stepId)}: still running at the abort, ${e.outcome} after ${formatDuration(e.durationMs)} — ${e.detail}`;
    case 'UndoRequested':
    case 'UndoStarted':
    case 'DataTierUndone':
    case 'UndoFailed':
      return describeUndo(e);
    case 'LastResortRequested':
    case 'LastResortStarted':
    case 'LastResortDone':
    case 'LastResortFailed':
      return describeLastResort(e);
    case 'OperationCompleted':
      return `Completed in ${formatDuration(e.durationMs)}${e.rtoMs !== undefined ? `, RTO ${formatDuration(e.rtoMs)}` : ''}`;
  }
}

/**
 * The step lines of a card, stage by stage: the steps of a stage run side by side, so each gets
 * a lane mark ("1┬", "1├", "1└") and a single step its stage number.
 */
export function laneLines(
  view: Pick<OperationView, 'steps' | 'stages'>,
  line: (s: StepState) => string,
): string[] {
  const stages = view.stages ?? view.steps.map((s) => [s.id]);
  return stages.flatMap((stage, i) =>
    stage.flatMap((id, lane) => {
      const step = view.steps.find((s) => s.id === id);
      if (!step) return [];
      const mark =
        stage.length === 1 ? ' ' : lane === 0 ? '┬' : lane === stage.length - 1 ? '└' : '├';
      // Stage numbers right-aligned, so a 13-stage card keeps its columns.
      const width = String(stages.length).length;
      return [`${String(i + 1).padStart(width)}${mark} ${line(step)}`];
    }),
  );
}

/**
 * The expected loss to print under a component's summary, or undefined when the summary already
 * says it (an unplanned summary ends with it): each figure once.
 */
export function separateExpectedLoss(c: ComponentReadiness): string | undefined {
  const d = c.expectedLoss?.description;
  return d && !c.summary.includes(d) ? d : undefined;
}
