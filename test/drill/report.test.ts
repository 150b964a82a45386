/**
 * The drill report's verdicts from recorded data: targets missed, lost writes, a drill that
 * did not complete, and what changed since the previous drill.
 */
import type { OperationView, RpoMeasurement, StepState } from '../../src/domain/types.js';
import { DRILL_RUNBOOK, STEP_TITLES, runbookSteps } from '../../src/machine/runbook.js';
import {
  buildDrillReport,
  renderDrillMarkdown,
  renderDrillSummary,
  renderMeasuresTable,
  summaryOf,
  type DrillMeasure,
  type DrillReport,
} from '../../src/report/index.js';

const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);
const TARGETS = { rtoMinutes: 30, rpoMinutes: 5, rpoMinutesByComponent: { cache: 1 } };

/** A completed drill whose steps ran one after another, `ms` each (or as given). */
function drillView(
  opts: {
    id?: string;
    ms?: Partial<Record<StepState['id'], number>>;
    loadRpo?: RpoMeasurement[];
    phase?: OperationView['phase'];
  } = {},
): OperationView {
  const approvedAt = T0 + 60_000;
  let at = approvedAt + 100;
  const steps: StepState[] = runbookSteps(DRILL_RUNBOOK).map((id) => {
    const startedAt = at;
    at += opts.ms?.[id] ?? 1000;
    const s: StepState = {
      id,
      title: STEP_TITLES[id],
      status: 'succeeded',
      attempts: 1,
      startedAt,
      finishedAt: at,
      summary: `${id} done`,
      evidence: { ok: true },
    };
    if (id === 'stop-write-load')
      s.rpo = opts.loadRpo ?? [
        {
          component: 'database',
          source: 'write-load',
          bytes: null,
          seconds: 0,
          description: 'zero loss: 0 of 300 acknowledged rows missing on the primary',
        },
      ];
    return s;
  });
  const verified = steps.find((s) => s.id === 'verify-secondary')!;
  return {
    id: opts.id ?? 'DR-20261125-093015',
    env: 'prod',
    kind: 'drill',
    requestedMode: 'planned',
    mode: 'planned',
    requester: 'U0ALICE',
    reason: 'Q4 drill',
    phase: opts.phase ?? 'completed',
    currentSteps: [],
    steps,
    approvals: [{ userId: 'U0BOB', at: approvedAt, planHash: 'abc' }],
    requiredApprovals: 1,
    createdAt: T0,
    approvedAt,
    finishedAt: at,
    rtoMs: verified.finishedAt! - approvedAt,
  };
}

/** A drill's report with only these object-storage / Kubernetes readings (no timeline, no previous drill). */
function measuredReport(measures: DrillMeasure[]): DrillReport {
  return buildDrillReport({
    view: drillView(),
    timeline: [],
    targets: TARGETS,
    previous: null,
    now: T0,
    measures,
  });
}

test('a drill within its targets passes, with RTO for both halves and the write-load RPO against the per-component target', () => {
  const report = buildDrillReport({
    view: drillView(),
    timeline: [],
    targets: TARGETS,
    previous: null,
    now: T0 + 3_600_000,
  });
  expect(report.passed).toBe(true);
  expect(report.rto).toEqual([
    { phase: 'failover', ms: 6100, targetMinutes: 30, pass: true },
    { phase: 'failback', ms: 8000, targetMinutes: 30, pass: true },
  ]);
  expect(renderMeasuresTable(report)).toBe(
    [
      'measure                    value      target  result',
      'RTO failover               6.1 s      30 min  pass',
      'RTO failback               8.0 s      30 min  pass',
      'RPO database (write load)  zero loss  5 min   pass',
    ].join('\n'),
  );
  expect(report.deviations).toEqual([]);
});

test('a missed RTO, writes lost beyond the cache target and a drill that was aborted all fail it and are named', () => {
  const slow = drillView({
    ms: { 'switch-dns': 31 * 60_000 },
    loadRpo: [
      {
        component: 'cache',
        source: 'write-load',
        bytes: null,
        seconds: 90,
        description: '12 of 900 acknowledged INCRs missing',
      },
    ],
  });
  const report = buildDrillReport({
    view: slow,
    timeline: [],
    targets: TARGETS,
    previous: null,
    now: T0,
  });
  expect(report.passed).toBe(false);
  expect(report.deviations).toEqual([
    'Failover RTO 31 min 5 s is over the 30 min target.',
    'RPO cache 1 min 30 s is over the 1 min target (12 of 900 acknowledged INCRs missing).',
  ]);
  expect(renderDrillMarkdown(report)).toContain(
    '| RPO cache (write load) | 1 min 30 s | 1 min | FAIL |',
  );

  const aborted = buildDrillReport({
    view: drillView({ phase: 'aborted' }),
    timeline: [],
    targets: TARGETS,
    previous: null,
    now: T0,
  });
  expect(aborted.passed).toBe(false);
  expect(aborted.deviations[0]).toBe('The drill did not complete: it ended aborted.');
});

test('the comparison names what changed since the previous drill, including a step that got much slower', () => {
  const before = buildDrillReport({
    view: drillView({ id: 'DR-20260825-0001' }),
    timeline: [],
    targets: TARGETS,
    previous: null,
    now: T0,
  });
  const now = buildDrillReport({
    view: drillView({ ms: { 'resync-database': 9000, 'switch-dns': 1200 } }),
    timeline: [],
    targets: TARGETS,
    previous: summaryOf(before),
    now: T0,
  });
  expect(now.comparison).toEqual([
    `Previous drill: DR-20260825-0001 on ${new Date(before.finishedAt).toISOString().slice(0, 10)}, passed.`,
    'Failover RTO: 6.3 s vs 6.1 s (+200 ms, slower).',
    'Failback RTO: 16.0 s vs 8.0 s (+8.0 s, slower).',
    'RPO database: 0 ms, unchanged.',
    'Total: 26.3 s vs 18.1 s (+8.2 s, slower).',
    'Step resync-database took 9.0 s vs 1.0 s (+8.0 s, slower).',
  ]);
});

