import { waitFor } from 'xstate';
import { machineDiagram, toView } from '../../src/machine/index.js';
import { DRILL_RUNBOOK } from '../../src/machine/runbook.js';
import { ALICE, approve, done, Harness, T0, until } from '../machine/harness.js';

describe('the drill runbook in the operation machine', () => {
  it('runs the write load, the failover, integration tests, the failback and the count, in that order, as one approved operation', async () => {
    const h = new Harness();
    const actor = h.start({ kind: 'drill', requestedMode: 'planned' });
    await until(actor, 'awaitingApproval');
    actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
    await waitFor(actor, (s) => s.status === 'done');
    const view = toView(actor.getSnapshot());
    expect(view.phase).toBe('completed');
    expect(view.kind).toBe('drill');
    expect(h.stepCalls.map((c) => c.stepId)).toEqual([
      'start-write-load',
      'promote-database',
      'promote-cache',
      'scale-secondary',
      'switch-dns',
      'verify-secondary',
      'run-integration-tests',
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
      'stop-write-load',
    ]);
    expect(view.steps.every((s) => s.status === 'succeeded')).toBe(true);
  });

  it('ends the RTO when the secondary verifies, not at the end of the failback', async () => {
    const h = new Harness({ steps: { 'verify-secondary': ['hold'], 'stop-write-load': ['hold'] } });
    const actor = h.start({ kind: 'drill', requestedMode: 'planned' });
    await until(actor, 'awaitingApproval');
    actor.send(approve(ALICE, actor.getSnapshot().context.planHash!, T0));
    // start-write-load, the data tier beside the capacity, DNS, then the verification.
    await waitFor(actor, (s) => s.matches({ running: { drill: 'stage-4' } } as never));
    h.clock.increment(90_000);
    h.release('verify-secondary', done('secondary serving'));
    await waitFor(actor, (s) =>
      s.matches({ running: { drill: `stage-${DRILL_RUNBOOK.stages.length}` } } as never),
    );
    h.clock.increment(600_000);
    const rpo = {
      component: 'database' as const,
      source: 'write-load' as const,
      bytes: null,
      seconds: 0,
      description: 'zero loss',
    };
    h.release('stop-write-load', done('counted', { rpo: [rpo] }));
    await waitFor(actor, (s) => s.status === 'done');
    const view = toView(actor.getSnapshot());
    expect(view.rtoMs).toBe(90_000);
    expect(view.rpo).toEqual([rpo]);
  });

  it('pauses a failed drill stage like any other and keeps the other kinds out of its diagram', async () => {
    const h = new Harness({
      steps: { 'run-integration-tests': [done('1 of 2 checks failed', { verified: false })] },
    });
    const actor = h.start({ kind: 'drill', requestedMode: 'planned' });
    await until(actor, 'awaitingApproval');
    actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
    await waitFor(actor, (s) => s.matches('paused'));
    expect(toView(actor.getSnapshot()).currentSteps).toEqual(['run-integration-tests']);

    const diagram = machineDiagram('drill');
    expect(diagram).toContain('run-integration-tests');
    expect(diagram).not.toMatch(/running_failover|running_failback/);
    expect(machineDiagram('failover')).not.toContain('run-integration-tests');
  });
});
