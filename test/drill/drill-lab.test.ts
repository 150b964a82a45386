/**
 * A drill on the lab (real PostgreSQL, Redis and cloud simulators), driven through the console
 * adapter: the report's numbers are what the servers hold and what the timeline recorded.
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load.js';
import { createConsoleSession } from '../../src/console/index.js';
import { openConsoleRuntime, type ConsoleRuntime } from '../../src/console/runtime.js';
import { LAB_APPROVERS, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { lastDrillAt } from '../../src/readiness/drill-record.js';
import { DRILL_LOAD_TABLE } from '../../src/providers/write-load.js';
import { createS3Side } from '../../src/providers/s3.js';
import { createVeleroReader } from '../../src/providers/velero.js';
import {
  createReportStore,
  renderMeasuresTable,
  type DrillReport,
} from '../../src/report/index.js';
import { silentLog, sql, startLab, stopLabs } from '../support/lab.js';
import { deleteKeys, uniquePrefix } from '../support/redis.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let lab: LabInfo;
let runtime: ConsoleRuntime | undefined;
const prefix = uniquePrefix('drill-lab');
const reportsDir = mkdtempSync(join(tmpdir(), 'dr-drill-lab-'));

beforeAll(async () => {
  lab = await startLab({ cloud: true });
  // The cloud SDKs read the lab's dummy credentials from process.env.
  Object.assign(process.env, readLabEnv(lab.envFile));
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  const state = new Redis(lab.stateRedis.url);
  await deleteKeys(state, prefix).finally(() => state.quit());
  await stopLabs();
  rmSync(reportsDir, { recursive: true, force: true });
});

test('the drill report of a lab drill matches the rows, the counter and the timeline', async () => {
  const config = loadConfig({ path: lab.configPath });
  runtime = await openConsoleRuntime({
    config,
    env: { ...process.env, REDIS_URL: lab.stateRedis.url },
    log: silentLog,
    prefix,
  });
  const session = createConsoleSession({
    engine: runtime.engine,
    config,
    reporter: runtime.reporter,
    user: 'alice',
    users: { alice: LAB_APPROVERS[0], bob: LAB_APPROVERS[1] },
    reportsDir,
    write: () => undefined,
  });
  const reports: DrillReport[] = [];
  runtime.reporter.onReport((r) => void reports.push(r), { name: 'test', ofRecord: false });

  await session.handle('drill lab drill');
  const id = (await runtime.engine.status()).active!.id;
  expect((await session.settled(id)).phase).toBe('awaitingApproval');
  expect((await session.handle(`approve ${id} as bob`)).answer).toMatch(/^Approved/);
  const end = await session.settled(id);
  expect(end.lastError?.message).toBeUndefined();
  expect(end.phase).toBe('completed');
  await runtime.reporter.idle();
  session.close();
  const report = reports[0];
  expect(report.opId).toBe(id);
  expect(report.passed).toBe(true);
  expect(report.deviations).toEqual([]);

  // Rows: what the report says is present is what the primary (and its standby) hold for this run.
  const stop = report.steps.find((s) => s.id === 'stop-write-load')!;
  const db = stop.evidence!.database as {
    acknowledged: number;
    rowsPresent: number;
    lost: number;
    writer: string;
  };
  // The bot's role keeps its tables in its own schema (deploy/permissions/postgres.sql).
  const [{ n: onPrimary }] = await sql<{ n: number }>(
    lab.postgres.primary.url,
    `SELECT count(*)::int AS n FROM dr_bot.${DRILL_LOAD_TABLE} WHERE run_id = $1`,
    [id],
  );
  expect(db.writer).toBe('primary');
  expect(db.rowsPresent).toBe(onPrimary);
  expect(db.lost).toBe(0);
  expect(db.acknowledged).toBeGreaterThan(0);
  expect(db.acknowledged).toBeLessThanOrEqual(onPrimary);
  // Writes went to both sides: before the failover to the primary, while the secondary served to it.
  const [{ sides }] = await sql<{ sides: string }>(
    lab.postgres.primary.url,
    `SELECT string_agg(DISTINCT side, ',' ORDER BY side) AS sides FROM dr_bot.${DRILL_LOAD_TABLE} WHERE run_id = $1`,
    [id],
  );
  expect(sides).toBe('primary,secondary');
  const cache = stop.evidence!.cache as { acknowledged: number; counter: number; lost: number };
  expect(cache.lost).toBe(0);
  expect(cache.counter).toBeGreaterThanOrEqual(cache.acknowledged);
  expect(
    report.rpo
      .filter((r) => r.source === 'write-load')
      .map((r) => [r.component, r.seconds, r.pass]),
  ).toEqual([
    ['database', 0, true],
    ['cache', 0, true],
  ]);

  // Durations: each step's times lie between its StepStarted and StepSucceeded entries' times.
  const timeline = await runtime.engine.timeline(id);
  for (const s of report.steps) {
    const started = timeline.filter((e) => e.type === 'StepStarted' && e.stepId === s.id).at(-1)!;
    const finished = timeline.find(
      (e): e is Extract<typeof e, { type: 'StepSucceeded' }> =>
        e.type === 'StepSucceeded' && e.stepId === s.id,
    )!;
    expect(s.startedAt!).toBeLessThanOrEqual(started.at);
    expect(s.finishedAt!).toBeGreaterThanOrEqual(started.at);
    expect(s.finishedAt!).toBeLessThanOrEqual(finished.at);
    expect(s.durationMs).toBe(finished.durationMs);
  }
  // RTO: from the approval to the secondary's green verification, as the timeline recorded them.
  const approved = timeline.find((e) => e.type === 'OperationApproved')!;
  const verified = report.steps.find((s) => s.id === 'verify-secondary')!;
  expect(report.approvedAt!).toBeLessThanOrEqual(approved.at);
  expect(report.rto[0].ms).toBe(verified.finishedAt! - report.approvedAt!);

  // Object storage and Kubernetes state, measured beside the steps against DESIGN.md's table.
  expect(
    report.rpo
      .filter((r) => r.source === 'canary' || r.source === 'velero-backup')
      .map((r) => [r.component, r.source, r.targetMinutes, r.pass]),
  ).toEqual([
    ['object-storage', 'canary', 10 / 60, true],
    ['kubernetes', 'velero-backup', 24 * 60, true],
  ]);
  const storageRow = report.rpo.find((r) => r.component === 'object-storage')!;
  const k8sRow = report.rpo.find((r) => r.component === 'kubernetes')!;
  expect(renderMeasuresTable(report)).toMatch(
    /^RPO object-storage \(canary\) +\d+\.\d s +10 s +pass$/m,
  );
  expect(renderMeasuresTable(report)).toMatch(
    /^RPO kubernetes \(Velero backup\) +1 h \d+ min +24 h +pass$/m,
  );

  const state = new Redis(lab.stateRedis.url);
  try {
    const measures = await createReportStore({ redis: state, prefix }).measures(id);
    // The canary: the object the secondary bucket holds now is the drill's own (its nonce), written
    // while the secondary served, and the simulator's 500 ms replication delay is in the time.
    const canary = measures.find((m) => m.component === 'object-storage')!;
    const storage = config.components.objectStorage!;
    const secondary = createS3Side({
      bucket: storage.secondary.bucket!,
      endpoint: storage.secondary.endpoint!,
      forcePathStyle: true,
    });
    const stamp = await secondary
      .readCanary(`${storage.canaryPrefix}lab-drill`)
      .finally(() => secondary.close());
    expect(stamp?.nonce).toBe(canary.evidence!.nonce);
    const tests = report.steps.find((s) => s.id === 'run-integration-tests')!;
    expect(stamp!.writtenAt).toBeGreaterThanOrEqual(tests.startedAt!);
    expect(stamp!.writtenAt).toBeGreaterThanOrEqual(canary.at!);
    expect(storageRow.seconds).toBe(canary.seconds);
    expect(storageRow.seconds!).toBeGreaterThanOrEqual(0.5);
    expect(stamp!.writtenAt + storageRow.seconds! * 1000).toBeLessThanOrEqual(
      report.generatedAt + 100,
    );

    // The backup: the newest completed one of the primary cluster, aged at the drill's approval.
    const k8s = config.components.kubernetes!;
    const backups = await createVeleroReader({
      cluster: k8s.primary,
      region: 'primary',
      namespace: k8s.velero!.namespace,
      maxAgeHours: 24,
    }).listBackups();
    const newest = backups
      .filter((b) => b.phase === 'Completed')
      .sort((a, b) => b.completedAt! - a.completedAt!)[0];
    expect(k8sRow.seconds).toBe(Math.round((report.approvedAt! - newest.completedAt!) / 1000));
    expect(k8sRow.description).toContain(`newest completed Velero backup ${newest.name} finished`);

    // Readiness reads when the last drill finished.
    expect(await lastDrillAt({ redis: state, prefix }, 'lab')).toBe(report.finishedAt);
  } finally {
    await state.quit();
  }
}, 150_000);
