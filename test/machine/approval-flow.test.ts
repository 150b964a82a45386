import { toView } from '../../src/machine/index.js';
import { ProviderError } from '../../src/errors.js';
import {
  ALICE,
  approve,
  BOB,
  component,
  Harness,
  MALLORY,
  phase,
  report,
  REQUESTER,
  settle,
  T0,
  TIMEOUT_MS,
  until,
} from './harness.js';

async function awaiting(h: Harness, overrides = {}) {
  const actor = h.start(overrides);
  await until(actor, 'awaitingApproval');
  return { actor, hash: actor.getSnapshot().context.planHash! };
}

describe('preflight', () => {
  it('asks for approval with the readiness report, the plan hash and the deadline', async () => {
    const h = new Harness();
    const { actor, hash } = await awaiting(h);
    expect(h.preflightCalls).toEqual([
      { opId: 'DR-20261125-093015', kind: 'failover', requestedMode: 'auto', purpose: 'initial' },
    ]);
    expect(h.types()).toEqual(['OperationRequested', 'PreflightCompleted', 'ApprovalRequested']);
    expect(h.ofType('ApprovalRequested')[0]).toEqual({
      type: 'ApprovalRequested',
      planHash: hash,
      expiresAt: T0 + TIMEOUT_MS,
      required: 1,
    });
    const view = toView(actor.getSnapshot());
    expect(view).toMatchObject({
      phase: 'awaitingApproval',
      mode: 'planned',
      expiresAt: T0 + TIMEOUT_MS,
      planHash: hash,
      approvals: [],
    });
    expect(view.preflight?.components.map((c) => c.component)).toEqual([
      'database',
      'cache',
      'dns',
    ]);
  });

  it('refuses a wrong target before any change', async () => {
    const blocked = report({
      components: [
        component('database', {
          status: 'blocked',
          summary: 'standby has a different system identifier',
        }),
        component('dns'),
      ],
    });
    const h = new Harness({ preflight: [blocked] });
    const actor = h.start();
    await until(actor, 'refused');
    const [refusal] = h.ofType('OperationRefused');
    expect(refusal.error.code).toBe('precondition-failed');
    expect(refusal.error.message).toContain('database: standby has a different system identifier');
    expect(h.types()).not.toContain('ApprovalRequested');
    expect(h.stepCalls).toEqual([]);
    expect(toView(actor.getSnapshot())).toMatchObject({
      phase: 'refused',
      finishedAt: T0,
      lastError: refusal.error,
    });
  });

  it('a block that says there is nothing to do is not presented as something to fix', async () => {
    const done = report({
      components: [
        component('database'),
        component('dns', {
          status: 'blocked',
          summary: 'already failed over: the secondary region is serving (…)',
          planFacts: { alreadyFailedOver: true },
        }),
      ],
    });
    const h = new Harness({ preflight: [done] });
    const actor = h.start();
    await until(actor, 'refused');
    const [refusal] = h.ofType('OperationRefused');
    expect(refusal.error.message).toBe(
      'Preflight blocked the operation before any change (dns: already failed over: the secondary region is serving (…)).',
    );
  });

  it('refuses the operation when preflight itself fails', async () => {
    const h = new Harness({
      preflight: [
        new ProviderError('postgres', 'connection refused to standby 10.0.2.5:5432', {
          retryable: true,
        }),
      ],
    });
    const actor = h.start();
    await until(actor, 'refused');
    const [refusal] = h.ofType('OperationRefused');
    expect(refusal.error).toMatchObject({ code: 'provider', provider: 'postgres' });
    expect(refusal.error.message).toContain('connection refused to standby 10.0.2.5:5432');
    expect(h.stepCalls).toEqual([]);
  });
});

