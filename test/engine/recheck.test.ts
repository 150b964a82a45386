/**
 * A step whose connection was lost mid-call is re-checked by the engine on its own, a bounded
 * number of times, before the operation pauses for a person; any other failure pauses at once.
 * (On real servers with a cut network: test/engine/pg-connection-cut.test.ts.)
 */
import type { TimelineEntry } from '../../src/domain/types.js';
import { ProviderError } from '../../src/errors.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const lost = () =>
  new ProviderError('fake-database', 'promote failed: Connection terminated unexpectedly', {
    retryable: true,
    code: 'connection-lost',
  });

async function failover(harness: Harness, until: 'completed' | 'paused') {
  const req = await harness.engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'recheck',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(harness.engine, req.op.id, 'awaitingApproval');
  const ok = await harness.engine.approve({
    opId: waiting.id,
    userId: APPROVER,
    planHash: waiting.planHash!,
  });
  if (!ok.ok) throw new Error(ok.message);
  const end = await inPhase(harness.engine, waiting.id, until);
  const tl = await harness.store.timeline(waiting.id);
  const ofPromote = tl.filter(
    (e): e is TimelineEntry & { stepId: string } =>
      'stepId' in e && e.stepId === 'promote-database',
  );
  return { end, ofPromote };
}

const rechecks = (entries: TimelineEntry[]) =>
  entries.filter(
    (e) => e.type === 'StepProgress' && /^connection lost mid-step.*re-checking/.test(e.message),
  ).length;

test('a connection lost twice: re-checked twice, then the step runs and the failover completes', async () => {
  h = await createHarness({ name: 'recheck-ok', recheckDelaysMs: [10, 10, 10] });
  h.world.fail('database.promote', 2, lost());
  const { ofPromote } = await failover(h, 'completed');
  expect(rechecks(ofPromote)).toBe(2);
  expect(ofPromote.filter((e) => e.type !== 'StepProgress').map((e) => e.type)).toEqual([
    'StepStarted',
    'StepSucceeded',
  ]);
  expect(await h.world.effects('database.promote')).toBe(1);
});

test('a connection that stays lost: re-checked as many times as allowed, then the operation pauses', async () => {
  h = await createHarness({ name: 'recheck-bounded', recheckDelaysMs: [10, 10, 10] });
  h.world.fail('database.promote', 10, lost());
  const { end, ofPromote } = await failover(h, 'paused');
  expect(rechecks(ofPromote)).toBe(3);
  expect(end.lastError?.message).toMatch(/Connection terminated unexpectedly/);
  expect(h.world.calls.filter((c) => c.startsWith('database.promote'))).toHaveLength(4);
  expect(await h.world.effects('database.promote')).toBe(0);
});

test('any other failure pauses at once, without a re-check', async () => {
  h = await createHarness({ name: 'recheck-none', recheckDelaysMs: [10, 10, 10] });
  h.world.fail('database.promote', 1);
  const { ofPromote } = await failover(h, 'paused');
  expect(rechecks(ofPromote)).toBe(0);
  expect(h.world.calls.filter((c) => c.startsWith('database.promote'))).toHaveLength(1);
});
