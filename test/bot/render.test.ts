import {
  ACTION_IDS,
  cardPermalinkFallback,
  decodeButtonValue,
  renderCard,
  renderEventReply,
  renderStepReply,
  renderSummary,
  statusLine,
  type SlackMessage,
} from '../../src/bot/render.js';
import { refusalMessage } from '../../src/bot/refusals.js';
import { buildDrillReport } from '../../src/report/build.js';
import {
  renderEntry as renderConsoleEntry,
  renderStatus as renderConsoleStatus,
} from '../../src/console/render.js';
import type {
  DataTierRole,
  OperationView,
  StepState,
  TimelineEntry,
} from '../../src/domain/types.js';

const targets = { rtoMinutes: 30, rpoMinutes: 5 };
const T0 = Date.UTC(2026, 10, 25, 22, 0, 0);

function steps(status: StepState['status']): StepState[] {
  const ids = [
    ['promote-database', 'Promote secondary database'],
    ['promote-cache', 'Promote secondary cache'],
    ['switch-dns', 'Switch DNS to secondary'],
    ['scale-secondary', 'Scale secondary to production'],
    ['verify-secondary', 'Verify secondary'],
  ] as const;
  return ids.map(([id, title], i) => ({
    id,
    title,
    status,
    attempts: status === 'pending' ? 0 : 1,
    ...(status === 'pending'
      ? {}
      : { startedAt: T0 + 60_000 + i * 2000, finishedAt: T0 + 61_500 + i * 2000 }),
  }));
}

function view(over: Partial<OperationView> = {}): OperationView {
  return {
    id: 'DR-20261125-093015',
    env: 'prod',
    kind: 'failover',
    requestedMode: 'auto',
    mode: 'unplanned',
    requester: 'U0ALICE',
    reason: 'eu-west-1 down <!channel> & friends',
    phase: 'awaitingApproval',
    currentSteps: [],
    steps: steps('pending'),
    approvals: [],
    requiredApprovals: 1,
    expiresAt: T0 + 30 * 60_000,
    planHash: 'ph-123',
    preflight: {
      mode: 'unplanned',
      checkedAt: T0,
      components: [
        {
          component: 'database',
          status: 'warning',
          summary: 'standby in recovery, primary unreachable',
          details: {},
          planFacts: {},
          primaryReachable: false,
          expectedLoss: {
            bytes: 12288,
            seconds: 4.2,
            description: '≈ 12 kB of WAL, last replay 4.2 s before loss',
          },
          warnings: ['lag over the RPO target'],
        },
        {
          component: 'dns',
          status: 'ready',
          summary: 'PRIMARY record healthy',
          details: {},
          planFacts: {},
        },
        {
          component: 'cluster',
          status: 'not-configured',
          summary: 'not configured',
          details: {},
          planFacts: {},
        },
      ],
    },
    createdAt: T0,
    ...over,
  };
}

function allText(msg: SlackMessage): string {
  return JSON.stringify(msg.blocks);
}

function buttons(msg: SlackMessage): Array<Record<string, any>> {
  return msg.blocks.filter((b) => b.type === 'actions').flatMap((b) => (b as any).elements);
}