describe('approval', () => {
  it('never counts the requester, and says so in the timeline', async () => {
    const h = new Harness();
    const { actor, hash } = await awaiting(h);
    actor.send(approve(REQUESTER, hash));
    await settle();
    expect(phase(actor)).toBe('awaitingApproval');
    expect(actor.getSnapshot().context.approvals).toEqual([]);
    expect(h.ofType('ApprovalRefused')).toEqual([
      { type: 'ApprovalRefused', userId: REQUESTER, reason: 'self-approval' },
    ]);
  });

  it('does not count an unauthorized person', async () => {
    const h = new Harness();
    const { actor, hash } = await awaiting(h);
    actor.send(approve(MALLORY, hash, T0 + 1000, false));
    await settle();
    expect(phase(actor)).toBe('awaitingApproval');
    expect(h.ofType('ApprovalRefused')).toEqual([
      { type: 'ApprovalRefused', userId: MALLORY, reason: 'unauthorized' },
    ]);
    expect(h.preflightCalls).toHaveLength(1);
  });

  it('needs two distinct approvers when two are required, and counts a double click once', async () => {
    const h = new Harness();
    const { actor, hash } = await awaiting(h, { requiredApprovals: 2 });
    actor.send(approve(ALICE, hash));
    actor.send(approve(ALICE, hash, T0 + 1500));
    await settle();
    expect(phase(actor)).toBe('awaitingApproval');
    expect(actor.getSnapshot().context.approvals.map((a) => a.userId)).toEqual([ALICE]);
    expect(h.ofType('ApprovalRecorded')).toEqual([
      { type: 'ApprovalRecorded', userId: ALICE, count: 1, required: 2 },
    ]);
    expect(h.ofType('ApprovalRefused')).toEqual([
      { type: 'ApprovalRefused', userId: ALICE, reason: 'duplicate' },
    ]);

    actor.send(approve(BOB, hash, T0 + 2000));
    await until(actor, 'completed');
    expect(h.ofType('OperationApproved')).toEqual([
      { type: 'OperationApproved', approvers: [ALICE, BOB] },
    ]);
    expect(h.preflightCalls.map((c) => c.purpose)).toEqual(['initial', 'recheck']);
  });

  it('clears approvals when the re-check finds another plan, and refuses clicks on the old one', async () => {
    const moved = report({
      components: [
        component('database', { planFacts: { target: 'db-standby-2' } }),
        component('cache'),
        component('dns'),
      ],
    });
    const h = new Harness({ preflight: [report(), moved, moved] });
    const { actor, hash } = await awaiting(h);
    actor.send(approve(ALICE, hash));
    await settle();

    expect(phase(actor)).toBe('awaitingApproval');
    const newHash = actor.getSnapshot().context.planHash!;
    expect(newHash).not.toBe(hash);
    expect(actor.getSnapshot().context.approvals).toEqual([]);
    expect(h.ofType('ApprovalsInvalidated')).toEqual([
      { type: 'ApprovalsInvalidated', previousPlanHash: hash, planHash: newHash },
    ]);
    expect(h.ofType('ApprovalRequested').map((e) => e.planHash)).toEqual([hash, newHash]);
    expect(h.stepCalls).toEqual([]);

    actor.send(approve(ALICE, hash, T0 + 5000));
    await settle();
    expect(h.ofType('ApprovalRefused')).toEqual([
      { type: 'ApprovalRefused', userId: ALICE, reason: 'stale-plan' },
    ]);
    expect(phase(actor)).toBe('awaitingApproval');

    actor.send(approve(ALICE, newHash, T0 + 6000));
    await until(actor, 'completed');
    expect(h.preflightCalls.map((c) => c.purpose)).toEqual(['initial', 'recheck', 'recheck']);
  });

  it('refuses the operation when the re-check finds a blocker', async () => {
    const h = new Harness({
      preflight: [
        report(),
        report({
          components: [
            component('dns', { status: 'blocked', summary: 'record api.example.com not found' }),
          ],
        }),
      ],
    });
    const { actor, hash } = await awaiting(h);
    actor.send(approve(ALICE, hash));
    await until(actor, 'refused');
    expect(h.ofType('OperationRefused')[0].error.message).toContain(
      'dns: record api.example.com not found',
    );
    expect(h.stepCalls).toEqual([]);
  });
});

