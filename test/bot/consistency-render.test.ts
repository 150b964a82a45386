/**
 * What the consistency check proved, as people read it: on the status card paused before the
 * switch back, in the step's thread reply, in the console and in the drill report. Never
 * "consistent" for a table that was sampled or still changing.
 */
import { renderCard, renderStepReply } from '../../src/bot/render.js';
import { renderStatus } from '../../src/console/render.js';
import type { ConsistencyScope } from '../../src/domain/consistency.js';
import type { OperationView, StepState, TimelineEntry } from '../../src/domain/types.js';
import { buildDrillReport, renderDrillMarkdown } from '../../src/report/index.js';

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const targets = { rtoMinutes: 30, rpoMinutes: 5 };

const scope = (over: Partial<ConsistencyScope>): ConsistencyScope => ({
  component: 'database',
  name: 'orders',
  method: 'sum(hash_record_extended) over ranges of 2778 blocks (PostgreSQL 15)',
  unit: 'chunk',
  total: 300,
  equal: 300,
  different: 0,
  changing: 0,
  sampled: false,
  rowsEqual: 30_000_000,
  differences: [],
  changingRanges: [],
  ...over,
});

const scopes: ConsistencyScope[] = [
  scope({}),
  scope({ name: 'customers', total: 200, equal: 80, sampled: true, rowsEqual: 8_000_000 }),
  scope({
    name: 'payments',
    total: 10,
    equal: 8,
    different: 1,
    changing: 1,
    rowsEqual: 800_000,
    differences: ['id 120001..220000 (blocks 1200–2199): id=123456 differs'],
    changingRanges: ['blocks 9000–end'],
  }),
  scope({
    component: 'cache',
    name: 'keyspace',
    unit: 'key',
    total: 120_000,
    equal: 1000,
    sampled: true,
    rowsEqual: 1000,
  }),
];

const consistencyStep = (status: StepState['status']): StepState => ({
  id: 'verify-consistency',
  title: 'Verify data consistency',
  status,
  attempts: 1,
  startedAt: T0 + 60_000,
  finishedAt: T0 + 120_000,
  summary: 'primary and secondary compared',
  checks: [],
  consistency: scopes,
});

function view(over: Partial<OperationView> = {}): OperationView {
  return {
    id: 'DR-20261201-0001',
    env: 'prod',
    kind: 'failback',
    requestedMode: 'planned',
    mode: 'planned',
    requester: 'U0ALICE',
    reason: 'eu-west-1 is back',
    phase: 'paused',
    currentSteps: ['verify-consistency'],
    steps: [consistencyStep('failed')],
    approvals: [{ userId: 'U0BOB', at: T0, planHash: 'ph' }],
    requiredApprovals: 1,
    createdAt: T0,
    ...over,
  };
}

const allText = (m: { blocks: unknown[] }) => JSON.stringify(m.blocks);

test('the card paused before the switch back shows the table a person decides on, Skip says what it means', () => {
  const card = renderCard(view(), targets);
  const text = allText(card);
  expect(text).toContain('*Before the switch back*: what the consistency check proved');
  const table = /```\\n([^`]*)\\n```/.exec(text)![1]!.split('\\n');
  expect(table[0]).toMatch(/^scope +result +compared$/);
  expect(table[1]).toMatch(/^postgres orders +consistent +300\/300 chunks equal, 30,000,000 rows$/);
  expect(table[2]).toMatch(
    /^postgres customers +sampled 40 % +80\/200 chunks equal, 8,000,000 rows, 120 not compared$/,
  );
  expect(table[3]).toMatch(
    /^postgres payments +DIFFERENT +8\/10 chunks equal, 800,000 rows, 1 different, 1 changing$/,
  );
  // Where to look, on its own line under the row: never cut off.
  expect(table[4]).toBe(
    '  ↳ different: id 120001..220000 (blocks 1200–2199): id=123456 differs · changing: blocks 9000–end',
  );
  expect(table[5]).toMatch(/^redis keyspace +sampled 0.83 % +1,000\/120,000 keys equal/);
  expect(text).toContain('switches back without a passing consistency check');
});

test('once the check passed, the card still says what was proven, and the thread reply carries the table', () => {
  const passed = view({ phase: 'running', currentSteps: ['promote-primary'] });
  passed.steps = [consistencyStep('succeeded')];
  expect(allText(renderCard(passed, targets))).toContain(
    '*Consistency*: what the check proved before the switch back',
  );
  const entry: TimelineEntry = {
    type: 'StepSucceeded',
    stepId: 'verify-consistency',
    outcome: {
      result: 'done',
      summary: 'primary and secondary compared',
      evidence: {},
      consistency: scopes,
    },
    durationMs: 60_000,
    opId: passed.id,
    at: T0 + 120_000,
  };
  const reply = allText(renderStepReply(entry, passed, targets)!);
  expect(reply).toContain('*Consistency*: what was compared');
  expect(reply).toContain('postgres customers');
  expect(reply).toContain('sampled 40 %');
});

test('the console status and the drill report show the same table', () => {
  const status = renderStatus(view());
  expect(status).toMatch(/postgres customers +sampled 40 %/);
  const drill = view({ kind: 'drill', phase: 'completed', currentSteps: [], finishedAt: T0 + 1e6 });
  drill.steps = [{ ...consistencyStep('succeeded'), consistency: [scopes[0]!, scopes[1]!] }];
  const report = buildDrillReport({ view: drill, timeline: [], targets, previous: null, now: T0 });
  const md = renderDrillMarkdown(report);
  expect(md).toContain('| scope | result | compared | look at |');
  expect(md).toContain(
    '| postgres customers | sampled 40 % | 80/200 chunks equal, 8,000,000 rows, 120 not compared |  |',
  );
  expect(report.deviations).toContain(
    'Verify data consistency: postgres customers was not wholly proven (sampled 40 %).',
  );
});