describe('status card', () => {
  test('awaiting approval: who, why, mode, preflight per component, approvals and Approve/Reject bound to the plan', () => {
    const card = renderCard(view(), targets);
    const text = allText(card);
    expect(text).toContain('Failover DR-20261125-093015 · prod');
    expect(text).toContain('<@U0ALICE>');
    // User text cannot ping the channel.
    expect(text).toContain('eu-west-1 down &lt;!channel&gt; &amp; friends');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('unplanned (chosen by preflight)');
    expect(text).toContain('*database* (warning) — standby in recovery, primary unreachable');
    expect(text).toContain('expected loss: ≈ 12 kB of WAL');
    expect(text).toContain('lag over the RPO target');
    // A summary that already ends with the loss (the providers' unplanned wording) gets no repeat.
    const v = view();
    const db = v.preflight!.components[0];
    db.summary = `standby in recovery; primary unreachable: unplanned, ${db.expectedLoss!.description}`;
    const once = allText(renderCard(v, targets)).split('≈ 12 kB of WAL').length - 1;
    expect(once).toBe(1);
    expect(text).toContain('*dns* (ready)');
    expect(text).toContain('*Approvals:* 0/1');
    expect(text).toContain('⬜ *Promote secondary database*');

    const [approve, reject, ...rest] = buttons(card);
    expect(rest).toHaveLength(0);
    expect(approve!.action_id).toBe(ACTION_IDS.approve);
    expect(decodeButtonValue(approve!.value)).toEqual({
      opId: 'DR-20261125-093015',
      planHash: 'ph-123',
    });
    expect(approve!.confirm.title.text).toContain('DR-20261125-093015');
    expect(approve!.confirm.confirm.text).toBe('Approve');
    expect(reject!.action_id).toBe(ACTION_IDS.reject);
    expect(decodeButtonValue(reject!.value)).toEqual({ opId: 'DR-20261125-093015' });
  });

  test('paused: the failed step with its error, and Retry / Skip / Abort (Skip and Abort confirmed)', () => {
    const s = steps('succeeded');
    s[2] = {
      ...s[2]!,
      status: 'failed',
      error: { code: 'provider', message: 'route53: throttled, try again', retryable: true },
    };
    s[3] = { ...s[3]!, status: 'pending', startedAt: undefined, finishedAt: undefined };
    s[4] = { ...s[4]!, status: 'pending', startedAt: undefined, finishedAt: undefined };
    const card = renderCard(
      view({
        phase: 'paused',
        currentSteps: ['switch-dns'],
        steps: s,
        approvals: [{ userId: 'U0BOB', at: T0, planHash: 'ph-123' }],
        lastError: s[2]!.error,
      }),
      targets,
    );
    const text = allText(card);
    expect(text).toContain('❌ *Switch DNS to secondary* — 1.5 s — route53: throttled, try again');
    expect(text).toContain('✅ *Promote secondary database* — 1.5 s');
    expect(text).toContain('*Approvals:* 1/1 — <@U0BOB>');
    const [retry, skip, abort] = buttons(card);
    expect([retry!.action_id, skip!.action_id, abort!.action_id]).toEqual([
      ACTION_IDS.retry,
      ACTION_IDS.skip,
      ACTION_IDS.abort,
    ]);
    expect(retry!.confirm).toBeUndefined();
    expect(skip!.confirm.text.text).toContain('Switch DNS to secondary');
    expect(abort!.confirm.text.text).toContain('NOT undone');
  });

  test('paused with a split data tier: each role per region; Undo only for what the bot can put back', () => {
    const regions = { primary: 'eu-west-1', secondary: 'eu-central-1' };
    const s = steps('pending');
    s[0] = {
      ...s[0]!,
      status: 'succeeded',
      roles: { component: 'database', writer: 'secondary', regions, changed: true },
    };
    s[1] = {
      ...s[1]!,
      status: 'failed',
      error: { code: 'timeout', message: 'redis: FAILOVER timed out', retryable: true },
      roles: { component: 'cache', writer: 'primary', regions, changed: false },
    };
    const promoted = view({
      phase: 'paused',
      currentSteps: ['promote-cache'],
      steps: s,
      split: { roles: [s[0].roles!, s[1].roles!], undoable: [] },
      lastError: s[1].error,
    });
    const text = allText(renderCard(promoted, targets));
    expect(text).toContain(
      '*Data tier:* PostgreSQL: primary in eu-central-1 (changed) · Redis: primary in eu-west-1 (unchanged)',
    );
    expect(text).toContain('The bot cannot undo PostgreSQL');
    // Neither Undo (nothing it can put back) nor Skip (it would go on split).
    expect(buttons(renderCard(promoted, targets)).map((b) => b.action_id)).toEqual([
      ACTION_IDS.retry,
      ACTION_IDS.abort,
    ]);
    const status = renderConsoleStatus(promoted);
    expect(status).toContain(
      'data tier: PostgreSQL: primary in eu-central-1 (changed) · Redis: primary in eu-west-1 (unchanged)',
    );
    expect(status).toContain('Retry the failed step, or abort');

    const redis = view({
      phase: 'paused',
      currentSteps: ['promote-database'],
      steps: s,
      split: {
        roles: [
          { component: 'database', writer: 'primary', regions, changed: false },
          { component: 'cache', writer: 'secondary', regions, changed: true, undo: 'switch-back' },
        ],
        undoable: ['cache'],
      },
      undo: { components: ['cache'], requestedBy: 'U0ALICE', requestedAt: T0, approvals: [] },
    });
    const card = renderCard(redis, targets);
    const undo = buttons(card).find((b) => b.action_id === ACTION_IDS.undo)!;
    expect(undo.text.text).toBe('Undo Redis');
    expect(undo.confirm.text.text).toContain('back to a replica of the old primary');
    expect(allText(card)).toContain('Undo Redis asked by U0ALICE: 0/1 approval(s)');
    expect(renderConsoleStatus(redis)).toContain('Undo Redis asked by U0ALICE: 0/1 approval(s)');
  });

  test('paused with a fenced PostgreSQL never promoted: Undo PostgreSQL lifts the fence', () => {
    const regions = { primary: 'eu-west-1', secondary: 'eu-central-1' };
    const fenced = {
      component: 'database' as const,
      writer: null,
      regions,
      changed: true,
      note: 'primary fenced, standby not promoted',
      undo: 'lift-fence' as const,
    };
    const s = steps('pending');
    s[0] = {
      ...s[0]!,
      status: 'failed',
      error: {
        code: 'provider',
        message: 'permission denied for function pg_promote',
        retryable: false,
      },
      roles: fenced,
    };
    const paused = (cache: DataTierRole) =>
      view({
        phase: 'paused',
        currentSteps: ['promote-database'],
        steps: s,
        split: {
          roles: [fenced, cache],
          undoable: cache.undo ? ['database', 'cache'] : ['database'],
        },
        lastError: s[0].error,
      });
    const alone = paused({ component: 'cache', writer: 'primary', regions, changed: false });
    const card = renderCard(alone, targets);
    expect(allText(card)).toContain(
      '*Data tier:* PostgreSQL: no writer — primary fenced, standby not promoted (changed) · Redis: primary in eu-west-1 (unchanged)',
    );
    const undo = buttons(card).find((b) => b.action_id === ACTION_IDS.undo)!;
    expect(undo.text.text).toBe('Undo PostgreSQL');
    expect(undo.confirm.text.text).toContain("the old primary's fence is lifted");
    expect(renderConsoleStatus(alone)).toContain('or Undo PostgreSQL (PostgreSQL: the old primary');

    const both = renderCard(
      paused({
        component: 'cache',
        writer: 'secondary',
        regions,
        changed: true,
        undo: 'switch-back',
      }),
      targets,
    );
    const undoBoth = buttons(both).find((b) => b.action_id === ACTION_IDS.undo)!;
    expect(undoBoth.text.text).toBe('Undo PostgreSQL and Redis');
    // Slack refuses a confirm text over 300 characters.
    expect(undoBoth.confirm.text.text.length).toBeLessThanOrEqual(300);
    expect(undoBoth.confirm.text.text).toContain('Redis: back to a replica of the old primary');
  });

  test('completed: every step ✅ with its duration, RTO against target, no buttons', () => {
    const card = renderCard(
      view({
        phase: 'completed',
        steps: steps('succeeded'),
        approvals: [{ userId: 'U0BOB', at: T0, planHash: 'ph-123' }],
        finishedAt: T0 + 70_000,
        rtoMs: 9000,
      }),
      targets,
    );
    const text = allText(card);
    for (const title of [
      'Promote secondary database',
      'Promote secondary cache',
      'Switch DNS to secondary',
      'Scale secondary to production',
      'Verify secondary',
    ]) {
      expect(text).toContain(`✅ *${title}* — 1.5 s`);
    }
    expect(text).not.toMatch(/⬜|⏳|❌/);
    expect(text).toContain('RTO 9.0 s (target 30 min ✅)');
    expect(buttons(card)).toHaveLength(0);
  });

  test('a skipped step says why', () => {
    const s = steps('succeeded');
    s[1] = { ...s[1]!, status: 'skipped', skipReason: 'not-configured' };
    s[3] = { ...s[3]!, status: 'skipped', skipReason: 'skipped-by-user', skippedBy: 'U0BOB' };
    const text = allText(renderCard(view({ phase: 'running', steps: s }), targets));
    expect(text).toContain('⏭ *Promote secondary cache* — 1.5 s — skipped — not configured');
    expect(text).toContain('skipped by <@U0BOB>');
  });
});

