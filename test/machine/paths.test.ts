import { getShortestPaths } from 'xstate/graph';
import type { SnapshotFrom } from 'xstate';
import { FINAL_PHASES, type OperationKind, type Phase } from '../../src/domain/types.js';
import {
  createOperationMachine,
  phaseOf,
  type OperationEvent,
  type OperationMachine,
} from '../../src/machine/index.js';
import {
  ALICE,
  approve,
  BOB,
  component,
  done,
  Harness,
  input,
  report,
  REQUESTER,
  settle,
  T0,
} from './harness.js';

/**
 * Model-based tests: xstate/graph walks the machine with every event a person or an actor can
 * produce in each phase, and every shortest path it finds is replayed against a live actor whose
 * preflight and steps are fakes answered by the test, once straight through and once with a
 * crash-and-restore from the persisted snapshot halfway along.
 */
const model = createOperationMachine({ now: () => T0 });
type Snap = SnapshotFrom<OperationMachine>;
type ActorEvent = { type: string; output?: unknown; error?: unknown };
type PathEvent = OperationEvent | ActorEvent;

const BASE = report();
const MOVED = report({
  components: [
    component('database', { planFacts: { target: 'db-standby-2' } }),
    component('cache'),
    component('dns'),
  ],
});
const BLOCKED = report({
  components: [component('database', { status: 'blocked', summary: 'standby is not in recovery' })],
});
const USER = { at: T0 + 1000 };

function eventsFor(rich: boolean) {
  return (s: Snap): PathEvent[] => {
    const c = s.context;
    switch (phaseOf(s)) {
      case 'preflight':
        return [
          { type: 'xstate.done.actor.preflight', output: BASE },
          { type: 'xstate.done.actor.preflight', output: BLOCKED },
          { type: 'xstate.error.actor.preflight', error: new Error('standby unreachable') },
          { type: 'REJECT', userId: REQUESTER, authorized: false, ...USER },
          { type: 'ABORT', userId: ALICE, authorized: true, ...USER },
        ];
      case 'awaitingApproval':
        return [
          approve(ALICE, c.planHash!),
          approve(REQUESTER, c.planHash!),
          { type: 'TICK', at: c.expiresAt! },
          { type: 'REJECT', userId: BOB, authorized: true, ...USER },
          { type: 'ABORT', userId: REQUESTER, authorized: false, ...USER },
        ];
      case 'recheck':
        return [
          { type: 'xstate.done.actor.recheck', output: c.preflight },
          { type: 'xstate.done.actor.recheck', output: c.preflight === MOVED ? BASE : MOVED },
          { type: 'xstate.done.actor.recheck', output: BLOCKED },
          { type: 'xstate.error.actor.recheck', error: new Error('standby unreachable') },
        ];
      case 'running':
        return [
          ...c.steps
            .filter((st) => st.status === 'running')
            .flatMap((st): PathEvent[] => [
              { type: `xstate.done.actor.${st.id}`, output: done() },
              { type: `xstate.error.actor.${st.id}`, error: new Error(`${st.id} failed`) },
              ...(rich
                ? [
                    {
                      type: `xstate.done.actor.${st.id}`,
                      output: { result: 'not-configured', summary: 'not configured', evidence: {} },
                    },
                  ]
                : []),
              ...(st.id.startsWith('verify-')
                ? [
                    {
                      type: `xstate.done.actor.${st.id}`,
                      output: done('health check red', { verified: false }),
                    },
                  ]
                : []),
            ]),
          { type: 'ABORT', userId: ALICE, authorized: true, ...USER },
        ];
      case 'paused':
        return [
          { type: 'RETRY', userId: ALICE, authorized: true, ...USER },
          { type: 'SKIP', userId: ALICE, authorized: true, ...USER },
          { type: 'ABORT', userId: ALICE, authorized: true, ...USER },
        ];
      default:
        return [];
    }
  };
}

