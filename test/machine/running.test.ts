import { waitFor } from 'xstate';
import { ProviderError } from '../../src/errors.js';
import { toView } from '../../src/machine/index.js';
import {
  ALICE,
  approve,
  done,
  Harness,
  MALLORY,
  phase,
  REQUESTER,
  settle,
  T0,
  until,
} from './harness.js';

/** Start, approve, and wait until the runbook is under way. */
async function approved(h: Harness, overrides = {}) {
  const actor = h.start(overrides);
  await until(actor, 'awaitingApproval');
  actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
  await waitFor(actor, (s) => s.matches('running') || s.status === 'done' || s.matches('paused'));
  return actor;
}

const dbDown = () =>
  new ProviderError('postgres', 'pg_promote() timed out after 60 s on 10.1.0.7', {
    retryable: true,
    code: 'timeout',
  });

describe('running the failover runbook', () => {
  it('runs every step in stage order and measures RTO and RPO', async () => {
    const h = new Harness({
      steps: {
        'promote-database': ['hold'],
        'promote-cache': ['hold'],
        'switch-dns': ['hold'],
        'scale-secondary': ['hold'],
        'verify-secondary': ['hold'],
      },
    });
    const actor = await approved(h);
    const approvedAt = actor.getSnapshot().context.approvedAt!;
    // Scaling starts at approval beside the data tier: it needs no data.
    expect(actor.getSnapshot().value).toEqual({
      running: {
        failover: {
          'stage-1': {
            'promote-database': 'running',
            'promote-cache': 'running',
            'scale-secondary': 'running',
          },
        },
      },
    });
    expect(h.heldIds()).toEqual(['promote-cache', 'promote-database', 'scale-secondary']);
    expect(h.ofType('StepStarted').find((e) => e.stepId === 'scale-secondary')).toEqual({
      type: 'StepStarted',
      stepId: 'scale-secondary',
      attempt: 1,
      beside: ['promote-database', 'promote-cache'],
    });

    h.clock.increment(4000);
    const dbRpo = {
      component: 'database' as const,
      bytes: 0,
      seconds: 0,
      description: 'planned: standby replayed up to the final LSN',
    };
    h.release('promote-database', done('promoted', { rpo: [dbRpo] }));
    await settle();
    h.release('promote-cache', {
      result: 'already-done',
      summary: 'replica is already master',
      evidence: { role: 'master' },
    });
    await settle();
    // The data tier is promoted but the capacity is not ready: DNS waits for it.
    expect(actor.getSnapshot().value).toEqual({
      running: {
        failover: {
          'stage-1': {
            'promote-database': 'succeeded',
            'promote-cache': 'succeeded',
            'scale-secondary': 'running',
          },
        },
      },
    });
    expect(h.heldIds()).toEqual(['scale-secondary']);
    h.release('scale-secondary', done());
    await settle();
    expect(actor.getSnapshot().value).toEqual({
      running: { failover: { 'stage-2': { 'switch-dns': 'running' } } },
    });
    h.clock.increment(60_000);
    h.release('switch-dns', done());
    await settle();
    h.clock.increment(30_000);
    h.release(
      'verify-secondary',
      done('all checks green', {
        verified: true,
        checks: [{ name: 'healthz', kind: 'http', ok: true, detail: '200 in 35 ms' }],
      }),
    );
    await until(actor, 'completed');

    expect(h.stepCalls.map((c) => c.stepId)).toEqual([
      'promote-database',
      'promote-cache',
      'scale-secondary',
      'switch-dns',
      'verify-secondary',
    ]);
    expect(
      h.stepCalls.every(
        (c) => c.attempt === 1 && c.mode === 'planned' && c.approvedAt === approvedAt,
      ),
    ).toBe(true);
    const view = toView(actor.getSnapshot());
    expect(view.steps.map((s) => [s.id, s.status])).toEqual([
      ['promote-database', 'succeeded'],
      ['promote-cache', 'succeeded'],
      ['scale-secondary', 'succeeded'],
      ['switch-dns', 'succeeded'],
      ['verify-secondary', 'succeeded'],
    ]);
    expect(view.stages).toEqual([
      ['promote-database', 'promote-cache', 'scale-secondary'],
      ['switch-dns'],
      ['verify-secondary'],
    ]);
    // From the approval (approve()'s default, T0 + 1 s) to the green verification.
    expect(view.rtoMs).toBe(93_000);
    expect(view.rpo).toEqual([dbRpo]);
    expect(view.steps[4].checks).toEqual([
      { name: 'healthz', kind: 'http', ok: true, detail: '200 in 35 ms' },
    ]);
    const completed = h.ofType('OperationCompleted');
    expect(completed).toEqual([
      { type: 'OperationCompleted', durationMs: 94_000, rtoMs: 93_000, rpo: [dbRpo] },
    ]);
    expect(h.ofType('StepSucceeded').find((e) => e.stepId === 'switch-dns')?.durationMs).toBe(
      60_000,
    );
    expect(
      h.ofType('StepSucceeded').find((e) => e.stepId === 'promote-cache')?.outcome.result,
    ).toBe('already-done');
  });

  it('shows a step whose component is not configured as skipped, and goes on', async () => {
    const h = new Harness({
      steps: {
        'promote-cache': [
          { result: 'not-configured', summary: 'no Redis configured', evidence: {} },
        ],
      },
    });
    const actor = await approved(h);
    await until(actor, 'completed');
    expect(h.ofType('StepSkipped')).toEqual([
      { type: 'StepSkipped', stepId: 'promote-cache', reason: 'not-configured' },
    ]);
    expect(toView(actor.getSnapshot()).steps[1]).toMatchObject({
      status: 'skipped',
      skipReason: 'not-configured',
      summary: 'no Redis configured',
    });
  });

  it('runs the failback runbook’s own steps', async () => {
    const h = new Harness();
    const actor = await approved(h, { kind: 'failback' });
    await until(actor, 'completed');
    expect(h.stepCalls.map((c) => c.stepId)).toEqual([
      'verify-primary',
      'resync-database',
      'resync-cache',
      'scale-primary',
      'verify-consistency',
      'promote-primary',
      'switch-dns-back',
      'verify-primary-serving',
      'demote-secondary',
      'scale-secondary-down',
    ]);
    expect(h.stepCalls.every((c) => c.kind === 'failback')).toBe(true);
  });
});

