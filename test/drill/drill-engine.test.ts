/**
 * A drill through the real engine and the real Redis with provider fakes: the report's numbers
 * are the ones the timeline recorded, it is kept in the store with drill:last, and the next drill
 * is compared with it.
 */
import pino from 'pino';
import {
  createDrillReporter,
  kubernetesMeasurer,
  objectStorageMeasurer,
  type DrillReporter,
} from '../../src/drill/index.js';
import type { TerraformStateCopy } from '../../src/providers/terraform-state.js';
import { standbyCostCheck } from '../../src/readiness/standby-cost.js';
import { terraformStateCheck } from '../../src/readiness/terraform-check.js';
import type { ReadinessCheck } from '../../src/readiness/types.js';
import type { TimelineEntry } from '../../src/domain/types.js';
import {
  createReportStore,
  drillLastKey,
  renderDrillMarkdown,
  type DrillReport,
  type ReportStore,
} from '../../src/report/index.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';
import { createFakeProviders } from '../support/fakes.js';

/** The listeners stand for the incident channel, whose delivery makes a report published. */
const SLACK = { name: 'slack', ofRecord: true };

let h: Harness;
let reports: ReportStore;
let reporter: DrillReporter;
const published: DrillReport[] = [];

beforeEach(async () => {
  h = await createHarness({ name: 'drill-engine' });
  reports = createReportStore({ redis: h.redis, prefix: h.prefix });
  reporter = createDrillReporter({
    engine: h.engine,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5, rpoMinutesByComponent: { cache: 1 } },
    log: pino({ level: 'silent' }),
  });
  published.length = 0;
  reporter.onReport((r) => {
    published.push(r);
  }, SLACK);
});

afterEach(async () => {
  reporter.stop();
  await h.close();
});

async function runDrill(
  reason = 'quarterly drill',
): Promise<{ id: string; report: DrillReport; timeline: TimelineEntry[] }> {
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason,
  });
  if (!req.ok) throw new Error(req.message);
  const id = req.op.id;
  await inPhase(h.engine, id, 'awaitingApproval');
  const approved = await h.engine.approve({
    opId: id,
    userId: APPROVER,
    planHash: req.op.planHash ?? (await h.engine.get(id))!.planHash!,
  });
  expect(approved.ok).toBe(true);
  await inPhase(h.engine, id, 'completed');
  await reporter.idle();
  const report = await reports.get(id);
  if (!report) throw new Error(`no report stored for ${id}`);
  return { id, report, timeline: await h.engine.timeline(id) };
}

test('a drill fails over, tests the secondary and fails back, and its report holds what the timeline recorded', async () => {
  const { id, report, timeline } = await runDrill();
  expect(report).toMatchObject({
    opId: id,
    env: 'prod',
    requester: REQUESTER,
    approvers: [APPROVER],
    phase: 'completed',
    passed: true,
    deviations: [],
  });
  expect(await h.world.get('database.writer')).toBe('primary');
  expect(await h.world.get('dns.target')).toBe('primary');

  // Every step's duration is the one its StepSucceeded entry recorded, and lies inside the timeline's times.
  const succeeded = timeline.filter((e) => e.type === 'StepSucceeded');
  // Steps of one stage run in parallel, so they may finish in either order.
  expect(report.steps.map((s) => s.id).sort()).toEqual(succeeded.map((e) => e.stepId).sort());
  const first = timeline[0].at;
  const last = timeline.at(-1)!.at;
  for (const s of report.steps) {
    const entry = succeeded.find((e) => e.stepId === s.id)!;
    expect(s.durationMs).toBe(entry.durationMs);
    expect(s.startedAt!).toBeGreaterThanOrEqual(first);
    expect(s.finishedAt!).toBeLessThanOrEqual(last);
  }

  // RTO: approval to the secondary verified green, against the target.
  const verified = report.steps.find((s) => s.id === 'verify-secondary')!;
  expect(report.rto[0]).toEqual({
    phase: 'failover',
    ms: verified.finishedAt! - report.approvedAt!,
    targetMinutes: 30,
    pass: true,
  });
  expect(report.rto[1].ms).toBe(
    report.steps.find((s) => s.id === 'verify-primary-serving')!.finishedAt! -
      report.steps.find((s) => s.id === 'verify-primary')!.startedAt!,
  );

  // RPO from the write load, with the per-component target; the load wrote on both sides.
  const load = report.rpo.filter((r) => r.source === 'write-load');
  expect(load.map((r) => [r.component, r.seconds, r.targetMinutes, r.pass])).toEqual([
    ['database', 0, 5, true],
    ['cache', 0, 1, true],
  ]);
  const stop = report.steps.find((s) => s.id === 'stop-write-load')!;
  expect(stop.evidence).toMatchObject({ database: { lost: 0 }, cache: { lost: 0 } });
  const tests = report.steps.find((s) => s.id === 'run-integration-tests')!;
  expect(tests.checks?.map((c) => [c.name, c.ok])).toEqual([
    ['secondary /healthz', true],
    ['drill writes to the secondary database', true],
    ['drill writes to the secondary cache', true],
  ]);

  // Kept in the store, published once, and drill:last says when it finished.
  expect(published.map((r) => r.opId)).toEqual([id]);
  expect(Number(await h.redis.get(drillLastKey(h.prefix, 'prod')))).toBe(report.finishedAt);
  expect(report.comparison).toEqual([
    'This is the first recorded drill of this environment: nothing to compare with.',
  ]);

  const md = renderDrillMarkdown(report);
  expect(md).toContain(`# Drill report ${id} — PASSED`);
  expect(md).toContain('| RTO failover |');
  expect(md).toContain('| Integration tests on secondary | succeeded | 1 |');
});

