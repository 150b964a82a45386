import type { OperationView, Phase } from '../../src/domain/types.js';
import {
  computePlanHash,
  evaluateAction,
  runbookSteps,
  FAILOVER_RUNBOOK,
} from '../../src/machine/index.js';
import { ALICE, BOB, component, MALLORY, report, REQUESTER } from './harness.js';

const HASH = 'aaaaaaaaaaaaaaaa';

function view(
  phase: Phase,
  overrides: Partial<OperationView> = {},
): Pick<OperationView, 'phase' | 'requester' | 'approvals' | 'planHash'> {
  return { phase, requester: REQUESTER, approvals: [], planHash: HASH, ...overrides };
}

describe('evaluateAction: approve', () => {
  it('counts an authorized approver who is not the requester, on the current plan', () => {
    expect(evaluateAction(view('awaitingApproval'), 'approve', ALICE, true, HASH)).toBeNull();
  });

  it('never counts the requester, even an authorized one', () => {
    expect(evaluateAction(view('awaitingApproval'), 'approve', REQUESTER, true, HASH)).toBe(
      'self-approval',
    );
  });

  it('refuses a person who is not an approver', () => {
    expect(evaluateAction(view('awaitingApproval'), 'approve', MALLORY, false, HASH)).toBe(
      'unauthorized',
    );
  });

  it('counts a second click by the same person once', () => {
    const approvals = [{ userId: ALICE, at: 1, planHash: HASH }];
    expect(
      evaluateAction(view('awaitingApproval', { approvals }), 'approve', ALICE, true, HASH),
    ).toBe('duplicate');
    expect(
      evaluateAction(view('awaitingApproval', { approvals }), 'approve', BOB, true, HASH),
    ).toBeNull();
  });

  it('refuses an approval that comes at or after the deadline, whoever gives it', () => {
    const deadline = 1_000_000;
    const open = { ...view('awaitingApproval'), expiresAt: deadline };
    expect(evaluateAction(open, 'approve', ALICE, true, HASH, deadline - 1)).toBeNull();
    expect(evaluateAction(open, 'approve', ALICE, true, HASH, deadline)).toBe('expired');
    expect(evaluateAction(open, 'approve', MALLORY, false, 'bbbbbbbbbbbbbbbb', deadline + 1)).toBe(
      'expired',
    );
    // Without the click's time the deadline cannot be judged here; the machine's timer decides.
    expect(evaluateAction(open, 'approve', ALICE, true, HASH)).toBeNull();
  });

  it('refuses an approval bound to another plan, or to none', () => {
    expect(
      evaluateAction(view('awaitingApproval'), 'approve', ALICE, true, 'bbbbbbbbbbbbbbbb'),
    ).toBe('stale-plan');
    expect(evaluateAction(view('awaitingApproval'), 'approve', ALICE, true)).toBe('stale-plan');
  });

  it('answers a late click: duplicate for someone who approved, not-awaiting for others, finished at the end', () => {
    const approvals = [{ userId: ALICE, at: 1, planHash: HASH }];
    expect(evaluateAction(view('running', { approvals }), 'approve', ALICE, true, HASH)).toBe(
      'duplicate',
    );
    expect(evaluateAction(view('running', { approvals }), 'approve', BOB, true, HASH)).toBe(
      'not-awaiting-approval',
    );
    for (const phase of ['completed', 'rejected', 'aborted', 'expired', 'refused'] as Phase[]) {
      expect(evaluateAction(view(phase), 'approve', BOB, true, HASH)).toBe('finished');
    }
  });
});

describe('evaluateAction: reject, retry, skip, abort', () => {
  it('lets an approver or the requester reject before approval, nobody else', () => {
    expect(evaluateAction(view('awaitingApproval'), 'reject', ALICE, true)).toBeNull();
    expect(evaluateAction(view('awaitingApproval'), 'reject', REQUESTER, false)).toBeNull();
    expect(evaluateAction(view('preflight'), 'reject', REQUESTER, false)).toBeNull();
    expect(evaluateAction(view('awaitingApproval'), 'reject', MALLORY, false)).toBe('unauthorized');
    expect(evaluateAction(view('running'), 'reject', ALICE, true)).toBe('not-awaiting-approval');
  });

  it('allows retry and skip only while paused; skip needs an approver, retry also the requester', () => {
    expect(evaluateAction(view('paused'), 'retry', ALICE, true)).toBeNull();
    expect(evaluateAction(view('paused'), 'retry', REQUESTER, false)).toBeNull();
    expect(evaluateAction(view('paused'), 'retry', MALLORY, false)).toBe('unauthorized');
    expect(evaluateAction(view('paused'), 'skip', ALICE, true)).toBeNull();
    expect(evaluateAction(view('paused'), 'skip', REQUESTER, false)).toBe('unauthorized');
    expect(evaluateAction(view('running'), 'retry', ALICE, true)).toBe('not-paused');
    expect(evaluateAction(view('awaitingApproval'), 'skip', ALICE, true)).toBe('not-paused');
  });

  it('lets the requester abort only before approval; approvers always, until the end', () => {
    expect(evaluateAction(view('awaitingApproval'), 'abort', REQUESTER, false)).toBeNull();
    expect(evaluateAction(view('running'), 'abort', REQUESTER, false)).toBe('unauthorized');
    expect(evaluateAction(view('running'), 'abort', ALICE, true)).toBeNull();
    expect(evaluateAction(view('paused'), 'abort', ALICE, true)).toBeNull();
    expect(evaluateAction(view('completed'), 'abort', ALICE, true)).toBe('finished');
  });
});

describe('computePlanHash', () => {
  const steps = runbookSteps(FAILOVER_RUNBOOK);

  it('is stable when only lag numbers, readiness wording or component order change', () => {
    const base = computePlanHash('DR-1', 'failover', report(), steps);
    const later = report({
      checkedAt: 99,
      components: [
        component('dns'),
        component('cache', { summary: 'lag 3 kB', details: { lagBytes: 3000 }, status: 'warning' }),
        component('database', { details: { lagBytes: 120_000, lagSeconds: 2.5 } }),
      ],
    });
    expect(computePlanHash('DR-1', 'failover', later, steps)).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with the plan facts, the mode, the steps, the kind and the operation', () => {
    const base = computePlanHash('DR-1', 'failover', report(), steps);
    const otherTarget = report({
      components: [
        component('database', { planFacts: { target: 'db-other' } }),
        component('cache'),
        component('dns'),
      ],
    });
    const variants = [
      computePlanHash('DR-1', 'failover', otherTarget, steps),
      computePlanHash('DR-1', 'failover', report({ mode: 'unplanned' }), steps),
      computePlanHash('DR-1', 'failover', report(), steps.slice(1)),
      computePlanHash('DR-1', 'failback', report(), steps),
      computePlanHash('DR-2', 'failover', report(), steps),
    ];
    for (const v of variants) expect(v).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });
});