/** What a person sees: where it is, each step's status, the approvals and the plan. Attempt counts and times are left out so retry loops close. */
function seenByPeople(s: Snap) {
  return {
    value: s.value,
    steps: s.context.steps.map((st) => st.status),
    approvals: s.context.approvals.length,
    plan: s.context.planHash,
  };
}

/** The failback runbook is long: its walk forgets finished steps' statuses to stay small. */
function coarse(s: Snap) {
  return { value: s.value, approvals: s.context.approvals.length, plan: s.context.planHash };
}

function pathsFor(kind: OperationKind, rich: boolean) {
  return getShortestPaths(model, {
    input: input({ kind }),
    events: eventsFor(rich) as never,
    serializeState: (s) => JSON.stringify(rich ? seenByPeople(s) : coarse(s)),
  });
}

async function replay(
  kind: OperationKind,
  rich: boolean,
  steps: { event: PathEvent; state: Snap }[],
  restoreAt?: number,
) {
  const seen = rich ? seenByPeople : coarse;
  let h = new Harness({ holdAll: true }, model);
  let actor = h.start({ kind });
  await settle();
  expect(seen(actor.getSnapshot())).toEqual(seen(steps[0].state));
  for (let i = 1; i < steps.length; i++) {
    if (i === restoreAt) {
      const snapshot = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      actor.stop();
      h = new Harness({ holdAll: true }, model);
      actor = h.restore(snapshot, { kind });
      await settle();
    }
    const { event, state } = steps[i];
    const actorEvent = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event.type);
    if (actorEvent) {
      const e = event as ActorEvent;
      h.release(actorEvent[2], actorEvent[1] === 'done' ? (e.output as never) : (e.error as Error));
    } else {
      actor.send(event as OperationEvent);
    }
    await tick();
    expect({ step: i, event: event.type, ...seen(actor.getSnapshot()) }).toEqual({
      step: i,
      event: event.type,
      ...seen(state),
    });
  }
  return actor;
}

/** One turn of the event loop: a released fake answers through microtasks only. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const ALL_PHASES: Phase[] = [
  'preflight',
  'awaitingApproval',
  'recheck',
  'running',
  'paused',
  ...FINAL_PHASES,
];

describe.each([
  ['failover', true],
  ['failback', false],
] as const)('%s: every shortest path', (kind, rich) => {
  const paths = pathsFor(kind, rich);
  const finals = paths.filter((p) => FINAL_PHASES.includes(phaseOf(p.state)));
  // A path that another one extends adds nothing to a replay: keep the longest ones.
  const key = (p: (typeof paths)[number]) =>
    p.steps.map((st) => st.event.type + JSON.stringify(st.state.value)).join('>');
  const keys = paths.map(key);
  const maximal = paths.filter(
    (_, i) => !keys.some((k, j) => j !== i && k.startsWith(keys[i] + '>')),
  );

  it('reaches every phase, and every final phase', () => {
    expect(new Set(paths.map((p) => phaseOf(p.state)))).toEqual(new Set(ALL_PHASES));
    expect(new Set(finals.map((p) => phaseOf(p.state)))).toEqual(new Set(FINAL_PHASES));
  });

  it('is followed by a live actor step by step', async () => {
    const chosen = rich ? maximal : finals;
    for (const path of chosen) {
      const actor = await replay(kind, rich, path.steps as never);
      expect(phaseOf(actor.getSnapshot())).toBe(phaseOf(path.state));
      actor.stop();
    }
  });

  it('is followed after a crash and restore halfway along', async () => {
    const chosen = (rich ? maximal : finals).filter((p) => p.steps.length > 2);
    for (const path of chosen) {
      const actor = await replay(
        kind,
        rich,
        path.steps as never,
        Math.floor(path.steps.length / 2),
      );
      expect(phaseOf(actor.getSnapshot())).toBe(phaseOf(path.state));
      actor.stop();
    }
  });
});