test('lost writes and a skipped failing step are deviations; the next drill is compared with the previous one', async () => {
  const first = await runDrill('Q3 drill');

  await h.world.set('writeLoad.lostWrites', '4');
  await h.world.set('verification.secondary', 'false');
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason: 'Q4 drill',
  });
  if (!req.ok) throw new Error(req.message);
  const id = req.op.id;
  await inPhase(h.engine, id, 'awaitingApproval');
  await h.engine.approve({
    opId: id,
    userId: APPROVER,
    planHash: (await h.engine.get(id))!.planHash!,
  });
  // verify-secondary fails first; the approver accepts it and later the integration tests too.
  await inPhase(h.engine, id, 'paused');
  expect((await h.engine.skip({ opId: id, userId: APPROVER })).ok).toBe(true);
  await inPhase(h.engine, id, 'paused');
  expect((await h.engine.get(id))!.currentSteps).toEqual(['run-integration-tests']);
  expect((await h.engine.skip({ opId: id, userId: APPROVER })).ok).toBe(true);
  await inPhase(h.engine, id, 'completed');
  await reporter.idle();
  const report = (await reports.get(id))!;

  expect(report.passed).toBe(false);
  expect(report.rto[0]).toMatchObject({ phase: 'failover', ms: null, pass: null });
  expect(report.deviations).toEqual(
    expect.arrayContaining([
      expect.stringContaining('Verify secondary failed'),
      `Verify secondary was skipped by ${APPROVER}.`,
      `Integration tests on secondary was skipped by ${APPROVER}.`,
      expect.stringMatching(
        /^Acknowledged writes were lost \(database\): 4 of \d+ acknowledged writes missing/,
      ),
    ]),
  );
  expect(report.previous?.opId).toBe(first.id);
  expect(report.comparison[0]).toBe(
    `Previous drill: ${first.id} on ${new Date(first.report.finishedAt).toISOString().slice(0, 10)}, passed.`,
  );
  expect(report.comparison).toContain(
    'Failover RTO: not comparable (not measured in both drills).',
  );
  expect(await reports.previous('prod')).toMatchObject({ opId: id, passed: false });
});

test('dr report can rebuild the report of a finished drill that has none stored; a failover gets none', async () => {
  reporter.stop();
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason: 'no reporter',
  });
  if (!req.ok) throw new Error(req.message);
  await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({
    opId: req.op.id,
    userId: APPROVER,
    planHash: (await h.engine.get(req.op.id))!.planHash!,
  });
  await inPhase(h.engine, req.op.id, 'completed');
  expect(await reports.get(req.op.id)).toBeNull();
  expect(await reporter.reportFor(req.op.id)).toMatchObject({ opId: req.op.id, passed: true });
  expect(await reports.get(req.op.id)).not.toBeNull();
  expect(await reporter.reportFor('DR-20000101-0001')).toBeNull();
});