describe('a failing step', () => {
  it('pauses only after the other steps of its stage finish, naming the failed step', async () => {
    const h = new Harness({ steps: { 'promote-database': [dbDown()], 'promote-cache': ['hold'] } });
    const actor = await approved(h);
    await settle();
    expect(actor.getSnapshot().value).toEqual({
      running: {
        failover: {
          'stage-1': {
            'promote-database': 'failed',
            'promote-cache': 'running',
            'scale-secondary': 'succeeded',
          },
        },
      },
    });
    expect(h.ofType('StepFailed').map((e) => e.stepId)).toEqual(['promote-database']);

    h.release('promote-cache', done());
    await until(actor, 'paused');
    expect(actor.getSnapshot().value).toEqual({ paused: { failover: 'stage-1' } });
    expect(h.ofType('OperationPaused')).toEqual([
      { type: 'OperationPaused', stepIds: ['promote-database'] },
    ]);
    const view = toView(actor.getSnapshot());
    expect(view.phase).toBe('paused');
    expect(view.currentSteps).toEqual(['promote-database']);
    expect(view.lastError).toEqual({
      code: 'timeout',
      provider: 'postgres',
      retryable: true,
      message: 'postgres: pg_promote() timed out after 60 s on 10.1.0.7',
    });
    expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 1, error: view.lastError });
    expect(view.steps[1]).toMatchObject({ status: 'succeeded' });
    expect(h.stepCalls.map((c) => c.stepId)).not.toContain('switch-dns');
  });

  it('retries only the failed step, with the next attempt number', async () => {
    const h = new Harness({
      steps: { 'promote-database': [dbDown(), done('promoted on attempt 2')] },
    });
    const actor = await approved(h);
    await until(actor, 'paused');
    actor.send({ type: 'RETRY', userId: ALICE, authorized: true, at: T0 + 5000 });
    await until(actor, 'completed');
    expect(
      h.stepCalls.filter((c) => c.stepId === 'promote-database').map((c) => c.attempt),
    ).toEqual([1, 2]);
    expect(h.stepCalls.filter((c) => c.stepId === 'promote-cache')).toHaveLength(1);
    expect(h.ofType('StepRetried')).toEqual([
      { type: 'StepRetried', stepId: 'promote-database', userId: ALICE },
    ]);
    const step = toView(actor.getSnapshot()).steps[0];
    expect(step).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      summary: 'promoted on attempt 2',
    });
    expect(step.error).toBeUndefined();
  });

  it('lets the requester retry, but not skip', async () => {
    const h = new Harness({ steps: { 'switch-dns': [new Error('Route 53 throttled'), done()] } });
    const actor = await approved(h);
    await until(actor, 'paused');
    actor.send({ type: 'SKIP', userId: REQUESTER, authorized: false, at: T0 + 1 });
    await settle();
    expect(phase(actor)).toBe('paused');
    actor.send({ type: 'RETRY', userId: REQUESTER, authorized: false, at: T0 + 2 });
    await until(actor, 'completed');
    expect(h.ofType('ActionRefused')).toEqual([
      { type: 'ActionRefused', userId: REQUESTER, action: 'skip', reason: 'unauthorized' },
    ]);
  });

  it('skips the failed step on an authorized SKIP and continues', async () => {
    const h = new Harness({ steps: { 'switch-dns': [dbDown()] } });
    const actor = await approved(h);
    await until(actor, 'paused');
    expect(actor.getSnapshot().value).toEqual({ paused: { failover: 'stage-2' } });
    actor.send({ type: 'SKIP', userId: ALICE, authorized: true, at: T0 + 5000 });
    await until(actor, 'completed');
    expect(h.ofType('StepSkipped')).toEqual([
      { type: 'StepSkipped', stepId: 'switch-dns', reason: 'skipped-by-user', userId: ALICE },
    ]);
    expect(toView(actor.getSnapshot()).steps.find((s) => s.id === 'switch-dns')).toMatchObject({
      status: 'skipped',
      skipReason: 'skipped-by-user',
      skippedBy: ALICE,
    });
    expect(h.stepCalls.map((c) => c.stepId)).toEqual([
      'promote-database',
      'promote-cache',
      'scale-secondary',
      'switch-dns',
      'verify-secondary',
    ]);
  });

  it('aborts on an authorized ABORT, and runs nothing more', async () => {
    const h = new Harness({ steps: { 'scale-secondary': [dbDown()] } });
    const actor = await approved(h);
    await until(actor, 'paused');
    actor.send({
      type: 'ABORT',
      userId: ALICE,
      authorized: true,
      reason: 'doing it by hand',
      at: T0 + 9000,
    });
    await until(actor, 'aborted');
    expect(h.ofType('OperationAborted')).toEqual([
      { type: 'OperationAborted', userId: ALICE, reason: 'doing it by hand' },
    ]);
    expect(toView(actor.getSnapshot())).toMatchObject({
      phase: 'aborted',
      abortedBy: ALICE,
      finishedAt: T0 + 9000,
    });
    expect(h.stepCalls.map((c) => c.stepId)).not.toContain('verify-secondary');
  });

  it('records unauthorized RETRY, SKIP and ABORT and changes nothing', async () => {
    const h = new Harness({ steps: { 'switch-dns': [dbDown()] } });
    const actor = await approved(h);
    await until(actor, 'paused');
    const before = actor.getSnapshot();
    for (const type of ['RETRY', 'SKIP', 'ABORT'] as const)
      actor.send({ type, userId: MALLORY, authorized: false, at: T0 + 1 });
    await settle();
    expect(h.ofType('ActionRefused')).toEqual([
      { type: 'ActionRefused', userId: MALLORY, action: 'retry', reason: 'unauthorized' },
      { type: 'ActionRefused', userId: MALLORY, action: 'skip', reason: 'unauthorized' },
      { type: 'ActionRefused', userId: MALLORY, action: 'abort', reason: 'unauthorized' },
    ]);
    expect(actor.getSnapshot().value).toEqual(before.value);
    expect(actor.getSnapshot().context).toEqual(before.context);
  });

  it('fails a verification step whose checks did not pass, keeping the checks', async () => {
    const checks = [
      { name: 'healthz', kind: 'http' as const, ok: true, detail: '200 in 40 ms' },
      { name: 'checkout smoke test', kind: 'command' as const, ok: false, detail: 'exit 1' },
    ];
    const h = new Harness({
      steps: {
        'verify-secondary': [
          {
            result: 'done',
            summary: '1 of 2 checks failed',
            evidence: {},
            checks,
            verified: false,
          },
        ],
      },
    });
    const actor = await approved(h);
    await until(actor, 'paused');
    const step = toView(actor.getSnapshot()).steps[4];
    expect(step).toMatchObject({ id: 'verify-secondary', status: 'failed', checks });
    expect(step.error?.code).toBe('verification-failed');
    expect(step.error?.message).toContain('checkout smoke test (exit 1)');
    expect(h.ofType('StepSucceeded').map((e) => e.stepId)).not.toContain('verify-secondary');
  });
});

