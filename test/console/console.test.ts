/**
 * The console adapter with the real engine on the real Redis (provider fakes): the same policy as
 * in Slack — a requester cannot approve, an outsider is refused, another approver counts.
 */
import pino from 'pino';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsoleSession, parseConsoleLine, type ConsoleSession } from '../../src/console/index.js';
import { createDrillReporter, type DrillReporter } from '../../src/drill/index.js';
import { createReportStore } from '../../src/report/index.js';
import { APPROVER, createHarness, OUTSIDER, REQUESTER, testConfig, type Harness } from '../support/engine-harness.js';

describe('parsing console lines', () => {
  test('Slack commands, buttons as commands, and who types', () => {
    expect(parseConsoleLine('drill quarterly test')).toEqual({ command: { type: 'request', kind: 'drill', mode: 'planned', reason: 'quarterly test' } });
    expect(parseConsoleLine('as bob: approve dr-20261125-0003')).toEqual({ as: 'bob', command: { type: 'action', action: 'approve', opId: 'DR-20261125-0003', reason: '' } });
    expect(parseConsoleLine('approve DR-20261125-0003 as bob')).toEqual({ as: 'bob', command: { type: 'action', action: 'approve', opId: 'DR-20261125-0003', reason: '' } });
    expect(parseConsoleLine('reject not now')).toEqual({ command: { type: 'action', action: 'reject', reason: 'not now' } });
    expect(parseConsoleLine('failover unplanned region gone')).toEqual({ command: { type: 'request', kind: 'failover', mode: 'unplanned', reason: 'region gone' } });
    expect(parseConsoleLine('report')).toEqual({ command: { type: 'report' } });
    expect(parseConsoleLine('frobnicate')).toEqual({ command: { type: 'usage', problem: 'Unknown subcommand `frobnicate`.' } });
  });
});

describe('a console session on the engine', () => {
  let h: Harness;
  let reporter: DrillReporter;
  let session: ConsoleSession;
  let out: string[];
  let reportsDir: string;

  beforeEach(async () => {
    h = await createHarness({ name: 'console', config: testConfig() });
    reporter = createDrillReporter({ engine: h.engine, environment: 'prod', reports: createReportStore({ redis: h.redis, prefix: h.prefix }), targets: testConfig().targets, log: pino({ level: 'silent' }) });
    reportsDir = mkdtempSync(join(tmpdir(), 'dr-console-'));
    out = [];
    session = createConsoleSession({
      engine: h.engine,
      config: testConfig(),
      reporter,
      user: 'alice',
      users: { alice: REQUESTER, bob: APPROVER, mallory: OUTSIDER },
      reportsDir,
      write: (t) => out.push(t),
    });
  });

  afterEach(async () => {
    session.close();
    reporter.stop();
    await h.close();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  const said = () => out.join('');
  async function answer(line: string): Promise<string> {
    return (await session.handle(line)).answer ?? '';
  }

  test('a drill requested by alice is refused to alice and mallory, approved by bob, and reported', async () => {
    expect(await answer('drill quarterly drill')).toMatch(/^DR-\d{8}-\d{4} requested: the drill of prod runs after another approver/);
    const id = (await h.engine.status()).active!.id;
    expect((await session.settled(id)).phase).toBe('awaitingApproval');
    expect(said()).toContain(`${id}  drill (planned)  env prod  — awaitingApproval`);

    expect(await answer(`approve ${id}`)).toBe(`refused: You requested ${id} — someone else has to approve it.`);
    expect(await answer('approve as mallory')).toMatch(/^refused: You are not allowed to do that on DR-/);
    expect(said()).toContain('Approval by alice refused: the requester cannot approve their own request');
    expect(said()).toContain('Approval by mallory refused: not an authorized approver');
    expect((await h.engine.get(id))!.phase).toBe('awaitingApproval');

    expect(await answer(`approve ${id} as bob`)).toMatch(new RegExp(`^Approved: ${id} is `));
    expect(await answer('wait')).toBe(`${id} is completed.`);
    expect((await session.settled(id)).phase).toBe('completed');
    await reporter.idle();
    expect(said()).toContain(`Drill ${id} in prod: PASSED (completed)`);
    expect(said()).toMatch(/RTO failover +\S+ (ms|s) +30 min +pass/);
    const file = session.reportFiles.get(id)!;
    expect(file).toBe(join(reportsDir, `${id}.md`));
    expect(readFileSync(file, 'utf8')).toContain(`# Drill report ${id} — PASSED`);
    expect(said()).toContain(`drill report: ${file}`);

    expect(await answer('report')).toContain(`# Drill report ${id} — PASSED`);
    expect(await answer('status')).toContain(`Last finished:\n${id}  drill (planned)  env prod  — completed`);
    expect(await answer(`retry ${id} as bob`)).toBe(`refused: ${id} is already completed; nothing was changed.`);
  });

  test('one operation at a time, reject by the requester, and help for what it does not know', async () => {
    await answer('failover planned maintenance');
    const id = (await h.engine.status()).active!.id;
    await session.settled(id);
    expect(await answer('as bob drill')).toBe(
      `refused: ${id} is already in progress (a failover): only one operation per environment runs at a time. Let it finish or abort it, then request the drill again.`,
    );
    expect(await answer('reject changed my mind')).toMatch(new RegExp(`^${id} rejected by alice; nothing was changed\\.`));
    expect((await h.engine.get(id))!.phase).toBe('rejected');
    expect(await answer('approve')).toBe('There is no operation in progress for prod: name one (`approve DR-…`).');
    expect(await answer('report')).toBe('The last finished operation is not a drill: name the drill (`report DR-…`).');
    const help = await answer('launch');
    expect(help).toContain('Unknown subcommand `launch`.');
    expect(help).toContain('approve [DR-…]');
    expect((await session.handle('exit')).exit).toBe(true);
  });
});
