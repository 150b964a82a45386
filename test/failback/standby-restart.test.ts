/**
 * The standby PostgreSQL restarted while the bot waits for it to catch up (issue 21's fault), on a
 * real lab: a planned failover has fenced the primary and waits for the standby to replay the
 * final LSN; the standby is restarted (pg_ctl stop -m fast, start) in that wait. The operation
 * must end correct: the standby promoted once, every acknowledged row on it, nothing paused.
 */
import type { TimelineEntry } from '../../src/domain/types.js';
import { labUser, pgStart, pgStop, type LabInfo } from '../../src/lab/index.js';
import { sql, startLab, stopLabs, until } from '../support/lab.js';
import {
  APPROVER,
  ids,
  insertRows,
  labEngine,
  OPERATOR,
  range,
  type LabEngine,
} from './support.js';

let lab: LabInfo;
let h: LabEngine;

beforeAll(async () => {
  lab = await startLab();
  h = await labEngine(lab, 'standby-restart', ['orders']);
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)',
  );
}, 120_000);

afterAll(async () => {
  await h?.close();
  await stopLabs();
});

test('a standby restarted while the planned failover waits for its replay: promoted once, every acknowledged row on it', async () => {
  const primary = lab.postgres.primary.url;
  const standby = lab.postgres.secondary.url;
  await insertRows(primary, range(1, 50), 'primary');
  await until('the standby to have the first rows', async () => (await ids(standby)).length === 50);
  // Replay held back: the standby receives the next rows but applies them an hour late, so the
  // step waits. Reset in its config file now, read by the restart below.
  await sql(standby, "ALTER SYSTEM SET recovery_min_apply_delay = '1h'");
  await sql(standby, 'SELECT pg_reload_conf()');
  await insertRows(primary, range(51, 120), 'primary');

  const entries: TimelineEntry[] = [];
  h.engine.subscribe((n) => entries.push(...n.entries));
  const req = await h.engine.request({
    kind: 'failover',
    mode: 'planned',
    requester: OPERATOR,
    reason: 'standby restart in the catch-up',
  });
  if (!req.ok) throw new Error(req.message);
  let view = await h.engine.get(req.op.id);
  await until('the approval card', async () => {
    view = await h.engine.get(req.op.id);
    return view?.phase === 'awaitingApproval';
  });
  const approved = await h.engine.approve({
    opId: req.op.id,
    userId: APPROVER,
    planHash: view!.planHash!,
  });
  if (!approved.ok) throw new Error(approved.message);

  await until(
    'the step to wait for the standby to replay the final LSN',
    async () =>
      entries.some(
        (e) =>
          e.type === 'StepProgress' &&
          e.stepId === 'promote-database' &&
          /waiting for secondary to replay/.test(e.message),
      ),
    60_000,
  ).catch(async (err: unknown) => {
    const v = await h.engine.get(req.op.id);
    throw new Error(
      `${String(err)}: ${v?.phase} ${v?.lastError?.message ?? ''} ${JSON.stringify(entries.map((e) => [e.type, 'message' in e ? e.message : '']))}`,
    );
  });
  await sql(standby, 'ALTER SYSTEM RESET recovery_min_apply_delay');
  const ctx = { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' };
  await pgStop(ctx, lab.postgres.secondary.dataDir, 'fast');
  // Restarted without the delay: the standby comes back and replays.
  await pgStart(ctx, lab.postgres.secondary);

  let end = await h.engine.get(req.op.id);
  await until(
    'the failover to finish or stop',
    async () => {
      end = await h.engine.get(req.op.id);
      return ['completed', 'paused', 'failed'].includes(end?.phase ?? '');
    },
    120_000,
  );
  expect([end?.phase, end?.lastError?.message]).toEqual(['completed', undefined]);

  // Promoted once: one start of the step, no failure, no retry.
  const ofPromote = entries.filter(
    (e) => 'stepId' in e && e.stepId === 'promote-database' && e.type !== 'StepProgress',
  );
  expect(ofPromote.map((e) => e.type)).toEqual(['StepStarted', 'StepSucceeded']);
  // Every acknowledged row on the new writer, which takes writes.
  expect((await sql(standby, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  expect(await ids(standby)).toEqual(range(1, 120));
  await insertRows(standby, [121], 'secondary');
}, 240_000);
