/**
 * Block Kit rendering: operation view (and timeline entries) in, Slack message out. Pure, so the
 * card can be unit-tested without a Slack server and the updater can compare renders cheaply.
 */
import type { types as SlackTypes } from '@slack/bolt';
import type {
  ComponentReadiness,
  OperationView,
  Phase,
  ReadinessStatus,
  RpoMeasurement,
  StepId,
  StepState,
  TimelineEntry,
} from '../domain/types.js';
import { FINAL_PHASES } from '../domain/types.js';
import {
  STEP_ICONS,
  evidenceLines,
  formatDuration,
  formatRpo,
  laneLines,
  separateExpectedLoss,
  title,
  type StepTitles,
} from '../domain/format.js';
import { checksTable } from './checks-table.js';
import { escapeMrkdwn } from './mrkdwn.js';
import { cardConsistency, consistencyText } from './consistency.js';
import { pausedButtons, pausedSections, undoReply } from './split-card.js';

type Block = SlackTypes.KnownBlock;
export interface SlackMessage {
  /** Notification and screen-reader fallback; Slack requires it alongside blocks. */
  text: string;
  blocks: Block[];
}
export interface Targets {
  rtoMinutes: number;
  rpoMinutes: number;
}

export const ACTION_IDS = {
  approve: 'dr_approve',
  reject: 'dr_reject',
  retry: 'dr_retry',
  skip: 'dr_skip',
  abort: 'dr_abort',
  undo: 'dr_undo',
  done: 'dr_done',
  detach: 'dr_detach',
} as const;
export type CardAction = keyof typeof ACTION_IDS;

/** What a button carries. The plan hash binds an approval to the plan the approver saw. */
interface ButtonValue {
  opId: string;
  planHash?: string;
  /** A manual step's Done / Skip: which step (`custom:<id>`). */
  stepId?: StepId;
}

export function encodeButtonValue(v: ButtonValue): string {
  return JSON.stringify(v);
}

export function decodeButtonValue(raw: string | undefined): ButtonValue | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { opId, planHash, stepId } = v as Record<string, unknown>;
    if (typeof opId !== 'string' || opId.length === 0) return null;
    return {
      opId,
      ...(typeof planHash === 'string' ? { planHash } : {}),
      ...(typeof stepId === 'string' && stepId.startsWith('custom:')
        ? { stepId: stepId as StepId }
        : {}),
    };
  } catch {
    return null;
  }
}

const PHASE_LABEL: Record<Phase, string> = {
  preflight: '🔎 Preflight: checking every component',
  awaitingApproval: '🟡 Awaiting approval',
  recheck: '🔎 Approved: re-checking before the first step',
  running: '🔵 Running',
  paused: '🟠 Paused: a step failed; retry, skip or abort',
  undoing: '↩️ Undoing the switched data component',
  completed: '🟢 Completed',
  rejected: '⛔ Rejected: nothing was changed',
  aborted: '⛔ Aborted',
  expired: '⌛ Expired: no approval in time, nothing was changed',
  refused: '⛔ Refused before any change',
};

const READINESS_ICON: Record<ReadinessStatus, string> = {
  ready: '✅',
  warning: '⚠️',
  blocked: '⛔',
  'not-configured': '➖',
};

const KIND_LABEL = { failover: 'Failover', failback: 'Failback', drill: 'Drill' } as const;

export { escapeMrkdwn };

export function user(id: string): string {
  return /^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : escapeMrkdwn(id);
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function section(text: string): Block {
  // Section text is limited to 3000 characters.
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } };
}

function context(text: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, 3000) }] };
}

