/**
 * `dr console` and `dr report` through main(), as the CLI runs them: commands read from an input
 * stream, answers and errors on the CLI's stdout/stderr. An environment name of its own keeps it
 * apart from other tests on the shared Redis; nothing is written.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { runConsole } from '../../src/console/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { REDIS_URL } from '../support/redis.js';

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

function io(env: NodeJS.ProcessEnv = { REDIS_URL, LOG_LEVEL: 'silent' }): CliIo & { out: string; err: string } {
  const o = { out: '', err: '', env, stdout: (t: string) => void (o.out += t), stderr: (t: string) => void (o.err += t) };
  return o;
}

test('dr console answers status and help from stdin and leaves on exit', async () => {
  const cli = io();
  const code = await runConsole({ configPath: config, as: 'U0ME', io: cli, input: Readable.from(['status\n', 'launch rockets\n', 'exit\n', 'status\n']) });
  expect(code).toBe(0);
  expect(cli.out).toContain(`dr console — environment console-cli-${process.pid}, typing as U0ME.`);
  expect(cli.out).toContain(`Active: no operation in progress for console-cli-${process.pid}`);
  expect(cli.out).toContain('Unknown subcommand `launch`.');
  // Nothing after `exit` runs.
  expect(cli.out.match(/Active: no operation/g)).toHaveLength(1);
});

test('dr report names an operation without a report and exits 1', async () => {
  const cli = io();
  expect(await main(['report', 'DR-20000101-0001', '--config', config], cli)).toBe(1);
  expect(cli.err).toBe(
    'dr report: DR-20000101-0001 is not a finished, approved drill of this environment, so it has no report (`dr console` then `status` shows the operations)\n',
  );
});

test('dr console says what to fix when the state Redis does not answer', async () => {
  const cli = io({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' });
  expect(await main(['console', '--config', config], cli)).toBe(1);
  expect(cli.err).toBe("dr console: the state Redis at redis://127.0.0.1:1 does not answer: start a Redis there or set REDIS_URL to the bot's own Redis\n");
});