describe('parallel lanes', () => {
  test('the card shows the steps of a stage as lanes side by side, and DNS after them', () => {
    const s = steps('pending');
    const byId = (id: string) => s.find((x) => x.id === id)!;
    Object.assign(byId('promote-database'), { status: 'succeeded', attempts: 1 });
    Object.assign(byId('promote-cache'), { status: 'running', attempts: 1 });
    Object.assign(byId('scale-secondary'), { status: 'running', attempts: 1 });
    const stages = [
      ['promote-database', 'promote-cache', 'scale-secondary'],
      ['switch-dns'],
      ['verify-secondary'],
    ] as OperationView['stages'];
    const card = renderCard(view({ phase: 'running', steps: s, stages }), targets);
    const section = card.blocks
      .map((b) => (b as { text?: { text?: string } }).text?.text ?? '')
      .find((t) => t.startsWith('*Steps*'))!;
    const lines = section.split('\n').slice(1);
    expect(lines.map((l) => l.slice(0, 2))).toEqual(['1┬', '1├', '1└', '2 ', '3 ']);
    expect(lines[0]).toContain('Promote secondary database');
    expect(lines[2]).toContain('Scale secondary to production');
    expect(lines[2]).toContain('running');
    expect(lines[3]).toContain('⬜ *Switch DNS to secondary*');
  });

  test('the timeline says which steps a step runs beside', () => {
    const entry: TimelineEntry = {
      opId: 'DR-20261125-0001',
      at: T0,
      type: 'StepStarted',
      stepId: 'scale-secondary',
      attempt: 1,
      beside: ['promote-database', 'promote-cache'],
    };
    expect(renderConsoleEntry(entry)).toContain(
      'Scale secondary to production: started, in parallel with Promote secondary database, Promote secondary cache',
    );
  });
});