function slackDate(ms: number, fallback: string): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${fallback}>`;
}

function modeLabel(view: OperationView): string {
  if (view.mode)
    return view.requestedMode === 'auto' ? `${view.mode} (chosen by preflight)` : view.mode;
  return view.requestedMode === 'auto' ? 'decided by preflight' : view.requestedMode;
}

function isFinal(phase: Phase): boolean {
  return FINAL_PHASES.includes(phase);
}

function stepDuration(s: StepState): number | undefined {
  return s.startedAt !== undefined && s.finishedAt !== undefined
    ? s.finishedAt - s.startedAt
    : undefined;
}

function stepLine(s: StepState): string {
  const icon = s.status === 'pending' ? '⬜' : STEP_ICONS[s.status];
  const took = stepDuration(s);
  let note = '';
  if (s.status === 'skipped') {
    note =
      s.skipReason === 'not-configured'
        ? 'skipped — not configured'
        : `skipped by ${s.skippedBy ? user(s.skippedBy) : 'someone'}`;
  } else if (s.status === 'failed') {
    note = s.error ? escapeMrkdwn(s.error.message) : 'failed';
  } else if (s.status === 'running') {
    note = s.attempts > 1 ? `running (attempt ${s.attempts})` : 'running';
  } else if (s.status === 'waiting') {
    note = 'waiting for Done (in the thread)';
  } else if (s.confirmedBy) {
    note = `confirmed by ${user(s.confirmedBy)}`;
  } else if (s.status === 'succeeded' && s.summary) {
    note = escapeMrkdwn(s.summary);
  }
  const parts = [
    `${icon} *${escapeMrkdwn(s.title)}*${s.id.startsWith('custom:') ? ' _(custom)_' : ''}`,
  ];
  if (took !== undefined) parts.push(formatDuration(took));
  if (note) parts.push(note);
  return parts.join(' — ');
}

function readinessLines(c: ComponentReadiness): string {
  const lines = [
    `${READINESS_ICON[c.status]} *${c.component}* (${c.status}) — ${escapeMrkdwn(c.summary)}`,
  ];
  const loss = separateExpectedLoss(c);
  if (loss) lines.push(`      expected loss: ${escapeMrkdwn(loss)}`);
  for (const w of c.warnings ?? []) lines.push(`      ⚠️ ${escapeMrkdwn(w)}`);
  return lines.join('\n');
}

export function button(
  action: CardAction,
  label: string,
  value: ButtonValue,
  style?: 'primary' | 'danger',
  confirm?: { title: string; text: string; confirm: string },
): SlackTypes.Button {
  return {
    type: 'button',
    action_id: ACTION_IDS[action],
    text: { type: 'plain_text', text: label },
    value: encodeButtonValue(value),
    ...(style ? { style } : {}),
    ...(confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: clip(confirm.title, 100) },
            text: { type: 'mrkdwn', text: clip(confirm.text, 300) },
            confirm: { type: 'plain_text', text: confirm.confirm },
            deny: { type: 'plain_text', text: 'Cancel' },
            ...(style === 'danger' ? { style: 'danger' as const } : {}),
          },
        }
      : {}),
  };
}

function actionButtons(view: OperationView): Block | null {
  const kind = KIND_LABEL[view.kind].toLowerCase();
  if (view.phase === 'awaitingApproval') {
    const value: ButtonValue = view.planHash
      ? { opId: view.id, planHash: view.planHash }
      : { opId: view.id };
    return {
      type: 'actions',
      block_id: `dr_approval:${view.id}`,
      elements: [
        button('approve', 'Approve', value, 'primary', {
          title: `Approve ${view.id}?`,
          text: `This starts the ${kind} of *${escapeMrkdwn(view.env)}* (${modeLabel(view)}) as shown on the card.`,
          confirm: 'Approve',
        }),
        button('reject', 'Reject', { opId: view.id }, 'danger'),
      ],
    };
  }
  if (view.phase === 'paused') {
    const value: ButtonValue = { opId: view.id };
    const paused =
      view.currentSteps.map((id) => title(id, view.steps)).join(', ') || 'the failed step';
    // A split data tier is put right by Retry or Undo: skipping would go on with it split.
    const skip = view.split
      ? []
      : [
          button('skip', 'Skip', value, undefined, {
            title: 'Skip this step?',
            text: view.currentSteps.includes('verify-consistency')
              ? `The ${kind} switches back without a passing consistency check, on the evidence on the card.`
              : `${escapeMrkdwn(paused)} will be marked skipped and the ${kind} continues without it.`,
            confirm: 'Skip',
          }),
        ];
    return {
      type: 'actions',
      block_id: `dr_paused:${view.id}`,
      elements: [
        button('retry', 'Retry', value, 'primary'),
        ...skip,
        ...pausedButtons(view).map((b) => button(b.action, b.label, value, 'danger', b.confirm)),
        button('abort', 'Abort', value, 'danger', {
          title: `Abort ${view.id}?`,
          text: `The ${kind} stops here. Steps already done are NOT undone.`,
          confirm: 'Abort',
        }),
      ],
    };
  }
  return null;
}

/** The status card: one per operation, updated in place. */
export function renderCard(view: OperationView, targets: Targets): SlackMessage {
  const kind = KIND_LABEL[view.kind];
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${kind} ${view.id} · ${view.env}`, 150) },
    },
    section(
      [
        `*Requested by* ${user(view.requester)} — ${view.reason ? escapeMrkdwn(view.reason) : '_no reason given_'}`,
        `*Mode:* ${modeLabel(view)}    *Phase:* ${PHASE_LABEL[view.phase]}`,
      ].join('\n'),
    ),
  ];
  if (view.preflight) {
    blocks.push(
      section(['*Preflight*', ...view.preflight.components.map(readinessLines)].join('\n')),
    );
  }
  const approvers = view.approvals.map((a) => user(a.userId)).join(', ');
  let approvalLine = `*Approvals:* ${view.approvals.length}/${view.requiredApprovals}${approvers ? ` — ${approvers}` : ''}`;
  if (view.phase === 'awaitingApproval' && view.expiresAt !== undefined) {
    approvalLine += `    expires ${slackDate(view.expiresAt, new Date(view.expiresAt).toISOString())}`;
  }
  blocks.push(section(approvalLine));
  if (view.steps.length > 0) {
    blocks.push(section(['*Steps*', ...laneLines(view, stepLine)].join('\n')));
  }
  const proven = cardConsistency(view);
  if (proven) blocks.push(section(proven));
  for (const text of pausedSections(view)) blocks.push(section(text));
  if (view.lastError && (view.phase === 'paused' || view.phase === 'refused')) {
    blocks.push(
      section(
        `❌ *${view.phase === 'paused' ? 'Paused' : 'Refused'}:* ${escapeMrkdwn(view.lastError.message)}`,
      ),
    );
  }
  if (isFinal(view.phase)) {
    blocks.push(context(finalLine(view, targets)));
  }
  const actions = actionButtons(view);
  if (actions) blocks.push(actions);
  return { text: `${kind} ${view.id} (${view.env}): ${PHASE_LABEL[view.phase]}`, blocks };
}

