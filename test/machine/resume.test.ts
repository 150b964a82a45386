import { waitFor } from 'xstate';
import { toView } from '../../src/machine/index.js';
import {
  ALICE,
  approve,
  done,
  Harness,
  phase,
  report,
  settle,
  T0,
  TIMEOUT_MS,
  until,
} from './harness.js';

/** What the store keeps: the persisted snapshot as JSON text. */
function persist(actor: ReturnType<Harness['start']>): unknown {
  return JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
}

describe('resume from a persisted snapshot', () => {
  it('re-invokes runStep for the steps that were running side by side, and only those', async () => {
    const before = new Harness({
      steps: { 'promote-cache': ['hold'], 'scale-secondary': ['hold'] },
    });
    const crashed = before.start();
    await until(crashed, 'awaitingApproval');
    crashed.send(approve(ALICE, crashed.getSnapshot().context.planHash!));
    await waitFor(crashed, (s) => s.context.steps[0].status === 'succeeded');
    const snapshot = persist(crashed);
    crashed.stop(); // the bot process dies; the held promise never answers

    const after = new Harness();
    const resumed = after.restore(snapshot);
    await until(resumed, 'completed');
    expect(after.stepCalls[0]).toEqual({
      opId: 'DR-20261125-093015',
      kind: 'failover',
      stepId: 'promote-cache',
      mode: 'planned',
      attempt: 1,
      // The approval's click (approve()'s default time), not when the re-check ended.
      approvedAt: T0 + 1000,
    });
    expect(after.stepCalls.map((c) => c.stepId)).toEqual([
      'promote-cache',
      'scale-secondary',
      'switch-dns',
      'verify-secondary',
    ]);
    expect(after.preflightCalls).toEqual([]);
    // Resuming is not a new start: the engine adds StepResumed, the machine does not repeat StepStarted.
    expect(after.ofType('StepStarted').map((e) => e.stepId)).toEqual([
      'switch-dns',
      'verify-secondary',
    ]);
    const view = toView(resumed.getSnapshot());
    expect(view.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['promote-database', 'succeeded', 1],
      ['promote-cache', 'succeeded', 1],
      ['scale-secondary', 'succeeded', 1],
      ['switch-dns', 'succeeded', 1],
      ['verify-secondary', 'succeeded', 1],
    ]);
  });

  it('still expires a restored approval request, on TICK', async () => {
    const before = new Harness();
    const waiting = before.start();
    await until(waiting, 'awaitingApproval');
    const snapshot = persist(waiting);
    waiting.stop();

    const after = new Harness();
    const resumed = after.restore(snapshot);
    resumed.send({ type: 'TICK', at: T0 + TIMEOUT_MS - 1 });
    await settle();
    expect(phase(resumed)).toBe('awaitingApproval');
    resumed.send({ type: 'TICK', at: T0 + TIMEOUT_MS + 3 * 3600_000 });
    expect(phase(resumed)).toBe('expired');
    expect(after.types()).toEqual(['OperationExpired']);
    expect(toView(resumed.getSnapshot()).finishedAt).toBe(T0 + TIMEOUT_MS);
  });

  it('keeps counting approvals after a restore', async () => {
    const before = new Harness();
    const waiting = before.start({ requiredApprovals: 2 });
    await until(waiting, 'awaitingApproval');
    const hash = waiting.getSnapshot().context.planHash!;
    waiting.send(approve(ALICE, hash));
    const snapshot = persist(waiting);
    waiting.stop();

    const after = new Harness();
    const resumed = after.restore(snapshot, { requiredApprovals: 2 });
    resumed.send(approve(ALICE, hash, T0 + 2000));
    expect(after.ofType('ApprovalRefused')).toEqual([
      { type: 'ApprovalRefused', userId: ALICE, reason: 'duplicate' },
    ]);
    resumed.send(approve('U-BOB', hash, T0 + 3000));
    await until(resumed, 'completed');
    expect(after.ofType('OperationApproved')).toEqual([
      { type: 'OperationApproved', approvers: [ALICE, 'U-BOB'] },
    ]);
  });

  it('re-runs the re-check that was in flight, without announcing the approval again; RTO runs from the approval', async () => {
    const before = new Harness({ preflight: [report(), 'hold'] });
    const crashed = before.start();
    await until(crashed, 'awaitingApproval');
    const approvedAt = T0 + 1000;
    crashed.send(approve(ALICE, crashed.getSnapshot().context.planHash!, approvedAt));
    await until(crashed, 'recheck');
    expect(before.ofType('OperationApproved')).toEqual([
      { type: 'OperationApproved', approvers: [ALICE] },
    ]);
    const snapshot = persist(crashed);
    crashed.stop();

    // The bot comes back 8 s later; the steps then take 2 s more.
    const after = new Harness({ steps: { 'verify-secondary': ['hold'] } });
    after.clock.set(T0 + 9000);
    const resumed = after.restore(snapshot);
    await waitFor(
      resumed,
      (s) => s.context.steps.find((x) => x.id === 'verify-secondary')?.status === 'running',
    );
    expect(after.preflightCalls.map((c) => c.purpose)).toEqual(['recheck']);
    after.clock.set(T0 + 11_000);
    after.release('verify-secondary', done('green', { verified: true }));
    await until(resumed, 'completed');
    expect(after.types()).not.toContain('OperationApproved');
    expect(after.types()).not.toContain('ApprovalRecorded');
    const view = toView(resumed.getSnapshot());
    expect(view.approvedAt).toBe(approvedAt);
    expect(view.rtoMs).toBe(10_000);
  });

  it('a snapshot saved in the re-check by a version that announced the approval only afterwards still announces it once', async () => {
    const before = new Harness({ preflight: [report(), 'hold'] });
    const crashed = before.start();
    await until(crashed, 'awaitingApproval');
    crashed.send(approve(ALICE, crashed.getSnapshot().context.planHash!, T0 + 1000));
    await until(crashed, 'recheck');
    const snapshot = persist(crashed) as { context: Record<string, unknown> };
    delete snapshot.context.approvalCompletedAt;
    crashed.stop();

    const after = new Harness();
    const resumed = after.restore(snapshot);
    await until(resumed, 'completed');
    expect(after.ofType('OperationApproved')).toEqual([
      { type: 'OperationApproved', approvers: [ALICE] },
    ]);
    expect(toView(resumed.getSnapshot()).approvedAt).toBe(T0 + 1000);
  });

  it('resumes a paused operation that can then be retried', async () => {
    const before = new Harness({ steps: { 'switch-dns': [new Error('Route 53 answered 503')] } });
    const failing = before.start();
    await until(failing, 'awaitingApproval');
    failing.send(approve(ALICE, failing.getSnapshot().context.planHash!));
    await until(failing, 'paused');
    const snapshot = persist(failing);
    failing.stop();

    const after = new Harness();
    const resumed = after.restore(snapshot);
    await settle();
    expect(after.stepCalls).toEqual([]);
    expect(resumed.getSnapshot().value).toEqual({ paused: { failover: 'stage-2' } });
    resumed.send({ type: 'RETRY', userId: ALICE, authorized: true, at: T0 + 60_000 });
    await until(resumed, 'completed');
    expect(after.stepCalls.map((c) => [c.stepId, c.attempt])).toEqual([
      ['switch-dns', 2],
      ['verify-secondary', 1],
    ]);
  });
});