test('a bot restarted mid-drill finishes it without the write load: integration tests still run, the lost RPO measurement is a deviation', async () => {
  // Twice: the head start at approval, then the scale step.
  h.world.fail('cluster.scale', 2);
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason: 'restart drill',
  });
  if (!req.ok) throw new Error(req.message);
  const id = req.op.id;
  await inPhase(h.engine, id, 'awaitingApproval');
  await h.engine.approve({
    opId: id,
    userId: APPROVER,
    planHash: (await h.engine.get(id))!.planHash!,
  });
  await inPhase(h.engine, id, 'paused');
  await h.engine.stop();
  reporter.stop();

  // Another bot process takes over: its providers never started this drill's write load.
  const restarted = h.another();
  const after = createDrillReporter({
    engine: restarted,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
  });
  await restarted.start();
  expect((await restarted.retry({ opId: id, userId: APPROVER })).ok).toBe(true);
  const paused = await inPhase(restarted, id, 'paused');
  expect(paused.currentSteps).toEqual(['stop-write-load']);
  expect(paused.lastError?.message).toMatch(
    /^the write load of DR-\S+ is not running in this process/,
  );
  const tests = paused.steps.find((s) => s.id === 'run-integration-tests')!;
  expect(tests.status).toBe('succeeded');
  expect(tests.evidence?.writeLoad).toBe(
    'not running in this process (bot restarted?): writes to the secondary not checked',
  );

  expect((await restarted.skip({ opId: id, userId: APPROVER })).ok).toBe(true);
  await inPhase(restarted, id, 'completed');
  await after.idle();
  after.stop();
  const report = (await reports.get(id))!;
  expect(report.passed).toBe(false);
  expect(report.deviations).toEqual(
    expect.arrayContaining([
      `Stop write load, measure RPO was skipped by ${APPROVER}.`,
      'RPO was not measured from a write load (no PostgreSQL or Redis configured, or the load step was skipped).',
    ]),
  );
});

test('object storage and Kubernetes state are read at their moments of the drill; a drill aborted before the secondary served has no canary reading', async () => {
  reporter.stop();
  const calls: { id: string; at: number }[] = [];
  const BACKUP_AT = Date.now() - 2 * 3_600_000;
  // The readiness checks' shape, answering as the real ones do (their evidence is what the measurers read).
  const velero: ReadinessCheck = {
    id: 'velero',
    title: 'Velero backup',
    run: async () => {
      calls.push({ id: 'velero', at: Date.now() });
      return {
        status: 'ok',
        detail: 'newest completed backup nightly',
        measured: '2 h old',
        target: '< 24 h',
        evidence: { newest: 'nightly', completedAt: new Date(BACKUP_AT).toISOString() },
      };
    },
  };
  const canary: ReadinessCheck = {
    id: 'object-storage',
    title: 'Object storage replication',
    run: async () => {
      calls.push({ id: 'object-storage', at: Date.now() });
      return {
        status: 'ok',
        detail: 'canary appeared after 0.7 s',
        measured: '0.7 s',
        target: '≤ 60 s',
        evidence: { seconds: 0.7 },
      };
    },
  };
  const measured = createDrillReporter({
    engine: h.engine,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
    measures: {
      measurers: [objectStorageMeasurer(canary, 60), kubernetesMeasurer(velero, 24 * 60)],
      notConfigured: [],
    },
  });
  try {
    const { id, report } = await (async () => {
      const req = await h.engine.request({
        kind: 'drill',
        mode: 'planned',
        requester: REQUESTER,
        reason: 'measured drill',
      });
      if (!req.ok) throw new Error(req.message);
      await inPhase(h.engine, req.op.id, 'awaitingApproval');
      await h.engine.approve({
        opId: req.op.id,
        userId: APPROVER,
        planHash: (await h.engine.get(req.op.id))!.planHash!,
      });
      await inPhase(h.engine, req.op.id, 'completed');
      await measured.idle();
      return { id: req.op.id, report: (await reports.get(req.op.id))! };
    })();
    expect(calls.map((c) => c.id)).toEqual(['velero', 'object-storage']);
    const tests = report.steps.find((s) => s.id === 'run-integration-tests')!;
    const promote = report.steps.find((s) => s.id === 'promote-database')!;
    expect(calls[0].at).toBeGreaterThanOrEqual(report.approvedAt!);
    expect(calls[1].at).toBeGreaterThanOrEqual(tests.startedAt!);
    expect(calls[1].at).toBeGreaterThanOrEqual(promote.finishedAt!);
    const rows = report.rpo.filter((r) => r.source === 'canary' || r.source === 'velero-backup');
    expect(rows.map((r) => [r.component, r.seconds, r.pass])).toEqual([
      ['object-storage', 0.7, true],
      // Aged at the approval, when the failover began, not when it was read.
      ['kubernetes', Math.round((report.approvedAt! - BACKUP_AT) / 1000), true],
    ]);
    expect(report.passed).toBe(true);
    expect(id).toBe(report.opId);

    // Paused at scaling, then aborted: the secondary never served, so there was no moment for the canary.
    calls.length = 0;
    // Twice: the head start at approval, then the scale step.
    h.world.fail('cluster.scale', 2);
    const req = await h.engine.request({
      kind: 'drill',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'aborted drill',
    });
    if (!req.ok) throw new Error(req.message);
    await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.approve({
      opId: req.op.id,
      userId: APPROVER,
      planHash: (await h.engine.get(req.op.id))!.planHash!,
    });
    await inPhase(h.engine, req.op.id, 'paused');
    expect((await h.engine.abort({ opId: req.op.id, userId: APPROVER, reason: 'enough' })).ok).toBe(
      true,
    );
    await inPhase(h.engine, req.op.id, 'aborted');
    await measured.idle();
    const aborted = (await reports.get(req.op.id))!;
    expect(calls.map((c) => c.id)).toEqual(['velero']);
    expect(aborted.rpo.find((r) => r.component === 'object-storage')).toMatchObject({
      seconds: null,
      pass: null,
      description:
        'the drill ended before the secondary served (it is read when the integration tests start)',
    });
    expect(aborted.deviations).toContain(
      'RPO object-storage was not measured: the drill ended before the secondary served (it is read when the integration tests start).',
    );
  } finally {
    measured.stop();
  }
});