function finalLine(view: OperationView, targets: Targets): string {
  const parts: string[] = [PHASE_LABEL[view.phase]];
  if (view.finishedAt !== undefined)
    parts.push(`in ${formatDuration(view.finishedAt - view.createdAt)}`);
  if (view.rtoMs !== undefined) parts.push(rtoText(view.rtoMs, targets));
  if (view.rejectedBy) parts.push(`rejected by ${user(view.rejectedBy)}`);
  if (view.abortedBy) parts.push(`aborted by ${user(view.abortedBy)}`);
  return parts.join(' · ');
}

function rtoText(rtoMs: number, targets: Targets): string {
  const ok = rtoMs <= targets.rtoMinutes * 60_000;
  return `RTO ${formatDuration(rtoMs)} (target ${targets.rtoMinutes} min ${ok ? '✅' : '❌ missed'})`;
}

function rpoLines(rpo: RpoMeasurement[] | undefined, targets: Targets): string[] {
  return (rpo ?? []).map((r) => {
    const over = r.seconds !== null && r.seconds > targets.rpoMinutes * 60;
    return `• RPO ${escapeMrkdwn(formatRpo(r))}${over ? ` ❌ over the ${targets.rpoMinutes} min target` : ''}`;
  });
}

/** The thread reply for one finished step: what happened and its evidence. */
export function renderStepReply(
  entry: TimelineEntry,
  view: OperationView,
  targets: Targets,
): SlackMessage | null {
  if (entry.type !== 'StepSucceeded' && entry.type !== 'StepFailed' && entry.type !== 'StepSkipped')
    return null;
  const stepTitle = title(entry.stepId, view.steps);
  const step = view.steps.find((s) => s.id === entry.stepId);
  const blocks: Block[] = [];
  let text: string;
  if (entry.type === 'StepSucceeded') {
    const o = entry.outcome;
    const how =
      o.result === 'already-done'
        ? 'was already done'
        : o.result === 'not-configured'
          ? 'is not configured'
          : 'succeeded';
    text = `✅ ${stepTitle} ${how} in ${formatDuration(entry.durationMs)}`;
    blocks.push(section(`*${escapeMrkdwn(text)}*\n${escapeMrkdwn(o.summary)}`));
    const ev = evidenceLines(o.evidence).map((l) => `• ${escapeMrkdwn(l)}`);
    if (ev.length > 0) blocks.push(section(['*Evidence*', ...ev].join('\n')));
    if (o.checks && o.checks.length > 0) {
      const passed = o.checks.filter((c) => c.ok).length;
      blocks.push(
        section(`*Checks* ${passed}/${o.checks.length} passed\n${checksTable(o.checks)}`),
      );
    }
    const proven = consistencyText(o.consistency);
    if (proven) blocks.push(section(proven));
    const rpo = rpoLines(o.rpo, targets);
    if (rpo.length > 0) blocks.push(section(rpo.join('\n')));
  } else if (entry.type === 'StepFailed') {
    text = `❌ ${stepTitle} failed after ${formatDuration(entry.durationMs)}`;
    const attempt = step && step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
    blocks.push(section(`*${escapeMrkdwn(text)}*${attempt}\n${escapeMrkdwn(entry.error.message)}`));
    const ev = evidenceLines(step?.evidence).map((l) => `• ${escapeMrkdwn(l)}`);
    if (ev.length > 0) blocks.push(section(['*Evidence*', ...ev].join('\n')));
    const proven = consistencyText(step?.consistency);
    if (proven) blocks.push(section(proven));
    blocks.push(
      context(
        `error code \`${entry.error.code}\`${entry.error.provider ? ` from ${entry.error.provider}` : ''}${entry.error.retryable ? ' · retryable' : ''} · use the card's Retry, Skip or Abort`,
      ),
    );
  } else {
    const why =
      entry.reason === 'not-configured'
        ? 'not configured'
        : `by ${entry.userId ? user(entry.userId) : 'someone'}`;
    text = `⏭ ${stepTitle} skipped — ${entry.reason === 'not-configured' ? 'not configured' : 'by a person'}`;
    blocks.push(section(`*⏭ ${escapeMrkdwn(stepTitle)} skipped* — ${why}`));
  }
  return { text, blocks };
}

