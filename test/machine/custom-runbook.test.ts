/** Custom steps join the plan: placed in their lane or after their anchor's stage, and bound by the plan hash. */
import { parseConfig, customRunbooks } from '../../src/config/index.js';
import { computePlanHash, createOperationMachine } from '../../src/machine/index.js';
import { createActor } from 'xstate';
import type { PreflightReport } from '../../src/domain/types.js';

const config = (argv: string) =>
  parseConfig(
    `environment: staging
regions: { primary: { name: a }, secondary: { name: b } }
slack: { incidentChannel: C0123ABCD }
approvals: { approvers: [U0123ALICE] }
runbook:
  steps:
    - { id: pause, title: Pause consumers, beside: promote-database, command: { argv: ["${argv}"] } }
    - { id: page, title: Status page, after: switch-dns, operations: [failover], http: { url: "http://x.internal/" } }
    - { id: tell, title: Tell support, after: page, manual: { text: go } }
`,
    'dr.config.yaml',
  );

const REPORT: PreflightReport = { mode: 'planned', components: [] } as unknown as PreflightReport;

it('places custom steps beside and after their anchors, in the runbooks that hold them', () => {
  const runbooks = customRunbooks(config('true').runbook.steps);
  expect(runbooks.failover.stages).toEqual([
    ['promote-database', 'promote-cache', 'scale-secondary', 'custom:pause'],
    ['switch-dns'],
    ['custom:page'],
    ['custom:tell'],
    ['verify-secondary'],
  ]);
  // `page` is failover only, so `tell` (anchored on it) is too; `pause` joins the drill's failover half.
  expect(runbooks.drill.stages[1]).toContain('custom:pause');
  expect(runbooks.drill.stages.flat()).not.toContain('custom:page');
  expect(runbooks.failback.custom).toBeUndefined();
});

it('binds approvals to what the custom steps do', () => {
  const hash = (argv: string) => {
    const runbooks = customRunbooks(config(argv).runbook.steps);
    const actor = createActor(createOperationMachine({ runbooks }), {
      input: {
        id: 'op-1',
        env: 'staging',
        kind: 'failover',
        requestedMode: 'auto',
        requester: 'U1',
        reason: 'r',
        createdAt: 0,
        requiredApprovals: 1,
        approvalTimeoutMs: 60_000,
      },
    });
    const c = actor.getSnapshot().context;
    expect(c.steps.find((s) => s.id === 'custom:pause')?.title).toBe('Pause consumers');
    return computePlanHash('op-1', 'failover', REPORT, c.runbook!.flat(), c.custom);
  };
  expect(hash('true')).toBe(hash('true'));
  expect(hash('true')).not.toBe(hash('/opt/other.sh'));
  expect(hash('true')).not.toBe(computePlanHash('op-1', 'failover', REPORT, ['promote-database']));
});