describe('while running', () => {
  it('aborts at once on an authorized ABORT and marks the in-flight step’s outcome unknown', async () => {
    const h = new Harness({ steps: { 'switch-dns': ['hold'] } });
    const actor = await approved(h);
    await waitFor(actor, (s) => s.context.steps[3].status === 'running');
    actor.send({ type: 'ABORT', userId: ALICE, authorized: true, at: T0 + 100 });
    expect(phase(actor)).toBe('aborted');
    h.release('switch-dns', done());
    await settle();
    const step = toView(actor.getSnapshot()).steps.find((s) => s.id === 'switch-dns')!;
    expect(step.status).toBe('failed');
    expect(step.error?.message).toContain('outcome is unknown');
    expect(h.ofType('StepSucceeded').map((e) => e.stepId)).not.toContain('switch-dns');
  });

  it('refuses RETRY/SKIP while nothing is paused, and a late approval', async () => {
    const h = new Harness({ steps: { 'switch-dns': ['hold'] } });
    const actor = await approved(h);
    await waitFor(actor, (s) => s.context.steps[3].status === 'running');
    const hash = actor.getSnapshot().context.planHash!;
    actor.send({ type: 'RETRY', userId: ALICE, authorized: true, at: T0 + 1 });
    actor.send({ type: 'SKIP', userId: ALICE, authorized: true, at: T0 + 1 });
    actor.send(approve('U-CAROL', hash));
    actor.send(approve(ALICE, hash));
    actor.send({ type: 'ABORT', userId: REQUESTER, authorized: false, at: T0 + 1 });
    expect(h.ofType('ActionRefused').map((e) => [e.action, e.reason])).toEqual([
      ['retry', 'not-paused'],
      ['skip', 'not-paused'],
      ['abort', 'unauthorized'],
    ]);
    expect(h.ofType('ApprovalRefused').map((e) => e.reason)).toEqual([
      'not-awaiting-approval',
      'duplicate',
    ]);
    expect(phase(actor)).toBe('running');
    expect(h.heldIds()).toEqual(['switch-dns']);
  });
});
