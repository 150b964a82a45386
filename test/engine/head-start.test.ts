/**
 * The scale lane's head start: the secondary's workloads start scaling at approval, beside the
 * recheck, and the scale step reports what it set. An operation that ends before its scale step
 * ran (refused by the recheck, rejected) puts the secondary back to standby size, even across a
 * restart; a secondary someone had already scaled is left as it was.
 */
import type { OperationView } from '../../src/domain/types.js';
import type { Engine } from '../../src/engine/index.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  testConfig,
  type Harness,
} from '../support/engine-harness.js';
import { FakeWorld } from '../support/fakes.js';
import { until } from '../support/lab.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Requests an operation and gives the final approval while the recheck is held back (slow). */
async function approvedInRecheck(
  harness: Harness,
  kind: 'failover' | 'drill' = 'failover',
): Promise<OperationView> {
  const req = await harness.engine.request({
    kind,
    mode: 'auto',
    requester: REQUESTER,
    reason: 'head start',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(harness.engine, req.op.id, 'awaitingApproval');
  harness.world.delay('database.readiness', 400);
  const ok = await harness.engine.approve({
    opId: waiting.id,
    userId: APPROVER,
    planHash: waiting.planHash!,
  });
  if (!ok.ok) throw new Error(ok.message);
  expect(ok.op?.phase).toBe('recheck');
  return waiting;
}

const secondaryAt = (harness: Harness, size: 'production' | 'standby') =>
  until(
    `the secondary at ${size} size`,
    async () => (await harness.world.get('cluster.secondary')) === size,
  );

async function progressOfScale(harness: Harness, opId: string): Promise<string[]> {
  return (await harness.store.timeline(opId)).flatMap((e) =>
    e.type === 'StepProgress' && e.stepId === 'scale-secondary' ? [e.message] : [],
  );
}

/** The standby is gone by the time the held-back recheck reads it: the operation is refused. */
async function refusedByRecheck(harness: Harness, opId: string): Promise<void> {
  await harness.world.set('database.standby', 'none');
  harness.world.delay('database.readiness', 0);
  await inPhase(harness.engine, opId, 'refused');
}

const withdrawnOnTimeline = (harness: Harness, opId: string, why = '') =>
  until('the withdrawal on the timeline', async () =>
    (await progressOfScale(harness, opId)).some((m) => m.startsWith(`head start withdrawn${why}`)),
  );

/** Calls of the cluster's scale: head starts and withdrawals, whatever they did. */
const scaleCalls = (harness: Harness) =>
  harness.world.calls.filter((c) => c.startsWith('cluster.scale(')).length;

test('the secondary scales at approval while the recheck still runs, and its step says so', async () => {
  h = await createHarness({ name: 'head-start-run' });
  const op = await approvedInRecheck(h);
  await secondaryAt(h, 'production');
  expect((await h.engine.get(op.id))!.phase).toBe('recheck');
  h.world.delay('database.readiness', 0);

  const done = await inPhase(h.engine, op.id, 'completed');
  expect(done.steps.find((s) => s.id === 'scale-secondary')!.summary).toMatch(
    /^head start at approval: secondary scaled to production; /,
  );
  expect(await progressOfScale(h, op.id)).toContain(
    'head start at approval: scaling secondary to production',
  );
  // Scaled once, at approval: the step found the counts set and only waited.
  expect(await h.world.effects('cluster.scale')).toBe(1);
});

test('refused by the recheck: the secondary goes back to standby, and the timeline says why', async () => {
  h = await createHarness({ name: 'head-start-refused' });
  const op = await approvedInRecheck(h);
  await secondaryAt(h, 'production');
  await refusedByRecheck(h, op.id);
  await secondaryAt(h, 'standby');
  await withdrawnOnTimeline(h, op.id, ' (the operation ended refused before scaling)');
});

test('rejected while the head start writes: it is waited for, then withdrawn', async () => {
  h = await createHarness({ name: 'head-start-rejected' });
  h.world.delay('cluster.scaleWrite', 300);
  const op = await approvedInRecheck(h);
  const rejected = await h.engine.reject({ opId: op.id, userId: APPROVER, reason: 'wrong day' });
  expect(rejected.ok).toBe(true);
  await inPhase(h.engine, op.id, 'rejected');
  h.world.delay('database.readiness', 0);
  await withdrawnOnTimeline(h, op.id);
  expect(await h.world.get('cluster.secondary')).toBe('standby');
  expect(await h.world.effects('cluster.scale')).toBe(2);
});

test('rejected before the head start wrote: nothing changes, nothing to withdraw', async () => {
  h = await createHarness({ name: 'head-start-rejected-early' });
  h.world.delay('cluster.scale', 300);
  const op = await approvedInRecheck(h);
  expect((await h.engine.reject({ opId: op.id, userId: APPROVER })).ok).toBe(true);
  await inPhase(h.engine, op.id, 'rejected');
  h.world.delay('database.readiness', 0);
  await until('the head start to give up', async () => scaleCalls(h!) > 0);
  await new Promise((r) => setTimeout(r, 400));
  expect(await h.world.effects('cluster.scale')).toBe(0);
  expect(await h.world.get('cluster.secondary')).toBe('standby');
  expect(await progressOfScale(h, op.id)).toEqual([]);
});

test('a secondary someone already scaled gets no head start and is left as it was', async () => {
  h = await createHarness({
    name: 'head-start-none',
    world: await new FakeWorld().init({ 'cluster.secondary': 'production' }),
  });
  const op = await approvedInRecheck(h);
  await refusedByRecheck(h, op.id);
  await h.engine.stop();
  expect(await h.world.effects('cluster.scale')).toBe(0);
  expect(await h.world.get('cluster.secondary')).toBe('production');
  expect(await progressOfScale(h, op.id)).toEqual([]);
});

test('a withdrawal that failed is done by the next bot process at start', async () => {
  h = await createHarness({ name: 'head-start-restart' });
  const op = await approvedInRecheck(h);
  await secondaryAt(h, 'production');
  h.world.fail('cluster.scale', 1);
  await refusedByRecheck(h, op.id);
  // The head start, then the withdrawal that failed.
  await until('the failed withdrawal', async () => scaleCalls(h!) >= 2);
  expect(await h.world.get('cluster.secondary')).toBe('production');
  await h.engine.stop();

  const restarted: Engine = h.another();
  await restarted.start();
  await secondaryAt(h, 'standby');
  await withdrawnOnTimeline(h, op.id);
});

test('a withdrawal that failed is tried again on the next tick', async () => {
  h = await createHarness({ name: 'head-start-tick', tickMs: 50 });
  const op = await approvedInRecheck(h);
  await secondaryAt(h, 'production');
  h.world.fail('cluster.scale', 1);
  await refusedByRecheck(h, op.id);
  await secondaryAt(h, 'standby');
  await withdrawnOnTimeline(h, op.id);
  // The head start, the failed withdrawal, the one that worked.
  expect(scaleCalls(h)).toBe(3);
});

test("a team's own step placed before the scaling is not jumped: no head start", async () => {
  h = await createHarness({
    name: 'head-start-custom',
    config: testConfig({
      runbook: {
        steps: [
          {
            id: 'capacity',
            title: 'Confirm the reserved capacity',
            after: 'start-write-load',
            manual: { text: 'Check the capacity reservation in the secondary' },
          },
        ],
      },
    }),
  });
  const op = await approvedInRecheck(h, 'drill');
  h.world.delay('database.readiness', 0);
  await until('the drill to wait for the team step', async () =>
    (await h!.engine.get(op.id))!.steps.some(
      (s) => s.id === 'custom:capacity' && s.status === 'waiting',
    ),
  );
  expect(await h.world.effects('cluster.scale')).toBe(0);
  expect(await h.world.get('cluster.secondary')).toBe('standby');
});