describe('custom steps (config runbook.steps)', () => {
  const custom: StepState = {
    id: 'custom:pause-consumers',
    title: 'Pause the queue consumers',
    status: 'failed',
    attempts: 1,
    startedAt: T0,
    finishedAt: T0 + 1200,
    error: { code: 'unknown', message: 'exit 1', retryable: true },
  };
  const paused = view({
    phase: 'paused',
    currentSteps: ['custom:pause-consumers'],
    steps: [...steps('succeeded').slice(0, 2), custom],
  });
  const failed: TimelineEntry = {
    opId: paused.id,
    at: T0 + 1200,
    type: 'StepFailed',
    stepId: 'custom:pause-consumers',
    durationMs: 1200,
    error: custom.error!,
  };

  test('read by their configured title, marked custom, in Slack, the console and the report', () => {
    const name = 'Pause the queue consumers (custom)';
    expect(renderStepReply(failed, paused, targets)!.text).toBe(`❌ ${name} failed after 1.2 s`);
    expect(
      renderEventReply(
        { ...failed, type: 'OperationPaused', stepIds: ['custom:pause-consumers'] },
        paused.steps,
      )!.text,
    ).toContain(`Paused at ${name}:`);
    expect(allText(renderCard(paused, targets))).toContain('Pause the queue consumers* _(custom)_');
    expect(renderConsoleEntry(failed, { steps: paused.steps })).toContain(`${name}: failed after`);
    expect(renderConsoleStatus(paused)).toContain(name);
    const manual: StepState = {
      id: 'custom:tell-support',
      title: 'Tell support',
      status: 'waiting',
      attempts: 1,
    };
    const waiting = view({
      phase: 'running',
      steps: [manual],
      waiting: [
        { stepId: manual.id, title: manual.title, text: 'Call them', owners: [], since: T0 },
      ],
    });
    expect(renderConsoleStatus(waiting)).toContain('waiting: Tell support (custom) — Call them');
    expect(statusLine(paused, null)).toContain(`steps 2/3, at ${name}`);
    const report = buildDrillReport({
      view: { ...paused, kind: 'drill' },
      timeline: [failed],
      targets,
      previous: null,
      now: T0 + 60_000,
    });
    expect(report.steps.map((st) => st.title)).toContain(name);
    expect(report.deviations).toContain(`${name} failed after 1.2 s: exit 1`);
  });
});

