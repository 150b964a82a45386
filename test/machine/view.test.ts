import { ProviderError } from '../../src/errors.js';
import { toView } from '../../src/machine/index.js';
import {
  ALICE,
  approve,
  done,
  Harness,
  report,
  REQUESTER,
  T0,
  TIMEOUT_MS,
  until,
} from './harness.js';

describe('toView', () => {
  it('gives adapters everything about a paused operation, and nothing undefined', async () => {
    const h = new Harness({
      steps: {
        'promote-database': [done('promoted 10.1.0.7', { evidence: { lsn: '0/3000060' } })],
        'promote-cache': [
          { result: 'not-configured', summary: 'no Redis configured', evidence: {} },
        ],
        'scale-secondary': [done('web 2→6, all ready')],
        'switch-dns': ['hold'],
      },
    });
    const actor = h.start({ requestedMode: 'planned' });
    await until(actor, 'awaitingApproval');
    const planHash = actor.getSnapshot().context.planHash!;
    h.clock.increment(2000);
    actor.send(approve(ALICE, planHash, T0 + 2000));
    await until(actor, 'running');
    h.clock.increment(5000);
    h.release(
      'switch-dns',
      new ProviderError('route53', 'hosted zone Z123 not found', { code: 'not-found' }),
    );
    await until(actor, 'paused');

    const error = {
      code: 'not-found',
      message: 'route53: hosted zone Z123 not found',
      retryable: false,
      provider: 'route53',
    };
    expect(toView(actor.getSnapshot())).toStrictEqual({
      id: 'DR-20261125-093015',
      env: 'prod',
      kind: 'failover',
      requestedMode: 'planned',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'eu-west-1 down',
      phase: 'paused',
      currentSteps: ['switch-dns'],
      steps: [
        {
          id: 'promote-database',
          title: 'Promote secondary database',
          status: 'succeeded',
          attempts: 1,
          startedAt: T0 + 2000,
          finishedAt: T0 + 2000,
          summary: 'promoted 10.1.0.7',
          evidence: { lsn: '0/3000060' },
        },
        {
          id: 'promote-cache',
          title: 'Promote secondary cache',
          status: 'skipped',
          skipReason: 'not-configured',
          attempts: 1,
          startedAt: T0 + 2000,
          finishedAt: T0 + 2000,
          summary: 'no Redis configured',
          evidence: {},
        },
        {
          id: 'scale-secondary',
          title: 'Scale secondary to production',
          status: 'succeeded',
          attempts: 1,
          startedAt: T0 + 2000,
          finishedAt: T0 + 2000,
          summary: 'web 2→6, all ready',
          evidence: { ok: true },
        },
        {
          id: 'switch-dns',
          title: 'Switch DNS to secondary',
          status: 'failed',
          attempts: 1,
          startedAt: T0 + 2000,
          finishedAt: T0 + 7000,
          error,
        },
        { id: 'verify-secondary', title: 'Verify secondary', status: 'pending', attempts: 0 },
      ],
      stages: [
        ['promote-database', 'promote-cache', 'scale-secondary'],
        ['switch-dns'],
        ['verify-secondary'],
      ],
      approvals: [{ userId: ALICE, at: T0 + 2000, planHash }],
      requiredApprovals: 1,
      expiresAt: T0 + TIMEOUT_MS,
      planHash,
      preflight: report(),
      createdAt: T0,
      approvedAt: T0 + 2000,
      lastError: error,
    });
  });

  it('shows the running steps of a parallel stage as current', async () => {
    const h = new Harness({ steps: { 'promote-database': ['hold'], 'promote-cache': ['hold'] } });
    const actor = h.start();
    await until(actor, 'awaitingApproval');
    actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
    await until(actor, 'running');
    const view = toView(actor.getSnapshot());
    expect(view.phase).toBe('running');
    expect(view.currentSteps).toEqual(['promote-database', 'promote-cache']);
    expect(view.finishedAt).toBeUndefined();
  });
});
