/**
 * A failed step's last resort through the engine and its store (issue 20): offered only where
 * the driver says so, never run by Retry, asked and approved by two distinct people, written to
 * the store before the provider acts, and resumed by a restarted bot.
 */
import type { PersistedOperation } from '../../src/store/index.js';
import { ProviderError } from '../../src/errors.js';
import {
  APPROVER,
  APPROVER_2,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** The failover the driver cannot do with the primary's region out: it offers the detach. */
function refusedFailover(): ProviderError {
  const e = new ProviderError(
    'fake-cache',
    'FailoverGlobalReplicationGroup failed: InternalFailure',
  );
  e.lastResort = {
    action: 'detach-cache',
    why: 'the failover cannot switch while us-east-1 is out',
  };
  return e;
}

const contextOf = (p: PersistedOperation | null) =>
  (p?.snapshot as { context: { lastResort?: { startedAt?: number; approvals: unknown[] } } })
    .context;

test('offered, refused to one person and to Retry, written before it acts, resumed after a restart', async () => {
  h = await createHarness({ name: 'last-resort' });
  await h.world.set('cache.primaryReachable', 'false');
  h.world.fail('cache.promote', 2, refusedFailover());
  const req = await h.engine.request({
    kind: 'failover',
    mode: 'unplanned',
    requester: REQUESTER,
    reason: 'us-east-1 down',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
  let paused = await inPhase(h.engine, waiting.id, 'paused');
  expect(paused.lastResortOffer).toEqual({
    stepId: 'promote-cache',
    action: 'detach-cache',
    why: 'the failover cannot switch while us-east-1 is out',
  });

  // Retry re-runs the failover, never the detach.
  await h.engine.retry({ opId: paused.id, userId: APPROVER });
  paused = await inPhase(h.engine, paused.id, 'paused');
  expect(h.world.calls.filter((c) => c.startsWith('cache.detach'))).toEqual([]);
  expect(h.world.calls.filter((c) => c === 'cache.promote(secondary)')).toHaveLength(2);

  // One person asks; the same person cannot complete it.
  const asked = await h.engine.detach({ opId: paused.id, userId: REQUESTER });
  expect(asked).toMatchObject({ ok: true, message: expect.stringMatching(/0\/1 approval/) });
  const again = await h.engine.detach({ opId: paused.id, userId: REQUESTER });
  expect(again).toMatchObject({ ok: false, reason: 'self-approval' });
  expect((await h.engine.get(paused.id))!.phase).toBe('paused');

  // The second person: the store says the last resort runs before the provider is called.
  h.world.hangAfterEffect('cache.detach');
  const entered = h.world.entered('cache.detach');
  const approved = h.engine.detach({ opId: paused.id, userId: APPROVER_2 });
  await entered;
  const stored = contextOf(await h.store.load(paused.id));
  expect(stored.lastResort).toMatchObject({ startedAt: expect.any(Number), approvals: [{}] });
  expect(await approved).toMatchObject({ ok: true });
  while ((await h.world.effects('cache.detach')) === 0) await new Promise((r) => setTimeout(r, 10));
  await h.engine.stop();

  // The restarted bot resumes the step with the last resort, finds it done and goes on.
  const restarted = h.another();
  await restarted.start();
  const done = await inPhase(restarted, paused.id, 'completed');
  const cache = done.steps.find((s) => s.id === 'promote-cache')!;
  expect(cache.summary).toMatch(/already done/);
  expect(await h.world.effects('cache.detach')).toBe(1);
  expect(done.lastResort).toMatchObject({
    requestedBy: REQUESTER,
    approvals: [{ userId: APPROVER_2 }],
    finishedAt: expect.any(Number),
  });
}, 60_000);

test('a pause whose driver offers nothing refuses the last resort', async () => {
  h = await createHarness({ name: 'last-resort-none' });
  h.world.fail('cache.promote', 1);
  const req = await h.engine.request({
    kind: 'failover',
    mode: 'planned',
    requester: REQUESTER,
    reason: 'practice',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
  const paused = await inPhase(h.engine, waiting.id, 'paused');
  expect(paused.lastResortOffer).toBeUndefined();
  const out = await h.engine.detach({ opId: paused.id, userId: APPROVER });
  expect(out).toMatchObject({ ok: false, reason: 'no-last-resort' });
}, 30_000);