describe('thread replies', () => {
  const base = { opId: 'DR-20261125-093015', at: T0 };

  test('a finished step: summary, evidence as key: value, checks as a pass/fail table, RPO', () => {
    const entry: TimelineEntry = {
      ...base,
      type: 'StepSucceeded',
      stepId: 'verify-secondary',
      durationMs: 2300,
      outcome: {
        result: 'done',
        summary: 'secondary serves traffic',
        evidence: { lsn: '0/3000060', timeline: 2 },
        checks: [
          { name: 'api health', kind: 'http', ok: true, detail: '200 in 35 ms' },
          { name: 'writes', kind: 'database', ok: false, detail: 'read-only' },
        ],
        rpo: [
          { component: 'database', bytes: 0, seconds: 0, description: 'planned: nothing lost' },
        ],
      },
    };
    const msg = renderStepReply(entry, view({ phase: 'running' }), targets)!;
    expect(msg.text).toBe('✅ Verify secondary succeeded in 2.3 s');
    const text = allText(msg);
    expect(text).toContain('• lsn: 0/3000060');
    expect(text).toContain('• timeline: 2');
    expect(text).toContain('*Checks* 1/2 passed');
    expect(text).toMatch(/pass\s+api health\s+http\s+200 in 35 ms/);
    expect(text).toMatch(/FAIL\s+writes\s+database\s+read-only/);
    expect(text).toContain('RPO database: 0 B / 0 ms — planned: nothing lost');
  });

  test('a failed step: the error and what to do', () => {
    const msg = renderStepReply(
      {
        ...base,
        type: 'StepFailed',
        stepId: 'switch-dns',
        durationMs: 800,
        error: {
          code: 'provider',
          message: 'route53: Throttling',
          retryable: true,
          provider: 'route53',
        },
      },
      view({ phase: 'paused' }),
      targets,
    )!;
    expect(msg.text).toBe('❌ Switch DNS to secondary failed after 800 ms');
    expect(allText(msg)).toContain('route53: Throttling');
    expect(allText(msg)).toContain('Retry, Skip or Abort');
  });

  test('approvals and refusals are told in the thread; progress is not', () => {
    expect(
      renderEventReply({
        ...base,
        type: 'ApprovalRecorded',
        userId: 'U0BOB',
        count: 1,
        required: 1,
      })!.text,
    ).toBe('👍 <@U0BOB> approved (1/1)');
    expect(
      renderEventReply({
        ...base,
        type: 'ApprovalRefused',
        userId: 'U0ALICE',
        reason: 'self-approval',
      })!.text,
    ).toContain('the requester cannot approve their own request');
    expect(
      renderEventReply({ ...base, type: 'StepProgress', stepId: 'switch-dns', message: 'waiting' }),
    ).toBeNull();
    expect(
      renderEventReply({
        ...base,
        type: 'AbortedStepSettled',
        stepId: 'switch-dns',
        outcome: 'succeeded',
        detail: 'record now points at secondary',
        durationMs: 4200,
      })!.text,
    ).toBe(
      '⚠️ Switch DNS to secondary was still running at the abort and has now succeeded after 4.2 s: record now points at secondary. Check the component before the next operation.',
    );
  });

  test('the summary: outcome, duration, RTO vs target, RPO per component', () => {
    const msg = renderSummary(
      view({
        phase: 'completed',
        steps: steps('succeeded'),
        approvals: [{ userId: 'U0BOB', at: T0, planHash: 'ph-123' }],
        finishedAt: T0 + 125_000,
        rtoMs: 45 * 60_000,
        rpo: [
          {
            component: 'database',
            bytes: 12288,
            seconds: 4.2,
            description: 'unplanned: lag at promotion',
          },
        ],
      }),
      targets,
    );
    expect(msg.text).toBe('🏁 Failover DR-20261125-093015 completed after 2 min 5 s');
    const text = allText(msg);
    expect(text).toContain('Steps: 5 succeeded, 0 skipped, 0 failed of 5');
    expect(text).toContain('RTO 45 min 0 s (target 30 min ❌ missed)');
    expect(text).toContain('RPO database: 12.0 kB / 4.2 s — unplanned: lag at promotion');
  });
});