test('a report another process stored while this one still measured (dr report right after the end) is not what this one publishes: it builds its own, with the measurements', async () => {
  reporter.stop();
  // A canary that takes its time: it answers when the test says so.
  let canaryDone: (() => void) | undefined;
  let started: () => void = () => undefined;
  const canaryStarted = new Promise<void>((resolve) => (started = resolve));
  const canary: ReadinessCheck = {
    id: 'object-storage',
    title: 'Object storage replication',
    run: () =>
      new Promise((resolve) => {
        canaryDone = () =>
          resolve({
            status: 'ok',
            detail: 'canary appeared after 40 s',
            measured: '40 s',
            target: '≤ 60 s',
            evidence: { seconds: 40 },
          });
        started();
      }),
  };
  const got: DrillReport[] = [];
  const measured = createDrillReporter({
    engine: h.engine,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
    measures: { measurers: [objectStorageMeasurer(canary, 60)], notConfigured: [] },
  });
  measured.onReport((r) => {
    got.push(r);
  }, SLACK);
  // `dr report` in another process, configured alike: it took no measurement of this drill.
  const elsewhere = createDrillReporter({
    engine: h.another(),
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
    measures: { measurers: [objectStorageMeasurer(canary, 60)], notConfigured: [] },
  });
  try {
    const req = await h.engine.request({
      kind: 'drill',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'slow canary',
    });
    if (!req.ok) throw new Error(req.message);
    await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.approve({
      opId: req.op.id,
      userId: APPROVER,
      planHash: (await h.engine.get(req.op.id))!.planHash!,
    });
    await canaryStarted;
    await inPhase(h.engine, req.op.id, 'completed');
    // The canary still waits; someone runs `dr report` (another process) and gets a report without it.
    const early = await elsewhere.reportFor(req.op.id);
    expect(early?.rpo.find((r) => r.component === 'object-storage')).toMatchObject({
      seconds: null,
      description: expect.stringContaining('the bot restarted'),
    });
    canaryDone!();
    await measured.idle();
    expect(got).toHaveLength(1);
    expect(got[0].rpo.find((r) => r.component === 'object-storage')).toMatchObject({
      seconds: 40,
      pass: true,
    });
    expect(
      (await reports.get(req.op.id))?.rpo.find((r) => r.component === 'object-storage'),
    ).toMatchObject({ seconds: 40 });
  } finally {
    measured.stop();
    elsewhere.stop();
  }
});

