/** A manual step waits in its lane until an allowed person clicks Done (or an approver Skip), through restarts. */
import { customRunbooks, parseConfig } from '../../src/config/index.js';
import { createOperationMachine, toView } from '../../src/machine/index.js';
import {
  ALICE,
  BOB,
  Harness,
  MALLORY,
  REQUESTER,
  T0,
  approve,
  phase,
  settle,
  until,
} from './harness.js';

const OWNER = 'U0123OWNER';

function machineWith(owners: string[], modes = '[planned, unplanned]', clock?: () => number) {
  const { runbook } = parseConfig(
    `environment: staging
regions: { primary: { name: a }, secondary: { name: b } }
slack: { incidentChannel: C0123ABCD }
approvals: { approvers: [U0123ALICE] }
runbook:
  steps:
    - id: tell-support
      title: Tell support
      after: switch-dns
      modes: ${modes}
      manual: { text: Post the incident banner, owners: [${owners.join(', ')}] }
`,
    'dr.config.yaml',
  );
  return createOperationMachine({ now: clock, runbooks: customRunbooks(runbook.steps) });
}

async function waitingHarness(owners: string[] = []) {
  let h: Harness | undefined = undefined;
  const machine = machineWith(owners, undefined, () => h!.clock.now());
  h = new Harness({}, machine);
  const actor = h.start();
  await until(actor, 'awaitingApproval');
  actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
  await settle();
  h.clock.increment(60_000);
  await settle();
  return { h, actor };
}

const click = (
  type: 'DONE' | 'SKIP',
  userId: string,
  authorized: boolean,
  at = T0 + 5 * 60_000,
) => ({ type, userId, authorized, at, stepId: 'custom:tell-support' as const });

it('waits at the manual step until someone allowed clicks Done, and records who and when', async () => {
  const { h, actor } = await waitingHarness();
  const view = toView(actor.getSnapshot());
  expect(view.phase).toBe('running');
  expect(view.waiting).toEqual([
    expect.objectContaining({
      stepId: 'custom:tell-support',
      text: 'Post the incident banner',
      owners: [],
    }),
  ]);
  expect(h.ofType('ManualStepWaiting')).toHaveLength(1);
  // verify-secondary runs after the manual step: nothing past it has started.
  expect(h.stepCalls.map((c) => c.stepId)).not.toContain('verify-secondary');
  // Someone who is neither an approver nor the requester is refused, and it keeps waiting.
  actor.send(click('DONE', MALLORY, false));
  await settle();
  expect(h.ofType('ActionRefused').at(-1)).toMatchObject({
    action: 'done',
    reason: 'unauthorized',
  });
  expect(toView(actor.getSnapshot()).waiting).toHaveLength(1);
  // The requester may confirm (a checklist item is not an approval).
  h.clock.set(T0 + 5 * 60_000);
  actor.send(click('DONE', REQUESTER, false));
  await until(actor, 'completed');
  const step = actor.getSnapshot().context.steps.find((s) => s.id === 'custom:tell-support')!;
  expect(step).toMatchObject({
    status: 'succeeded',
    confirmedBy: REQUESTER,
    finishedAt: T0 + 5 * 60_000,
  });
  // The wait lies between approval and verification, so it counts in the RTO.
  expect(actor.getSnapshot().context.rtoMs).toBeGreaterThanOrEqual(4 * 60_000);
});

it('keeps waiting after a restart and takes the Done then', async () => {
  const { h, actor } = await waitingHarness();
  const snapshot = actor.getPersistedSnapshot();
  actor.stop();
  const restored = h.restore(JSON.parse(JSON.stringify(snapshot)));
  await settle();
  expect(phase(restored)).toBe('running');
  expect(toView(restored.getSnapshot()).waiting?.[0]?.stepId).toBe('custom:tell-support');
  restored.send(click('DONE', ALICE, true));
  await until(restored, 'completed');
});

it('lets only the owners (or approvers) confirm, and only approvers skip', async () => {
  const { h, actor } = await waitingHarness([OWNER]);
  actor.send(click('DONE', REQUESTER, false));
  await settle();
  expect(h.ofType('ActionRefused').at(-1)).toMatchObject({
    action: 'done',
    reason: 'unauthorized',
  });
  actor.send(click('SKIP', OWNER, false));
  await settle();
  expect(h.ofType('ActionRefused').at(-1)).toMatchObject({
    action: 'skip',
    reason: 'unauthorized',
  });
  actor.send(click('SKIP', BOB, true));
  await until(actor, 'completed');
  const step = actor.getSnapshot().context.steps.find((s) => s.id === 'custom:tell-support')!;
  expect(step).toMatchObject({ status: 'skipped', skipReason: 'skipped-by-user', skippedBy: BOB });
});

it('refuses Done when no manual step waits', async () => {
  const h = new Harness({ steps: { 'promote-database': ['hold'] } });
  const actor = h.start();
  await until(actor, 'awaitingApproval');
  actor.send(click('DONE', ALICE, true));
  await settle();
  expect(h.ofType('ActionRefused').at(-1)).toMatchObject({ action: 'done', reason: 'not-waiting' });
});

it('skips a checklist item meant for the other mode without waiting', async () => {
  let h: Harness | undefined = undefined;
  h = new Harness(
    {},
    machineWith([], '[unplanned]', () => h!.clock.now()),
  );
  const actor = h.start();
  await until(actor, 'awaitingApproval');
  actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
  await until(actor, 'completed');
  expect(h.ofType('ManualStepWaiting')).toHaveLength(0);
  expect(
    actor.getSnapshot().context.steps.find((s) => s.id === 'custom:tell-support'),
  ).toMatchObject({
    status: 'skipped',
    skipReason: 'not-configured',
  });
});
