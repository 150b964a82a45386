import type { CustomStepPlan, OperationKind, Runbook, StepId } from '../domain/types.js';

/**
 * The runbooks, as data. The operation machine's states are generated from these, so a persisted
 * snapshot (and a diagram) names the step it is in. Steps of one stage run in parallel: the
 * critical path. Scaling needs no data, so it runs beside the data tier from approval; DNS waits
 * for both, so users never land in a region still at standby size.
 */
export const FAILOVER_RUNBOOK: Runbook = {
  kind: 'failover',
  stages: [
    ['promote-database', 'promote-cache', 'scale-secondary'],
    ['switch-dns'],
    ['verify-secondary'],
  ],
};

export const FAILBACK_RUNBOOK: Runbook = {
  kind: 'failback',
  stages: [
    ['verify-primary'],
    // The primary reaches production size while the data resyncs, before DNS goes back to it.
    ['resync-database', 'resync-cache', 'scale-primary'],
    ['verify-consistency'],
    ['promote-primary'],
    ['switch-dns-back'],
    ['verify-primary-serving'],
    // The secondary keeps its capacity until DNS is back and the primary verified serving.
    ['demote-secondary', 'scale-secondary-down'],
  ],
};

/**
 * A drill: the failover and the failback as one approved operation, with a write load running
 * through both (so RPO is measured from acknowledged writes) and integration tests against the
 * secondary while it serves. RTO ends when the secondary verifies green, as in a real failover.
 */
export const DRILL_RUNBOOK: Runbook = {
  kind: 'drill',
  stages: [
    ['start-write-load'],
    ...FAILOVER_RUNBOOK.stages,
    ['run-integration-tests'],
    ...FAILBACK_RUNBOOK.stages,
    ['stop-write-load'],
  ],
  rtoStep: 'verify-secondary',
};

export const RUNBOOKS: Record<OperationKind, Runbook> = {
  failover: FAILOVER_RUNBOOK,
  failback: FAILBACK_RUNBOOK,
  drill: DRILL_RUNBOOK,
};

/** Titles shown on the status card; the step files use the same ones. */
export const STEP_TITLES: Record<StepId, string> = {
  'promote-database': 'Promote secondary database',
  'promote-cache': 'Promote secondary cache',
  'switch-dns': 'Switch DNS to secondary',
  'scale-secondary': 'Scale secondary to production',
  'verify-secondary': 'Verify secondary',
  'verify-primary': 'Verify primary region',
  'resync-database': 'Resync primary database',
  'resync-cache': 'Resync primary cache',
  'verify-consistency': 'Verify data consistency',
  'promote-primary': 'Switch writes back to primary',
  'scale-primary': 'Scale primary to production',
  'switch-dns-back': 'Switch DNS back to primary',
  'demote-secondary': 'Demote secondary to standby',
  'scale-secondary-down': 'Scale secondary to standby',
  'verify-primary-serving': 'Verify primary',
  'start-write-load': 'Start drill write load',
  'run-integration-tests': 'Integration tests on secondary',
  'stop-write-load': 'Stop write load, measure RPO',
};

export function runbookSteps(runbook: Runbook): StepId[] {
  return runbook.stages.flat();
}

function describeStages(stages: readonly (readonly string[])[]): string {
  return stages.map((stage) => stage.join(' + ')).join(' → ');
}

/**
 * Why an operation stored with `stored` stages (or, in older snapshots, only its `steps`) cannot
 * be resumed by this version's runbook of `kind`; null when it can.
 */
export function runbookChange(
  kind: string,
  stored: readonly (readonly string[])[] | undefined,
  steps: readonly { id: string }[],
  runbooks: Readonly<Record<OperationKind, Runbook>> = RUNBOOKS,
  storedCustom?: readonly CustomStepPlan[],
): string | null {
  const runbook = (runbooks as Record<string, Runbook | undefined>)[kind];
  if (!runbook) return `this version of dr-bot has no "${kind}" runbook`;
  // Same ids but another argv, URL or text: not what was approved.
  if (JSON.stringify(storedCustom ?? []) !== JSON.stringify(runbook.custom ?? []))
    return `the custom steps of the ${kind} runbook (config runbook.steps) changed since it started`;
  if (stored) {
    if (JSON.stringify(stored) === JSON.stringify(runbook.stages)) return null;
    return `the ${kind} runbook changed since it started (then: ${describeStages(stored)}; now: ${describeStages(runbook.stages)})`;
  }
  const ids = steps.map((s) => s.id);
  if (JSON.stringify(ids) === JSON.stringify(runbookSteps(runbook))) return null;
  return `the ${kind} runbook changed since it started (then: ${ids.join(', ')}; now: ${describeStages(runbook.stages)})`;
}