describe('object storage and Kubernetes state rows', () => {
  const measured: DrillMeasure[] = [
    {
      component: 'kubernetes',
      status: 'measured',
      seconds: 3 * 3600,
      targetMinutes: 24 * 60,
      description:
        'newest completed Velero backup nightly finished 3 h 0 min before the failover began',
    },
    {
      component: 'object-storage',
      status: 'measured',
      seconds: 2.5,
      targetMinutes: 1,
      description: 'canary appeared after 2.5 s',
    },
  ];

  test('measured within their targets they pass, in a fixed order, and are compared with the previous drill', () => {
    const report = buildDrillReport({
      view: drillView(),
      timeline: [],
      targets: TARGETS,
      previous: null,
      now: T0,
      measures: measured,
    });
    expect(report.passed).toBe(true);
    expect(report.deviations).toEqual([]);
    expect(renderMeasuresTable(report).split('\n').slice(4)).toEqual([
      'RPO object-storage (canary)     2.5 s      1 min   pass',
      'RPO kubernetes (Velero backup)  3 h 0 min  24 h    pass',
    ]);
    const next = buildDrillReport({
      view: drillView({ id: 'DR-20261126-0001' }),
      timeline: [],
      targets: TARGETS,
      previous: summaryOf(report),
      now: T0,
      measures: [{ ...measured[1], seconds: 4 }, measured[0]],
    });
    expect(next.comparison).toContain('RPO object-storage: 4.0 s vs 2.5 s (+1.5 s, slower).');
    expect(next.comparison).toContain('RPO kubernetes: 3 h 0 min, unchanged.');
  });

  test('a canary that never arrived, a backup over its target and a failed reading are named; only the first two fail it', () => {
    const report = measuredReport([
      {
        component: 'object-storage',
        status: 'measured',
        seconds: null,
        targetMinutes: 1,
        description: 'canary has not appeared within the RPO of 60 s',
      },
      {
        component: 'kubernetes',
        status: 'measured',
        seconds: 30 * 3600,
        targetMinutes: 24 * 60,
        description:
          'newest completed Velero backup nightly finished 30 h 0 min before the failover began',
      },
    ]);
    expect(report.passed).toBe(false);
    expect(report.deviations).toEqual([
      'RPO object-storage is over the 1 min target: canary has not appeared within the RPO of 60 s.',
      'RPO kubernetes 30 h 0 min is over the 24 h target (newest completed Velero backup nightly finished 30 h 0 min before the failover began).',
    ]);
    expect(renderDrillMarkdown(report)).toContain(
      '| RPO object-storage (canary) | not replicated | 1 min | FAIL |',
    );

    const unread = measuredReport([
      {
        component: 'kubernetes',
        status: 'failed',
        seconds: null,
        targetMinutes: 24 * 60,
        description: 'the Velero backups could not be read: forbidden',
      },
    ]);
    expect(unread.passed).toBe(true);
    expect(unread.deviations).toEqual([
      'RPO kubernetes was not measured: the Velero backups could not be read: forbidden.',
    ]);
    expect(renderDrillMarkdown(unread)).toContain(
      '| RPO kubernetes (Velero backup) | not measured | 24 h | — |',
    );
  });

  test('components the config does not have get a "not configured" row, and no deviation', () => {
    const report = measuredReport([
      {
        component: 'object-storage',
        status: 'not-configured',
        seconds: null,
        targetMinutes: 1,
        description: 'not configured (no components.objectStorage)',
      },
      {
        component: 'kubernetes',
        status: 'not-configured',
        seconds: null,
        targetMinutes: 24 * 60,
        description: 'not configured (no components.kubernetes)',
      },
    ]);
    expect(report.passed).toBe(true);
    expect(report.deviations).toEqual([]);
    const md = renderDrillMarkdown(report);
    expect(md).toContain('| RPO object-storage (canary) | not configured | — | — |');
    expect(md).toContain('| RPO kubernetes (Velero backup) | not configured | — | — |');
  });
});

test('readiness read after the failback closes the summary; a row not ok is a deviation, one never read says so', () => {
  const report = buildDrillReport({
    view: drillView(),
    timeline: [],
    targets: TARGETS,
    previous: null,
    now: T0,
    afterDrill: [
      {
        id: 'standby-cost',
        title: 'Standby footprint',
        status: 'degraded',
        detail: 'the standby is above its standby counts by 2 replica(s): api 3 (standby 1, +2)',
        measured: 'secondary 3 replicas',
        target: 'secondary at its standby counts',
      },
      {
        id: 'terraform-state',
        title: 'Terraform state',
        status: 'unknown',
        detail: 'could not be read: access denied',
        measured: null,
        target: null,
      },
    ],
  });
  expect(report.deviations).toEqual([
    'After the drill, Standby footprint: the standby is above its standby counts by 2 replica(s): api 3 (standby 1, +2).',
    'After the drill, Terraform state: could not be read: access denied.',
  ]);
  expect(renderDrillSummary(report).split('\n').slice(-2)).toEqual([
    '• After the drill, Standby footprint: NOT OK — the standby is above its standby counts by 2 replica(s): api 3 (standby 1, +2)',
    '• After the drill, Terraform state: not read — could not be read: access denied',
  ]);
  // Reports stored before these rows existed render as before: no such section.
  expect(renderDrillMarkdown({ ...report, afterDrill: undefined })).not.toContain(
    '## After the drill',
  );
});