describe('reject and abort before approval', () => {
  it('stops the operation on one authorized reject', async () => {
    const h = new Harness();
    const { actor } = await awaiting(h, { requiredApprovals: 2 });
    actor.send({
      type: 'REJECT',
      userId: BOB,
      authorized: true,
      reason: 'primary is recovering',
      at: T0 + 3000,
    });
    await until(actor, 'rejected');
    expect(h.ofType('OperationRejected')).toEqual([
      { type: 'OperationRejected', userId: BOB, reason: 'primary is recovering' },
    ]);
    expect(toView(actor.getSnapshot())).toMatchObject({
      phase: 'rejected',
      rejectedBy: BOB,
      finishedAt: T0 + 3000,
    });
    expect(h.stepCalls).toEqual([]);
  });

  it('lets the requester cancel their own request', async () => {
    const h = new Harness();
    const { actor } = await awaiting(h);
    actor.send({ type: 'REJECT', userId: REQUESTER, authorized: false, at: T0 + 10 });
    await until(actor, 'rejected');
    expect(actor.getSnapshot().context.rejectedBy).toBe(REQUESTER);
  });

  it('records an unauthorized reject and keeps waiting', async () => {
    const h = new Harness();
    const { actor } = await awaiting(h);
    actor.send({ type: 'REJECT', userId: MALLORY, authorized: false, at: T0 + 10 });
    await settle();
    expect(phase(actor)).toBe('awaitingApproval');
    expect(h.ofType('ActionRefused')).toEqual([
      { type: 'ActionRefused', userId: MALLORY, action: 'reject', reason: 'unauthorized' },
    ]);
  });

  it('aborts on the requester’s ABORT while awaiting approval', async () => {
    const h = new Harness();
    const { actor } = await awaiting(h);
    actor.send({
      type: 'ABORT',
      userId: REQUESTER,
      authorized: false,
      reason: 'false alarm',
      at: T0 + 10,
    });
    await until(actor, 'aborted');
    expect(h.ofType('OperationAborted')).toEqual([
      { type: 'OperationAborted', userId: REQUESTER, reason: 'false alarm' },
    ]);
    expect(actor.getSnapshot().context.abortedBy).toBe(REQUESTER);
  });
});

describe('expiry', () => {
  it('expires when nobody approves in time (simulated clock)', async () => {
    const h = new Harness();
    const { actor } = await awaiting(h);
    h.clock.increment(TIMEOUT_MS - 1);
    await settle();
    expect(phase(actor)).toBe('awaitingApproval');
    h.clock.increment(1);
    await settle();
    expect(phase(actor)).toBe('expired');
    expect(h.types().at(-1)).toBe('OperationExpired');
    expect(actor.getSnapshot().context.finishedAt).toBe(T0 + TIMEOUT_MS);
  });

  it('keeps the deadline when a partial approval arrives', async () => {
    const h = new Harness();
    const { actor, hash } = await awaiting(h, { requiredApprovals: 2 });
    h.clock.increment(TIMEOUT_MS / 2);
    actor.send(approve(ALICE, hash, T0 + TIMEOUT_MS / 2));
    h.clock.increment(TIMEOUT_MS / 2);
    await settle();
    expect(phase(actor)).toBe('expired');
  });

  it('expires on a TICK past the deadline, and does not count an approval that comes too late', async () => {
    const h = new Harness();
    const { actor } = await awaiting(h);
    actor.send({ type: 'TICK', at: T0 + TIMEOUT_MS - 1 });
    expect(phase(actor)).toBe('awaitingApproval');
    actor.send({ type: 'TICK', at: T0 + TIMEOUT_MS });
    expect(phase(actor)).toBe('expired');

    const late = new Harness();
    const second = await awaiting(late);
    second.actor.send(approve(ALICE, second.hash, T0 + TIMEOUT_MS + 1));
    await settle();
    expect(phase(second.actor)).toBe('expired');
    expect(late.preflightCalls).toHaveLength(1);
    // The click is on the timeline as refused for being late, then the request expires.
    expect(late.types().slice(-2)).toEqual(['ApprovalRefused', 'OperationExpired']);
    expect(late.ofType('ApprovalRefused')).toEqual([
      { type: 'ApprovalRefused', userId: ALICE, reason: 'expired' },
    ]);
    expect(late.ofType('ApprovalRecorded')).toEqual([]);
  });
});
