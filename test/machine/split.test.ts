/**
 * A split data tier in the machine: one data component switched while the other's step failed.
 * The pause shows each component's role, offers the undo the records allow, asks two people for
 * it, keeps it through a restart, and ends aborted with the rollback recorded.
 */
import { waitFor } from 'xstate';
import type { DataTierRole } from '../../src/domain/types.js';
import { FailedWithRoles, ProviderError } from '../../src/errors.js';
import { evaluateAction, toView } from '../../src/machine/index.js';
import {
  ALICE,
  approve,
  BOB,
  done,
  Harness,
  MALLORY,
  phase,
  REQUESTER,
  settle,
  T0,
  until,
} from './harness.js';

const regions = { primary: 'eu-west-1', secondary: 'eu-central-1' };

const role = (
  component: DataTierRole['component'],
  writer: DataTierRole['writer'],
  extra: Partial<DataTierRole> = {},
): DataTierRole => ({ component, writer, regions, changed: writer !== 'primary', ...extra });

const fenceRefused = () =>
  new FailedWithRoles(
    new ProviderError(
      'postgres',
      'primary: fencing writes (read-only) failed: permission denied to set parameter "default_transaction_read_only"',
    ),
    role('database', 'primary'),
  );

const redisPromoted = done('promoted secondary (FAILOVER)', {
  roles: role('cache', 'secondary', { undo: 'switch-back' }),
});

async function pausedSplit(h: Harness) {
  const actor = h.start();
  await until(actor, 'awaitingApproval');
  actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
  await until(actor, 'paused');
  return actor;
}

const undo = (userId: string, authorized = true, at = T0 + 5000) => ({
  type: 'UNDO' as const,
  userId,
  authorized,
  at,
});

describe('a split data tier', () => {
  it('shows each role, asks two people for the undo, keeps it through a restart and ends aborted', async () => {
    const h = new Harness({
      steps: { 'promote-database': [fenceRefused()], 'promote-cache': [redisPromoted] },
      undo: [{ summary: 'Redis is back: primary is the master again' }],
    });
    const actor = await pausedSplit(h);
    const view = toView(actor.getSnapshot());
    expect(view.split).toEqual({
      roles: [role('database', 'primary'), role('cache', 'secondary', { undo: 'switch-back' })],
      undoable: ['cache'],
    });
    expect(view.steps.find((s) => s.id === 'promote-database')!.error!.message).toMatch(
      /permission denied to set parameter/,
    );

    // The first click asks; the same person, or someone unauthorized, cannot approve it.
    actor.send(undo(REQUESTER));
    await settle();
    expect(phase(actor)).toBe('paused');
    expect(toView(actor.getSnapshot()).undo).toMatchObject({
      components: ['cache'],
      requestedBy: REQUESTER,
      approvals: [],
    });
    actor.send(undo(REQUESTER));
    actor.send(undo(MALLORY, false));
    await settle();
    expect(h.ofType('ActionRefused').map((e) => [e.userId, e.action, e.reason])).toEqual([
      [REQUESTER, 'undo', 'self-approval'],
      [MALLORY, 'undo', 'unauthorized'],
    ]);
    expect(phase(actor)).toBe('paused');
    expect(h.undoCalls).toEqual([]);

    // A restart in between: the request is in the persisted context.
    const snapshot = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const resumed = h.restore(snapshot);
    expect(toView(resumed.getSnapshot()).undo?.requestedBy).toBe(REQUESTER);
    resumed.send(undo(BOB));
    await waitFor(resumed, (s) => s.status === 'done');
    const end = toView(resumed.getSnapshot());
    expect(end.phase).toBe('aborted');
    expect(end.abortedBy).toBe(BOB);
    expect(end.undo).toMatchObject({
      approvals: [{ userId: BOB }],
      summary: 'Redis is back: primary is the master again',
    });
    expect(h.undoCalls).toEqual([{ opId: end.id, kind: 'failover', components: ['cache'] }]);
    expect(h.types().slice(-4)).toEqual([
      'UndoRequested',
      'UndoStarted',
      'DataTierUndone',
      'OperationAborted',
    ]);
    expect(h.ofType('UndoStarted')[0]!.approvers).toEqual([REQUESTER, BOB]);
    // Nothing after the failed stage ran.
    expect(h.stepCalls.map((c) => c.stepId)).not.toContain('switch-dns');
  });

  it('a failed undo pauses again with its error; a retry clears a pending request', async () => {
    const h = new Harness({
      steps: {
        'promote-database': [fenceRefused(), done('promoted secondary')],
        'promote-cache': [redisPromoted],
      },
      undo: [new ProviderError('redis', 'secondary (127.0.0.1:1): FAILOVER failed')],
    });
    const actor = await pausedSplit(h);
    actor.send(undo(ALICE));
    actor.send(undo(BOB));
    await until(actor, 'paused');
    await settle();
    const view = toView(actor.getSnapshot());
    expect(view.phase).toBe('paused');
    expect(view.undo?.error?.message).toMatch(/FAILOVER failed/);
    expect(view.lastError?.message).toMatch(/FAILOVER failed/);
    expect(h.types()).toContain('UndoFailed');

    // Asked again, then a Retry instead: the request ends with the pause it was for.
    actor.send(undo(ALICE));
    await settle();
    expect(toView(actor.getSnapshot()).undo?.error).toBeUndefined();
    actor.send({ type: 'RETRY', userId: BOB, authorized: true, at: T0 + 9000 });
    await waitFor(actor, (s) => s.status === 'done');
    expect(toView(actor.getSnapshot()).phase).toBe('completed');
    expect(toView(actor.getSnapshot()).undo).toBeUndefined();
  });

  it('offers no undo when what changed cannot be undone (PostgreSQL promoted, Redis failed)', async () => {
    const h = new Harness({
      steps: {
        'promote-database': [done('promoted', { roles: role('database', 'secondary') })],
        'promote-cache': [
          new FailedWithRoles(
            new ProviderError('redis', 'FAILOVER timed out'),
            role('cache', 'primary', { changed: false }),
          ),
        ],
      },
    });
    const actor = await pausedSplit(h);
    const view = toView(actor.getSnapshot());
    expect(view.split).toEqual({
      roles: [role('database', 'secondary'), role('cache', 'primary')],
      undoable: [],
    });
    expect(evaluateAction(view, 'undo', ALICE, true)).toBe('nothing-to-undo');
    actor.send(undo(ALICE));
    await settle();
    expect(h.ofType('ActionRefused').map((e) => e.reason)).toEqual(['nothing-to-undo']);
    expect(phase(actor)).toBe('paused');
  });

  it('an ordinary pause (nothing switched) is no split', async () => {
    const h = new Harness({
      steps: {
        'promote-database': [fenceRefused()],
        'promote-cache': [done('nothing', { roles: role('cache', 'primary') })],
      },
    });
    const actor = await pausedSplit(h);
    expect(toView(actor.getSnapshot()).split).toBeUndefined();
    expect(evaluateAction(toView(actor.getSnapshot()), 'undo', ALICE, true)).toBe(
      'nothing-to-undo',
    );
  });
});
