/**
 * The console adapter with the real engine on the real Redis (provider fakes): the same policy as
 * in Slack — a requester cannot approve, an outsider is refused, another approver counts.
 */
import pino from 'pino';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createConsoleSession,
  parseConsoleLine,
  type ConsoleSession,
} from '../../src/console/index.js';
import { createDrillReporter, type DrillReporter } from '../../src/drill/index.js';
import { createReportStore } from '../../src/report/index.js';
import {
  APPROVER,
  createHarness,
  OUTSIDER,
  REQUESTER,
  testConfig,
  type Harness,
} from '../support/engine-harness.js';

describe('parsing console lines', () => {
  test('Slack commands, buttons as commands, and who types', () => {
    expect(parseConsoleLine('drill quarterly test')).toEqual({
      command: { type: 'request', kind: 'drill', mode: 'planned', reason: 'quarterly test' },
    });
    expect(parseConsoleLine('as bob: approve dr-20261125-0003')).toEqual({
      as: 'bob',
      command: { type: 'action', action: 'approve', opId: 'DR-20261125-0003', reason: '' },
    });
    expect(parseConsoleLine('approve DR-20261125-0003 as bob')).toEqual({
      as: 'bob',
      command: { type: 'action', action: 'approve', opId: 'DR-20261125-0003', reason: '' },
    });
    expect(parseConsoleLine('reject not now')).toEqual({
      command: { type: 'action', action: 'reject', reason: 'not now' },
    });
    expect(parseConsoleLine('failover unplanned region gone')).toEqual({
      command: { type: 'request', kind: 'failover', mode: 'unplanned', reason: 'region gone' },
    });
    expect(parseConsoleLine('report')).toEqual({ command: { type: 'report' } });
    expect(parseConsoleLine('frobnicate')).toEqual({
      command: { type: 'usage', problem: 'Unknown subcommand `frobnicate`.' },
    });
    expect(parseConsoleLine('reject DR-20261125-0003 wrong plan as bob')).toEqual({
      as: 'bob',
      command: { type: 'action', action: 'reject', opId: 'DR-20261125-0003', reason: 'wrong plan' },
    });
    expect(parseConsoleLine('abort dr-20261125-0003 stop')).toEqual({
      command: { type: 'abort', opId: 'DR-20261125-0003', reason: 'stop' },
    });
    // The last resort's button, as the undo's: typed by one person, confirmed by another.
    expect(parseConsoleLine('detach DR-20261125-0003 as bob')).toEqual({
      as: 'bob',
      command: { type: 'action', action: 'detach', opId: 'DR-20261125-0003', reason: '' },
    });
  });

  test('anything that starts like an operation id but is not one is the usage, never the active operation or a reason', () => {
    const notAnId = (word: string) => ({
      type: 'usage',
      problem: `\`${word}\` is not an operation id: they look like DR-20261125-093015.`,
    });
    expect(parseConsoleLine('report DR-bad').command).toEqual(notAnId('DR-bad'));
    expect(parseConsoleLine('reject DR-2026120-0004 x').command).toEqual(
      notAnId('DR-2026120-0004'),
    );
    expect(parseConsoleLine('approve dr-20261125 as bob')).toEqual({
      as: 'bob',
      command: notAnId('dr-20261125'),
    });
    expect(parseConsoleLine('wait DR-').command).toEqual(notAnId('DR-'));
    expect(parseConsoleLine('abort DR-x oops').command).toEqual(notAnId('DR-x'));
    expect(parseConsoleLine('retry DR-20261125-0001x').command).toEqual(
      notAnId('DR-20261125-0001x'),
    );
    // Verbs that take no reason refuse other words instead of ignoring them.
    expect(parseConsoleLine('approve garbage').command).toEqual({
      type: 'usage',
      problem:
        '`approve` takes at most an operation id (`approve [DR-…]`, e.g. `approve DR-20261125-093015`), not `garbage`.',
    });
    expect(parseConsoleLine('report last one').command).toMatchObject({ type: 'usage' });
    expect(parseConsoleLine('skip DR-20261125-093015 now').command).toMatchObject({
      type: 'usage',
    });
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
    reporter = createDrillReporter({
      engine: h.engine,
      environment: 'prod',
      reports: createReportStore({ redis: h.redis, prefix: h.prefix }),
      targets: testConfig().targets,
      log: pino({ level: 'silent' }),
    });
    reportsDir = mkdtempSync(join(tmpdir(), 'dr-console-'));
    out = [];
    session = createConsoleSession({
      engine: h.engine,
      config: testConfig(),
      reporter,
      reports: createReportStore({ redis: h.redis, prefix: h.prefix }),
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
    expect(await answer('drill quarterly drill')).toMatch(
      /^DR-\d{8}-\d{6} requested: the drill of prod runs after another approver/,
    );
    const id = (await h.engine.status()).active!.id;
    expect((await session.settled(id)).phase).toBe('awaitingApproval');
    expect(said()).toContain(`${id}  drill (planned)  env prod  — awaitingApproval`);

    expect(await answer(`approve ${id}`)).toBe(
      `refused: You requested ${id} — someone else has to approve it.`,
    );
    expect(await answer('approve as mallory')).toMatch(
      /^refused: You are not allowed to do that on DR-/,
    );
    expect(said()).toContain(
      'Approval by alice refused: the requester cannot approve their own request',
    );
    expect(said()).toContain('Approval by mallory refused: not an authorized approver');
    expect((await h.engine.get(id))!.phase).toBe('awaitingApproval');

    expect(await answer(`approve ${id} as bob`)).toMatch(new RegExp(`^Approved: ${id} is `));
    expect(await answer('wait')).toBe(`${id} is completed.`);
    // `wait` answers once the report is printed too: a script's next line (`exit`) cannot cut it off.
    expect(said()).toContain(`Drill ${id} in prod: PASSED (completed)`);
    expect(said().indexOf('drill report: ')).toBeLessThan(
      said().lastIndexOf(`${id} is completed.`),
    );
    expect((await session.settled(id)).phase).toBe('completed');
    expect(said()).toMatch(/RTO failover +\S+ (ms|s) +30 min +pass/);
    const file = session.reportFiles.get(id)!;
    expect(file).toBe(join(reportsDir, `${id}.md`));
    expect(readFileSync(file, 'utf8')).toContain(`# Drill report ${id} — PASSED`);
    expect(said()).toContain(`drill report: ${file}`);

    expect(await answer('report')).toContain(`# Drill report ${id} — PASSED`);
    expect(await answer('status')).toContain(
      `Last finished:\n${id}  drill (planned)  env prod  — completed`,
    );
    expect(await answer(`retry ${id} as bob`)).toBe(
      `refused: ${id} is already completed; nothing was changed.`,
    );

    // A failover finishes after the drill: `report` is still the last drill's, `reports` lists it.
    await answer('failover planned after the drill');
    const failover = (await h.engine.status()).active!.id;
    await session.settled(failover);
    await answer('reject not today');
    expect(await answer('report')).toContain(`# Drill report ${id} — PASSED`);
    expect(await answer('reports')).toMatch(
      new RegExp(
        `^Drills of prod with a report, newest first \\(\`report DR-…\` prints one\\):\n  ${id}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC  PASSED$`,
      ),
    );
    expect(await answer(`report ${failover}`)).toBe(
      `${failover} is a failover, not a drill: only drills have reports. \`reports\` lists the drills that have one.`,
    );
  });

  test('approve typed while the preflight still runs waits for its plan, shows it, then approves it', async () => {
    h.world.delay('database.readiness', 400);
    expect(await answer('drill typed quickly')).toMatch(/requested/);
    const id = (await h.engine.status()).active!.id;
    expect((await h.engine.get(id))!.phase).toBe('preflight');
    expect(await answer('approve as bob')).toMatch(new RegExp(`^Approved: ${id} is `));
    const text = said();
    const waiting = text.indexOf(
      `${id} is still in preflight: waiting for it to finish, then approving the plan it shows.`,
    );
    const card = text.indexOf(`${id}  drill (planned)  env prod  — awaitingApproval`);
    expect(waiting).toBeGreaterThan(-1);
    expect(card).toBeGreaterThan(waiting);
    expect(text.indexOf(`Approved: ${id}`)).toBeGreaterThan(card);
    expect(await answer('wait')).toBe(`${id} is completed.`);
  });

  test('a mistyped id changes nothing; a well-formed one that is not the active operation is refused, not applied to it', async () => {
    await answer('failover planned maintenance');
    const id = (await h.engine.status()).active!.id;
    await session.settled(id);
    for (const line of [
      'approve garbage as bob',
      'approve DR-2026120-0004 as bob',
      'reject DR-2026120-0004 x',
      'abort DR-2026120-0004 x',
      'report DR-bad',
      'wait DR-bad',
    ]) {
      expect(await answer(line)).toMatch(
        /^(`DR-\S*` is not an operation id: they look like DR-20261125-093015\.|`approve` takes at most an operation id)/,
      );
    }
    const unknown = 'DR-20000101-0001';
    expect(await answer(`approve ${unknown} as bob`)).toBe(
      `refused: There is no operation ${unknown}. \`status\` shows the active one.`,
    );
    expect(await answer(`reject ${unknown} wrong one`)).toMatch(
      new RegExp(`^refused: There is no operation ${unknown}\\.`),
    );
    expect(await answer(`abort ${unknown} wrong one as bob`)).toMatch(
      new RegExp(`^refused: There is no operation ${unknown}\\.`),
    );
    expect(await answer(`report ${unknown}`)).toBe(
      `no operation ${unknown} in this environment's store (prod). \`reports\` lists the drills that have one.`,
    );
    expect(await h.engine.get(id)).toMatchObject({ phase: 'awaitingApproval', approvals: [] });
    expect(await answer(`report ${id}`)).toBe(
      `${id} is a failover, not a drill: only drills have reports. \`reports\` lists the drills that have one.`,
    );
    expect(await answer(`approve ${id.toLowerCase()} as bob`)).toMatch(
      new RegExp(`^Approved: ${id} is `),
    );
  });

  test('one operation at a time, reject by the requester, and help for what it does not know', async () => {
    await answer('failover planned maintenance');
    const id = (await h.engine.status()).active!.id;
    await session.settled(id);
    expect(await answer('as bob drill')).toBe(
      `refused: ${id} is already in progress (a failover): only one operation per environment runs at a time. Let it finish or abort it, then request the drill again.`,
    );
    expect(await answer('reject changed my mind')).toMatch(
      new RegExp(`^${id} rejected by alice; nothing was changed\\.`),
    );
    expect((await h.engine.get(id))!.phase).toBe('rejected');
    expect(await answer('approve')).toBe(
      'There is no operation in progress for prod: name one (`approve DR-…`).',
    );
    expect(await answer('report')).toBe(
      `no drill of prod has a report yet (the last finished operation, ${id}, is a failover). \`drill\` runs one.`,
    );
    expect(await answer('reports')).toBe('No drill of prod has a report yet: `drill` runs one.');
    const help = await answer('launch');
    expect(help).toContain('Unknown subcommand `launch`.');
    expect(help).toContain('approve [DR-…]');
    // The example names an approver of this config, as typed here.
    expect(help).toContain(
      'e.g. `approve as bob`; approvers here (approvals.approvers): alice, bob, UAPPROVE2.',
    );
    expect((await session.handle('exit')).exit).toBe(true);
  });
});