/** An operation run to the end with no reporter subscribed (the bot stopped before anything was reported). */
async function finishUnreported(kind: 'drill' | 'failover', reason: string): Promise<string> {
  reporter.stop();
  const req = await h.engine.request({ kind, mode: 'planned', requester: REQUESTER, reason });
  if (!req.ok) throw new Error(req.message);
  await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({
    opId: req.op.id,
    userId: APPROVER,
    planHash: (await h.engine.get(req.op.id))!.planHash!,
  });
  await inPhase(h.engine, req.op.id, 'completed');
  expect(await reports.get(req.op.id)).toBeNull();
  return req.op.id;
}

/**
 * A drill whose process dies holding the claim to publish its report (for `claimMs`): its own
 * reporter sees it finish but cannot publish, so no report is stored.
 */
async function drillDyingWithClaim(reason: string, claimMs: number): Promise<string> {
  reporter.stop();
  const dying = createDrillReporter({
    engine: h.engine,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
  });
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason,
  });
  if (!req.ok) throw new Error(req.message);
  const id = req.op.id;
  expect(await reports.claim(id, 'dead-process', claimMs)).toBe(true);
  await inPhase(h.engine, id, 'awaitingApproval');
  await h.engine.approve({
    opId: id,
    userId: APPROVER,
    planHash: (await h.engine.get(id))!.planHash!,
  });
  await inPhase(h.engine, id, 'completed');
  await dying.idle();
  dying.stop();
  return id;
}

/** A drill run to the end with no reporter subscribed: the bot stopped before its report was stored. */
async function drillWithoutReport(reason: string): Promise<string> {
  const id = await finishUnreported('drill', reason);
  expect(await h.redis.get(drillLastKey(h.prefix, 'prod'))).toBeNull();
  return id;
}

function restartedReporter(opts: { claimMs?: number } = {}): {
  reporter: DrillReporter;
  posted: string[];
  reports: DrillReport[];
} {
  const posted: string[] = [];
  const got: DrillReport[] = [];
  const r = createDrillReporter({
    engine: h.another(),
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
    ...opts,
  });
  r.onReport((report) => {
    posted.push(report.opId);
    got.push(report);
  }, SLACK);
  return { reporter: r, posted, reports: got };
}

/** One bot start: recover, and wait until what it recovered is published. */
async function start(r: { reporter: DrillReporter }): Promise<void> {
  await r.reporter.recover();
  await r.reporter.idle();
}

test('a drill whose report was lost to a restart gets it at the next start-up: stored, drill:last written, posted once even with two processes starting', async () => {
  const id = await drillWithoutReport('report lost');
  // Two bot processes starting at once (a rolling restart overlapping the old one).
  const a = restartedReporter();
  const b = restartedReporter();
  try {
    await Promise.all([a.reporter.recover(), b.reporter.recover()]);
    await Promise.all([a.reporter.idle(), b.reporter.idle()]);
    const report = await reports.get(id);
    expect(report).toMatchObject({ opId: id, phase: 'completed', passed: true });
    expect(Number(await h.redis.get(drillLastKey(h.prefix, 'prod')))).toBe(report!.finishedAt);
    expect([...a.posted, ...b.posted]).toEqual([id]);

    // A later start finds the report stored: nothing is posted again.
    await a.reporter.recover();
    expect([...a.posted, ...b.posted]).toEqual([id]);
  } finally {
    a.reporter.stop();
    b.reporter.stop();
  }
});

test('a publish claim left by a process that died mid-report is waited out, then the report is posted', async () => {
  const id = await drillWithoutReport('died while reporting');
  // The dead process claimed the report and never stored it; its claim runs out by itself.
  expect(await reports.claim(id, 'dead-process', 300)).toBe(true);
  const next = restartedReporter();
  try {
    const posted = new Promise<string>((resolve) =>
      next.reporter.onReport((r) => resolve(r.opId), SLACK),
    );
    await next.reporter.recover();
    expect(next.posted).toEqual([]);
    expect(await posted).toBe(id);
    await next.reporter.idle();
    expect(next.posted).toEqual([id]);
    expect(await reports.get(id)).toMatchObject({ opId: id });
  } finally {
    next.reporter.stop();
  }
});