/** Thread replies for approvals, refusals and decisions (not steps, not the final summary). */
export function renderEventReply(entry: TimelineEntry, steps?: StepTitles): SlackMessage | null {
  const t = (id: StepId): string => title(id, steps);
  let text: string | null = null;
  switch (entry.type) {
    case 'ApprovalRecorded':
      text = `👍 ${user(entry.userId)} approved (${entry.count}/${entry.required})`;
      break;
    case 'ApprovalRefused':
      text = `🚫 Approval by ${user(entry.userId)} refused: ${refusalSummary(entry.reason)}`;
      break;
    case 'ActionRefused':
      text = `🚫 ${entry.action} by ${user(entry.userId)} refused: ${refusalSummary(entry.reason)}`;
      break;
    case 'ApprovalsInvalidated':
      text =
        '♻️ The plan changed since approval was requested: earlier approvals no longer count. Review the card again.';
      break;
    case 'OperationApproved':
      text = `✅ Approved by ${entry.approvers.map(user).join(', ')}: starting`;
      break;
    case 'OperationPaused':
      text = `⏸ Paused at ${entry.stepIds.map(t).join(', ')}: use Retry, Skip or Abort on the card`;
      break;
    case 'StepRetried':
      text = `🔁 ${user(entry.userId)} retried ${t(entry.stepId)}`;
      break;
    case 'StepResumed':
      text = `♻️ ${t(entry.stepId)}: resumed after a restart, re-checking before running`;
      break;
    case 'AbortedStepSettled':
      text = `⚠️ ${t(entry.stepId)} was still running at the abort and has now ${entry.outcome === 'succeeded' ? 'succeeded' : 'failed'} after ${formatDuration(entry.durationMs)}: ${escapeMrkdwn(entry.detail)}. Check the component before the next operation.`;
      break;
    default:
      text = undoReply(entry);
      if (text === null) return null;
  }
  return { text, blocks: [section(text)] };
}

