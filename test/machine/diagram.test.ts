import {
  FAILBACK_RUNBOOK,
  FAILOVER_RUNBOOK,
  machineDiagram,
  runbookSteps,
} from '../../src/machine/index.js';

describe('machineDiagram', () => {
  it('draws the failover operation with its own stages and steps only', () => {
    const diagram = machineDiagram('failover');
    expect(diagram.startsWith('stateDiagram-v2\n  [*] --> preflight\n')).toBe(true);
    for (const step of runbookSteps(FAILOVER_RUNBOOK))
      expect(diagram).toContain(`state "${step}" as running_failover_`);
    for (const step of runbookSteps(FAILBACK_RUNBOOK)) expect(diagram).not.toContain(`"${step}"`);
    expect(diagram).toContain('state "stage-3" as running_failover_stage_3 {');
    expect(diagram).not.toContain('stage-4');
    // The three steps of stage 1 (data tier and capacity) are drawn as concurrent regions.
    expect(diagram).toMatch(
      /state "promote-database"[\s\S]*?\n {8}--\n {8}state "promote-cache"[\s\S]*?\n {8}--\n {8}state "scale-secondary"/,
    );
  });

  it('shows approval, expiry, pause and the way back from a pause', () => {
    const diagram = machineDiagram('failover');
    expect(diagram).toContain('awaitingApproval --> recheck: APPROVE [approvalCompletes]');
    expect(diagram).toContain('awaitingApproval --> expired: TICK [pastDeadline]');
    expect(diagram).toContain('awaitingApproval --> expired: deadline');
    expect(diagram).toContain('recheck --> running_failover: done [planUnchanged]');
    expect(diagram).toContain(
      'running_failover_stage_2 --> paused_failover_stage_2: stage finished [stageFailed]',
    );
    expect(diagram).toContain(
      'paused_failover_stage_2 --> running_failover_stage_2: RETRY [allowed]',
    );
    expect(diagram).toContain(
      'paused_failover_stage_2 --> running_failover_stage_3: SKIP [allowed]',
    );
    expect(diagram).toContain('running_failover_stage_3 --> completed: stage finished');
  });

  it('draws the failback operation with its seven stages', () => {
    const diagram = machineDiagram('failback');
    expect(diagram).toContain('running_failback_stage_7 --> completed: stage finished');
    expect(diagram).not.toContain('stage-8');
    expect(diagram).toContain('state "scale-primary" as running_failback_stage_2_scale_primary {');
    expect(diagram).toContain('state "resync-cache" as running_failback_stage_2_resync_cache {');
    expect(diagram).not.toContain('promote-database');
  });
});