test('a finished drill with its report stored, or a failover, is left alone at start-up', async () => {
  const { id } = await runDrill('reported live');
  expect(published.map((r) => r.opId)).toEqual([id]);
  const next = restartedReporter();
  try {
    await next.reporter.recover();
    expect(next.posted).toEqual([]);

    // The last finished operation is a failover now: failovers have no drill report.
    reporter.stop();
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'after the drill',
    });
    if (!req.ok) throw new Error(req.message);
    await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.approve({
      opId: req.op.id,
      userId: APPROVER,
      planHash: (await h.engine.get(req.op.id))!.planHash!,
    });
    await inPhase(h.engine, req.op.id, 'completed');
    await next.reporter.recover();
    expect(next.posted).toEqual([]);
    expect(await reports.get(req.op.id)).toBeNull();
  } finally {
    next.reporter.stop();
  }
});

test('a report stored but never published (the bot died before posting it) is published at the next start, exactly once', async () => {
  const id = await drillWithoutReport('died after storing');
  // The dead process got as far as storing the report (reportFor stores it as publish does).
  const stored = await reporter.reportFor(id);
  expect(stored).toMatchObject({ opId: id });
  const next = restartedReporter();
  const later = restartedReporter();
  try {
    await start(next);
    expect(next.posted).toEqual([id]);
    // The stored report is the one published, not a rebuilt one.
    expect(next.reports[0]).toEqual(stored);
    // Neither a second recovery of the same process nor a later start posts it again.
    await start(next);
    await start(later);
    expect([...next.posted, ...later.posted]).toEqual([id]);
  } finally {
    next.reporter.stop();
    later.reporter.stop();
  }
});

test('a listener that fails leaves the report unpublished: the next start publishes it, one that fails again leaves it again', async () => {
  const stopFailing = reporter.onReport(() => {
    throw new Error('Slack is down');
  }, SLACK);
  const { id } = await runDrill('Slack down at the end');
  // The other adapter got it all the same, and it is stored.
  expect(published.map((r) => r.opId)).toEqual([id]);
  stopFailing();
  reporter.stop();

  const stillDown = restartedReporter();
  stillDown.reporter.onReport(() => Promise.reject(new Error('Slack is still down')), SLACK);
  try {
    await start(stillDown);
    expect(stillDown.posted).toEqual([id]);
  } finally {
    stillDown.reporter.stop();
  }

  const next = restartedReporter();
  const later = restartedReporter();
  try {
    await start(next);
    expect(next.posted).toEqual([id]);
    expect(next.reports[0]).toEqual(await reports.get(id));
    await start(later);
    expect(later.posted).toEqual([]);
  } finally {
    next.reporter.stop();
    later.reporter.stop();
  }
});

test('drills followed by a failover are still recovered at the next start, oldest first, each compared with the drill before it', async () => {
  // The first drill's report was stored but never posted.
  const first = await drillWithoutReport('stored, not posted');
  await reporter.reportFor(first);
  // The second one's was never even built: the bot that ran it died holding the claim to publish it.
  const second = await drillDyingWithClaim('never reported', 300);
  expect(await reports.get(second)).toBeNull();
  await new Promise((resolve) => setTimeout(resolve, 400));
  // Then a failover ran: the environment's last finished operation is no drill.
  const failover = await finishUnreported('failover', 'after the drills');
  expect((await h.engine.status()).last?.id).toBe(failover);

  const next = restartedReporter();
  try {
    await start(next);
    expect(next.posted).toEqual([first, second]);
    expect(await reports.get(second)).toMatchObject({ opId: second, previous: { opId: first } });
    expect(await reports.get(failover)).toBeNull();
    await start(restartedReporter());
    expect(next.posted).toEqual([first, second]);
  } finally {
    next.reporter.stop();
  }
});

test('two processes starting at once publish a stored, unpublished report once, even while the first one is still posting', async () => {
  const id = await drillWithoutReport('two starts');
  await reporter.reportFor(id);
  const a = restartedReporter({ claimMs: 1000 });
  const b = restartedReporter({ claimMs: 1000 });
  // A slow channel: the first process is still posting when the second looks.
  for (const r of [a, b])
    r.reporter.onReport(() => new Promise((resolve) => setTimeout(resolve, 300)), SLACK);
  try {
    await Promise.all([a.reporter.recover(), b.reporter.recover()]);
    await Promise.all([a.reporter.idle(), b.reporter.idle()]);
    expect([...a.posted, ...b.posted]).toEqual([id]);
    // The one that found it claimed looks again when the claim has run out, and finds it published.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await Promise.all([a.reporter.idle(), b.reporter.idle()]);
    expect([...a.posted, ...b.posted]).toEqual([id]);
  } finally {
    a.reporter.stop();
    b.reporter.stop();
  }
});