function refusalSummary(reason: string): string {
  switch (reason) {
    case 'self-approval':
      return 'the requester cannot approve their own request';
    case 'unauthorized':
      return 'not an authorized approver';
    case 'duplicate':
      return 'approval already counted';
    case 'stale-plan':
      return 'the plan changed since the button was drawn';
    case 'finished':
      return 'the operation has already finished';
    case 'expired':
      return 'it came after the approval deadline';
    default:
      return reason;
  }
}

/** The final thread reply: outcome, duration, RTO against target, RPO. */
export function renderSummary(view: OperationView, targets: Targets): SlackMessage {
  const kind = KIND_LABEL[view.kind];
  const duration =
    view.finishedAt !== undefined ? formatDuration(view.finishedAt - view.createdAt) : '—';
  const head = `🏁 ${kind} ${view.id} ${view.phase} after ${duration}`;
  const lines = [`*${head}*`];
  const done = view.steps.filter((s) => s.status === 'succeeded').length;
  const skipped = view.steps.filter((s) => s.status === 'skipped').length;
  const failed = view.steps.filter((s) => s.status === 'failed').length;
  lines.push(
    `Steps: ${done} succeeded, ${skipped} skipped, ${failed} failed of ${view.steps.length}`,
  );
  if (view.approvals.length > 0)
    lines.push(`Approved by ${view.approvals.map((a) => user(a.userId)).join(', ')}`);
  if (view.rejectedBy) lines.push(`Rejected by ${user(view.rejectedBy)}`);
  if (view.abortedBy) lines.push(`Aborted by ${user(view.abortedBy)}`);
  if (view.undo?.summary) lines.push(`Undone: ${escapeMrkdwn(view.undo.summary)}`);
  if (view.lastError && view.phase !== 'completed')
    lines.push(`Last error: ${escapeMrkdwn(view.lastError.message)}`);
  lines.push(
    view.rtoMs !== undefined
      ? rtoText(view.rtoMs, targets)
      : `RTO not measured (target ${targets.rtoMinutes} min)`,
  );
  const rpo = rpoLines(view.rpo, targets);
  lines.push(...(rpo.length > 0 ? rpo : ['RPO not measured']));
  return { text: head, blocks: [section(lines.join('\n'))] };
}

export function cardPermalinkFallback(channel: string, ts: string): string {
  return `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}

/** One line about an operation for /dr status. */
export function statusLine(view: OperationView, link: string | null): string {
  const running = view.steps.find((s) => s.status === 'running' || s.status === 'failed');
  const done = view.steps.filter((s) => s.status === 'succeeded' || s.status === 'skipped').length;
  const parts = [
    `*${link ? `<${link}|${view.id}>` : view.id}* ${view.kind} of ${escapeMrkdwn(view.env)} — ${PHASE_LABEL[view.phase]}`,
    `requested by ${user(view.requester)}${view.reason ? `: ${escapeMrkdwn(view.reason)}` : ''}`,
    `steps ${done}/${view.steps.length}${running && !isFinal(view.phase) ? `, at ${escapeMrkdwn(title(running.id, view.steps))}` : ''}`,
  ];
  if (view.finishedAt !== undefined)
    parts.push(`finished ${slackDate(view.finishedAt, new Date(view.finishedAt).toISOString())}`);
  return parts.join(' · ');
}
