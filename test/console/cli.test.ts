/**
 * `dr console` and `dr report` through main(), as the CLI runs them: commands read from an input
 * stream, answers and errors on the CLI's stdout/stderr. An environment name of its own keeps it
 * apart from other tests on the shared Redis; what a test writes there it deletes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { main } from '../../src/cli/main.js';
import { runConsole } from '../../src/console/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { buildDrillReport, createReportStore } from '../../src/report/index.js';
import { deleteKeys, REDIS_URL } from '../support/redis.js';

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dr-console-cli-'));
  config = join(dir, 'dr.config.yaml');
  writeFileSync(
    config,
    [
      `environment: console-cli-${process.pid}`,
      'regions: { primary: { name: eu-west-1 }, secondary: { name: eu-central-1 } }',
      'slack: { incidentChannel: C0CONSOLE }',
      'approvals: { approvers: [U0APPROVER] }',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(
  env: NodeJS.ProcessEnv = { REDIS_URL, LOG_LEVEL: 'silent' },
): CliIo & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    env,
    stdout: (t: string) => void (o.out += t),
    stderr: (t: string) => void (o.err += t),
  };
  return o;
}

test('dr console answers status and help from stdin and leaves on exit', async () => {
  const cli = io();
  const code = await runConsole({
    configPath: config,
    as: 'U0ME',
    io: cli,
    input: Readable.from(['status\n', 'launch rockets\n', 'exit\n', 'status\n']),
  });
  expect(code).toBe(0);
  expect(cli.out).toContain(`dr console — environment console-cli-${process.pid}, typing as U0ME.`);
  expect(cli.out).toContain(`Active: no operation in progress for console-cli-${process.pid}`);
  expect(cli.out).toContain('Unknown subcommand `launch`.');
  // Nothing after `exit` runs.
  expect(cli.out.match(/Active: no operation/g)).toHaveLength(1);
});

test('dr report tells a mistyped id (usage), an unknown one, a failover and no drill at all apart', async () => {
  const env = `console-cli-${process.pid}`;
  const bad = io();
  expect(await main(['report', 'bad-id', '--config', config], bad)).toBe(2);
  expect(bad.err).toContain('`bad-id` is not an operation id: they look like DR-20261125-093015.');
  expect(bad.err).toContain('Usage: dr report');

  const unknown = io();
  expect(await main(['report', 'dr-20000101-0009', '--config', config], unknown)).toBe(1);
  expect(unknown.err).toBe(
    `dr report: no operation DR-20000101-0009 in this environment's store (${env}, in ${REDIS_URL.replace(/\/$/, '')}) (\`dr report --list\` lists the drills that have one)\n`,
  );

  const none = io();
  expect(await main(['report', '--config', config], none)).toBe(1);
  expect(none.err).toMatch(
    new RegExp(
      `^dr report: no drill of ${env} has a report yet.* \\(a drill \\(\`/dr drill\` in Slack, \`drill\` in \`dr console\`\\) writes one\\)\n$`,
    ),
  );
  const list = io();
  expect(await main(['report', '--list', '--config', config], list)).toBe(0);
  expect(list.out).toBe(`no drill of ${env} has a report yet\n`);

  // A failover, requested and withdrawn in the console, is not a drill.
  const redis = new Redis(REDIS_URL);
  const cli = io();
  let opId = '';
  try {
    expect(
      await runConsole({
        configPath: config,
        as: 'U0ME',
        io: cli,
        input: Readable.from([
          'failover planned not a drill\n',
          'wait\n',
          'reject withdrawn\n',
          'exit\n',
        ]),
      }),
    ).toBe(0);
    opId = /(DR-\d{8}-\d{6}) requested/.exec(cli.out)![1];
    const failover = io();
    expect(await main(['report', opId, '--config', config], failover)).toBe(1);
    expect(failover.err).toBe(
      `dr report: ${opId} is a failover, not a drill: only drills have reports (\`dr report --list\` lists the drills that have one)\n`,
    );
    const last = io();
    expect(await main(['report', '--config', config], last)).toBe(1);
    expect(last.err).toContain(
      `no drill of ${env} has a report yet (the last finished operation, ${opId}, is a failover)`,
    );
  } finally {
    for (const key of ['op', 'timeline', 'meta', 'appends']) await redis.del(`dr:${key}:${opId}`);
    for (const key of ['lock', 'last']) await redis.del(`dr:${key}:${env}`);
    redis.disconnect();
  }
});

test('dr report of a drill this version cannot read says so, in words (no command placeholder)', async () => {
  const env = `console-cli-${process.pid}`;
  const opId = 'DR-20000103-0001';
  const redis = new Redis(REDIS_URL);
  try {
    // A drill whose stored snapshot cannot be read (a bad write, a deploy that changed the format).
    await redis.hset(`dr:op:${opId}`, {
      id: opId,
      env,
      kind: 'drill',
      snapshot: 'not json',
      updatedAt: '1',
      version: '3',
      status: 'active',
    });
    const cli = io();
    expect(await main(['report', opId, '--config', config], cli)).toBe(1);
    expect(cli.err).toMatch(
      new RegExp(
        `^dr report: ${opId} cannot be read by this version of dr-bot \\(its stored snapshot is not valid JSON.*\\), so it has no report here \\(\`dr report --list\` lists the drills that have one\\)\n$`,
      ),
    );
    expect(cli.err).not.toContain('{{');
  } finally {
    await redis.del(`dr:op:${opId}`);
    redis.disconnect();
  }
});

test('dr console says what to fix when the state Redis does not answer', async () => {
  const cli = io({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' });
  expect(await main(['console', '--config', config], cli)).toBe(1);
  expect(cli.err).toBe(
    "dr console: the state Redis at redis://127.0.0.1:1 does not answer: start a Redis there or set REDIS_URL to the bot's own Redis\n",
  );
});

test('dr console prints a drill report that was stored but never posted in Slack, once, saying so, and leaves it for the bot to post', async () => {
  const env = `console-cli-${process.pid}`;
  const opId = `DR-20000102-${String(process.pid % 10_000).padStart(4, '0')}`;
  const redis = new Redis(REDIS_URL);
  const reportsDir = join(dir, 'reports');
  try {
    // A drill whose report was stored by a process that stopped before printing or posting it.
    const at = Date.UTC(2000, 0, 2, 9);
    const view = {
      id: opId,
      env,
      kind: 'drill' as const,
      requestedMode: 'planned' as const,
      requester: 'U0ME',
      reason: 'missed',
      phase: 'completed' as const,
      currentSteps: [],
      steps: [],
      approvals: [],
      requiredApprovals: 1,
      createdAt: at,
      approvedAt: at + 1000,
      finishedAt: at + 60_000,
    };
    await createReportStore({ redis }).save(
      buildDrillReport({
        view,
        timeline: [],
        targets: { rtoMinutes: 30, rpoMinutes: 5 },
        previous: null,
        now: at + 61_000,
      }),
    );

    const first = io();
    expect(
      await runConsole({
        configPath: config,
        io: first,
        input: Readable.from(['exit\n']),
        reportsDir,
      }),
    ).toBe(0);
    expect(first.out).toContain(
      `(the report of an earlier drill, not yet posted in Slack: the bot posts it in the incident channel when it next starts)\nDrill ${opId} in ${env}:`,
    );
    expect(first.out).toContain(`drill report: ${join(reportsDir, `${opId}.md`)}`);
    // The incident channel has not got it: it still awaits publication, for the bot's next start.
    expect(await redis.exists(`dr:report:published:${opId}`)).toBe(0);
    expect(await redis.zrange(`dr:drill:unpublished:${env}`, 0, -1)).toEqual([opId]);

    const second = io();
    expect(
      await runConsole({
        configPath: config,
        io: second,
        input: Readable.from(['exit\n']),
        reportsDir,
      }),
    ).toBe(0);
    expect(second.out).not.toContain(`Drill ${opId}`);

    // dr report without an id prints the last drill's report; --list names it.
    const last = io();
    expect(await main(['report', '--config', config], last)).toBe(0);
    expect(last.out).toContain(`# Drill report ${opId}`);
    const list = io();
    expect(await main(['report', '--list', '--config', config], list)).toBe(0);
    expect(list.out).toBe(
      `drills of ${env} with a report, newest first (\`dr report DR-…\` prints one):\n  ${opId}  2000-01-02 09:01 UTC  FAILED\n`,
    );
  } finally {
    await deleteKeys(redis, `dr:report:${opId}`);
    await deleteKeys(redis, `dr:report:published:${opId}`);
    await deleteKeys(redis, `dr:report:delivered:console:${opId}`);
    await deleteKeys(redis, `dr:report:claim:${opId}`);
    for (const key of ['drill:reports', 'drill:unpublished', 'drill:last'])
      await redis.del(`dr:${key}:${env}`);
    redis.disconnect();
  }
});