test('a drill recovered after a later drill was reported is compared with the drill before it, and the later one stays the previous drill', async () => {
  // The process running it dies holding the claim; the claim outlives the next drill.
  const early = await drillDyingWithClaim('died before its report', 60_000);

  const live = restartedReporter();
  try {
    const later = await h.engine.request({
      kind: 'drill',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'reported live',
    });
    if (!later.ok) throw new Error(later.message);
    const liveReporter = createDrillReporter({
      engine: h.engine,
      environment: 'prod',
      reports,
      targets: { rtoMinutes: 30, rpoMinutes: 5 },
      log: pino({ level: 'silent' }),
    });
    liveReporter.onReport(() => undefined, SLACK);
    await inPhase(h.engine, later.op.id, 'awaitingApproval');
    await h.engine.approve({
      opId: later.op.id,
      userId: APPROVER,
      planHash: (await h.engine.get(later.op.id))!.planHash!,
    });
    await inPhase(h.engine, later.op.id, 'completed');
    await liveReporter.idle();
    liveReporter.stop();
    expect(await reports.get(later.op.id)).toMatchObject({ previous: null });

    // The claim runs out; the next start builds the early drill's report.
    await reports.release(early, 'dead-process');
    await start(live);
    expect(live.posted).toEqual([early]);
    expect(await reports.get(early)).toMatchObject({ opId: early, previous: null });
    expect(await reports.previous('prod')).toMatchObject({ opId: later.op.id });
  } finally {
    live.reporter.stop();
  }
});

/** A `dr console` process: its adapter prints reports but is no record of the incident. */
function consoleReporter(engine = h.another()): {
  reporter: DrillReporter;
  shown: { opId: string; recovered: boolean; published: boolean }[];
} {
  const shown: { opId: string; recovered: boolean; published: boolean }[] = [];
  const r = createDrillReporter({
    engine,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
  });
  r.onReport((report, _markdown, delivery) => void shown.push({ opId: report.opId, ...delivery }), {
    name: 'console',
    ofRecord: false,
  });
  return { reporter: r, shown };
}

test('a console opened while the bot is down shows a report not yet posted in Slack, once, and leaves it for the bot: its next start posts it once', async () => {
  const id = await drillWithoutReport('bot died before posting');
  await reporter.reportFor(id);
  const consoles = [consoleReporter(), consoleReporter()];
  const bot = restartedReporter();
  const later = restartedReporter();
  try {
    await start(consoles[0]);
    expect(consoles[0].shown).toEqual([{ opId: id, recovered: true, published: false }]);
    expect(await reports.isPublished(id)).toBe(false);
    expect(await reports.awaitingPublication('prod', 10)).toEqual([id]);
    // The next console does not print it again.
    await start(consoles[1]);
    expect(consoles[1].shown).toEqual([]);

    await start(bot);
    expect(bot.posted).toEqual([id]);
    expect(bot.reports[0]).toEqual(await reports.get(id));
    expect(await reports.isPublished(id)).toBe(true);
    expect(await reports.awaitingPublication('prod', 10)).toEqual([]);
    await start(later);
    expect(later.posted).toEqual([]);
  } finally {
    for (const c of consoles) c.reporter.stop();
    bot.reporter.stop();
    later.reporter.stop();
  }
});

test('a drill that ends in a console (no Slack in the process) is printed live and awaits publication in Slack; no later console prints it again', async () => {
  reporter.stop();
  // The console drives the drill: it sees it end.
  const live = consoleReporter(h.engine);
  const bot = restartedReporter();
  const next = consoleReporter();
  try {
    const req = await h.engine.request({
      kind: 'drill',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'run from the console',
    });
    if (!req.ok) throw new Error(req.message);
    await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.approve({
      opId: req.op.id,
      userId: APPROVER,
      planHash: (await h.engine.get(req.op.id))!.planHash!,
    });
    await inPhase(h.engine, req.op.id, 'completed');
    await live.reporter.idle();
    expect(live.shown).toEqual([{ opId: req.op.id, recovered: false, published: false }]);
    expect(await reports.get(req.op.id)).toMatchObject({ opId: req.op.id });
    expect(await reports.isPublished(req.op.id)).toBe(false);
    live.reporter.stop();

    await start(next);
    expect(next.shown).toEqual([]);
    await start(bot);
    expect(bot.posted).toEqual([req.op.id]);
    expect(await reports.isPublished(req.op.id)).toBe(true);
  } finally {
    live.reporter.stop();
    next.reporter.stop();
    bot.reporter.stop();
  }
});

