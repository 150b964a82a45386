/**
 * Approval rules that cannot work as written: fewer listed approvers than `required` (no group)
 * is refused, so neither `dr config check` nor `dr start` gets past it; exactly `required` is
 * valid (requesters need not be approvers) but an approver's own request can never collect
 * enough approvals, so both commands warn.
 */
import { runConfigCheck } from '../../src/cli/config-check.js';
import { parseConfig } from '../../src/config/index.js';
import { configWarnings } from '../../src/config/summary.js';
import { freePorts } from '../../src/lab/system.js';
import { configFiles } from '../support/config-files.js';
import { runDr, type DrRun } from '../support/dr-cli.js';

const BASE = `environment: approvals-test
regions: { primary: { name: eu-west-1 }, secondary: { name: eu-central-1 } }
slack: { incidentChannel: C0INCIDENT }
`;
const TWO_OF_TWO = `${BASE}approvals: { approvers: [U0ALICE, U0BOB], required: 2 }\n`;
const TWO_OF_ONE = `${BASE}approvals: { approvers: [U0ALICE], required: 2 }\n`;
const WARNING =
  'approvals: with 2 approvers and required 2, a request by an approver can never be approved: list at least 3 or lower required (or add approvals.userGroup)';

const write = configFiles('dr-approvals-test');

function captureIo(env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
      env,
    },
  };
}

/** A port nothing listens on: the state Redis there never answers, so start-up stops after the config checks. */
async function closedPort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

describe('configWarnings', () => {
  it('warns when the listed approvers are exactly `required` and no group makes up the rest', () => {
    expect(configWarnings(parseConfig(TWO_OF_TWO, 'dr.config.yaml'))).toEqual([WARNING]);
    expect(
      configWarnings(parseConfig(`${BASE}approvals: { approvers: [U0ALICE] }\n`, 'dr.config.yaml')),
    ).toEqual([
      'approvals: with 1 approver and required 1, a request by an approver can never be approved: list at least 2 or lower required (or add approvals.userGroup)',
    ]);
  });

  it('says nothing with one approver more than required, or with a user group', () => {
    expect(
      configWarnings(
        parseConfig(
          `${BASE}approvals: { approvers: [U0ALICE, U0BOB, U0CAROL], required: 2 }\n`,
          'dr.config.yaml',
        ),
      ),
    ).toEqual([]);
    expect(
      configWarnings(
        parseConfig(
          `${BASE}approvals: { approvers: [U0ALICE, U0BOB], userGroup: S0ONCALL, required: 2 }\n`,
          'dr.config.yaml',
        ),
      ),
    ).toEqual([]);
    expect(
      configWarnings(
        parseConfig(`${BASE}approvals: { userGroup: S0ONCALL, required: 2 }\n`, 'dr.config.yaml'),
      ),
    ).toEqual([]);
  });
});

describe('dr config check', () => {
  it('prints the warning on stderr and still exits 0 for exactly `required` approvers', () => {
    const path = write('two-of-two.yaml', TWO_OF_TWO);
    // Everything else start needs is set, so the approvals warning is the only thing said.
    const { out, io } = captureIo({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'test-secret',
      REDIS_URL: 'redis://dr-state.internal:6379',
    });
    expect(runConfigCheck({ path, skipEnv: false, io })).toBe(0);
    expect(out.stdout.split('\n')[0]).toBe(`${path}: valid`);
    expect(out.stderr).toBe(`dr: warning: ${path}: ${WARNING}\n`);
  });

  it('exits 1 when fewer approvers are listed than required', () => {
    const path = write('two-of-one.yaml', TWO_OF_ONE);
    const { out, io } = captureIo();
    expect(runConfigCheck({ path, skipEnv: false, io })).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(
      `${path}: approvals.required: fewer distinct approvers than approvals.required: list more approvers, lower required, or add approvals.userGroup`,
    );
  });
});

describe('dr start', () => {
  /** `dr start` as a process (the bot's lazy imports need a real Node, not the test runner's loader). */
  async function drStart(path: string): Promise<DrRun> {
    // No state Redis answers there: a start that gets past the config stops at it.
    const env = {
      PATH: process.env.PATH ?? '',
      SLACK_BOT_TOKEN: 'xoxb-approvals-test',
      SLACK_SIGNING_SECRET: 'approvals-test-secret',
      PORT: '0',
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    };
    return runDr(['start', '--config', path], { env });
  }
  const logLines = (stdout: string): { level: string; msg: string; config?: string }[] =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));

  it('logs the warning at start-up for exactly `required` approvers', async () => {
    const path = write('start-two-of-two.yaml', TWO_OF_TWO);
    const run = await drStart(path);
    // The config was accepted: start-up went on to the state Redis, which is not there.
    expect(run.stderr).toMatch(/^dr start: the state Redis at .* does not answer PING/);
    expect(logLines(run.stdout)).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: WARNING, config: path }),
    );
  }, 30_000);

  it('refuses to start with fewer approvers than required, before connecting anything', async () => {
    const path = write('start-two-of-one.yaml', TWO_OF_ONE);
    const run = await drStart(path);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${path}: approvals.required: fewer distinct approvers than approvals.required`,
    );
    expect(run.stderr).not.toContain('Redis');
    expect(run.stdout).toBe('');
  }, 30_000);
});