describe('refusal answers', () => {
  const policy = { approvers: ['U0BOB', 'U0CAROL'], userGroup: 'S0ONCALL' };
  const opId = 'DR-20261125-093015';

  test('each refusal says what happened and what to do', () => {
    const msg = (
      reason: Parameters<typeof refusalMessage>[0]['reason'],
      extra: Partial<Parameters<typeof refusalMessage>[0]> = {},
    ) => refusalMessage({ reason, opId, userId: 'U0ALICE', action: 'approve', policy, ...extra });
    expect(msg('self-approval')).toBe(
      'You requested DR-20261125-093015; another approver must approve it.',
    );
    expect(msg('unauthorized')).toBe(
      'You are not allowed to approve DR-20261125-093015. Only <@U0BOB>, <@U0CAROL> or members of <!subteam^S0ONCALL> may approve.',
    );
    expect(msg('duplicate')).toBe('Your approval is already counted.');
    expect(msg('stale-plan')).toBe(
      'The plan changed since this button was drawn; review the updated card.',
    );
    expect(msg('finished', { op: view({ phase: 'completed' }) })).toBe(
      'DR-20261125-093015 has already finished (completed).',
    );
    // The second click of a double click arrives after the first one started the operation.
    expect(
      msg('not-awaiting-approval', {
        op: view({ phase: 'running', approvals: [{ userId: 'U0ALICE', at: T0, planHash: 'x' }] }),
      }),
    ).toBe('Your approval is already counted.');
    // A click while preflight still runs: not yet, rather than "any more".
    expect(msg('not-awaiting-approval', { op: view({ phase: 'preflight' }) })).toBe(
      'DR-20261125-093015 is not ready for approval yet: its checks are still running. Approve once the card shows the Approve button.',
    );
    expect(msg('not-awaiting-approval', { op: view({ phase: 'running' }) })).toBe(
      'DR-20261125-093015 is not waiting for approval any more (it is running).',
    );
    expect(msg('expired', { op: view({ phase: 'expired', expiresAt: T0 }) })).toBe(
      `Too late: the approval window of DR-20261125-093015 had closed (${new Date(T0).toISOString()}), so your approval did not count and nothing was changed. Request it again if it is still needed.`,
    );
  });
});

describe('long evidence', () => {
  test('a long list of checks keeps failures visible and the table closed', () => {
    const checks = Array.from({ length: 60 }, (_, i) => ({
      name: `check ${i}`,
      kind: 'http' as const,
      ok: i !== 57,
      detail: '200 in 3 ms',
    }));
    const msg = renderStepReply(
      {
        opId: 'DR-1',
        at: 0,
        type: 'StepSucceeded',
        stepId: 'verify-secondary',
        durationMs: 10,
        outcome: { result: 'done', summary: 'ran', evidence: {}, checks },
      },
      view({ phase: 'running' }),
      targets,
    )!;
    const table = JSON.stringify(msg.blocks);
    expect(table).toContain('*Checks* 59/60 passed');
    expect(table).toMatch(/FAIL\s+check 57/);
    expect(table).toContain('… and 35 more (all passed)');
    const checksText = (
      msg.blocks.find((b) => JSON.stringify(b).includes('*Checks*')) as { text: { text: string } }
    ).text.text;
    expect(checksText.endsWith('\n```')).toBe(true);
    expect(checksText.length).toBeLessThanOrEqual(3000);
  });
});

test("a card link built by hand when chat.getPermalink is unavailable has Slack's archive form", () => {
  expect(cardPermalinkFallback('C0INCIDENT', '1764000000.000123')).toBe(
    'https://slack.com/archives/C0INCIDENT/p1764000000000123',
  );
});