/** A state copy held in memory: only the header fields the check reads. */
function stateCopy(
  where: string,
  lineage: string,
  serial: number,
): TerraformStateCopy & { lineage: string } {
  const copy = {
    where,
    lineage,
    serial,
    read: async () => ({
      found: true as const,
      header: { lineage: copy.lineage, serial: copy.serial },
      modifiedAt: Date.now() - 60_000,
    }),
    readLock: async () => ({ held: false, since: null }),
    close: async () => undefined,
  };
  return copy;
}

/** A drill approved and run to its end; what reports it is up to the test. */
async function drillToEnd(reason: string): Promise<string> {
  const req = await h.engine.request({
    kind: 'drill',
    mode: 'planned',
    requester: REQUESTER,
    reason,
  });
  if (!req.ok) throw new Error(req.message);
  await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({
    opId: req.op.id,
    userId: APPROVER,
    planHash: (await h.engine.get(req.op.id))!.planHash!,
  });
  await inPhase(h.engine, req.op.id, 'completed');
  return req.op.id;
}

test('the report ends with the standby back at its standby counts and the Terraform state row, or says which workloads kept extra replicas', async () => {
  reporter.stop();
  const primary = stateCopy('s3://state-use1/prod.tfstate', 'lin-a', 12);
  const secondary = stateCopy('s3://state-usw2/prod.tfstate', 'lin-a', 12);
  const after = createDrillReporter({
    engine: h.engine,
    environment: 'prod',
    reports,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    log: pino({ level: 'silent' }),
    afterDrill: [
      standbyCostCheck(createFakeProviders(h.world).cluster!),
      terraformStateCheck({ primary, secondary, maxSerialLag: 1, staleLockMinutes: 60 }),
    ],
  });
  try {
    after.onReport((r) => {
      published.push(r);
    }, SLACK);
    // The failback scaled the standby back down: both rows are green, nothing to deviate.
    const id = await drillToEnd('after-drill rows');
    await after.idle();
    const live = (await reports.get(id))!;
    expect(published.map((r) => r.opId)).toEqual([id]);
    expect(live.afterDrill?.map((c) => [c.title, c.status])).toEqual([
      ['Standby footprint', 'ok'],
      ['Terraform state', 'ok'],
    ]);
    expect(live.afterDrill![0].detail).toBe('the standby is at its standby counts');
    expect(live.deviations).toEqual([]);
    const md = renderDrillMarkdown(live);
    // The last section, just before the footer.
    expect(md.trimEnd().split('\n').slice(-6, -2)).toEqual([
      '## After the drill',
      '',
      '- Standby footprint: ok — the standby is at its standby counts',
      '- Terraform state: ok — both copies of lineage lin-a in step: s3://state-use1/prod.tfstate and s3://state-usw2/prod.tfstate',
    ]);

    // A drill whose report is built with the standby left at production size and the secondary's
    // state replaced by another lineage: both rows say so, with the workloads and their extras.
    after.stop();
    const leftId = await drillToEnd('standby left up');
    await h.world.set('cluster.secondary', 'production');
    secondary.lineage = 'lin-b';
    const left = (await after.reportFor(leftId))!;
    const [standby, terraform] = left.afterDrill!;
    expect(standby.status).toBe('degraded');
    expect(standby.detail).toMatch(
      /^the standby is above its standby counts by 4 replica\(s\): api 3 \(standby 1, \+2\), worker 2 \(standby 0, \+2\)/,
    );
    expect(terraform.status).toBe('degraded');
    expect(terraform.detail).toContain(
      'the copies differ in lineage (primary lin-a, secondary lin-b',
    );
    expect(left.deviations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^After the drill, Standby footprint: the standby is above/),
        expect.stringMatching(/^After the drill, Terraform state: .*differ in lineage/),
      ]),
    );
    const md2 = renderDrillMarkdown(left);
    expect(md2).toMatch(
      /## After the drill\n\n- Standby footprint: NOT OK — the standby is above its standby counts by 4 replica\(s\): api 3/,
    );
    expect(md2).toMatch(/- Terraform state: NOT OK — .*differ in lineage/);
  } finally {
    after.stop();
  }
});
