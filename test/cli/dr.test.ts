import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runDr, type DrRun } from '../support/dr-cli.js';

const EXAMPLE = join(ROOT, 'dr.config.example.yaml');
const EXAMPLE_ENV = {
  DR_ALERTMANAGER_TOKEN: 'alertmanager-bearer-token',
  DR_PG_PRIMARY_URL: 'postgres://dr_bot:s3cret@db-primary.internal:5432/app',
  DR_PG_SECONDARY_URL: 'postgres://dr_bot:s3cret@db-secondary.internal:5432/app',
  DR_REDIS_PRIMARY_URL: 'redis://cache-primary.internal:6379',
  DR_REDIS_SECONDARY_URL: 'redis://cache-secondary.internal:6379',
};
/** What dr start needs besides the config's variables. */
const START_ENV = {
  SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
  SLACK_SIGNING_SECRET: 'signing',
  REDIS_URL: 'redis://dr-state.internal:6379',
};

/** Run `dr` as a user would, with only the environment given here (no leaked SLACK_* or REDIS_URL). */
function dr(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<DrRun> {
  return runDr(args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dr-cli-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dr', () => {
  it('--help exits 0 and lists the commands', async () => {
    const run = await dr(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: dr \[options\] \[command\]/);
    expect(run.stdout).toMatch(/^ {2}start \[options\] +run the bot/m);
    expect(run.stdout).toMatch(/^ {2}config +inspect the config file \(dr config check\)/m);
    expect(run.stdout).toMatch(/^ {2}lab +a local two-region lab/m);
    expect(run.stdout).toMatch(/^ {2}readiness \[options\] +run every readiness check once/m);
    expect(run.stdout).toContain('SLACK_SIGNING_SECRET');
  });

  it('--version prints the package version', async () => {
    const run = await dr(['--version']);
    expect(run).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('an unknown command exits 2 with the usage on stderr', async () => {
    const run = await dr(['failover']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("error: unknown command 'failover'");
    expect(run.stderr).toContain('Usage: dr [options] [command]');
  });

  it('an unknown option exits 2 with the usage of that command', async () => {
    const run = await dr(['config', 'check', '--strict']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: unknown option '--strict'");
    expect(run.stderr).toContain('Usage: dr config check [options]');
  });

  it('a command group without its subcommand exits 2 with its usage', async () => {
    const run = await dr(['lab']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: dr lab [options] [command]');
    expect(run.stderr).toMatch(/up \[options\][\s\S]*down \[options\][\s\S]*status \[options\]/);
  });

  it('DR_DIST naming no build exits 1 and says how to build there or unset it', async () => {
    const run = await dr(['--help'], { DR_DIST: join(dir, 'no-build') });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`DR_DIST=${join(dir, 'no-build')} names no build`);
    expect(run.stderr).toContain(`--outDir ${join(dir, 'no-build')}`);
  });
});

describe('dr lab', () => {
  it('status of a directory without a lab exits 1 and says how to start one', async () => {
    const run = await dr(['lab', 'status', '--dir', join(dir, 'no-lab')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`dr lab status: ${join(dir, 'no-lab', 'lab.json')} not found`);
    expect(run.stderr).toContain('dr lab up');
  });

  it('up --dns route53-arc with --cloud azure exits 1 before starting anything', async () => {
    const lab = join(dir, 'arc-on-azure');
    const run = await dr(['lab', 'up', '--dir', lab, '--dns', 'route53-arc', '--cloud', 'azure']);
    expect([run.code, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toBe(
      'dr lab up: --dns route53-arc switches with an AWS service: use it without --cloud azure (Azure switches with Traffic Manager).\n',
    );
    expect(existsSync(lab)).toBe(false);
  });

  it('up and demo --redis azure-cache without --cloud azure exit 2 before starting anything', async () => {
    for (const command of [['lab', 'up'], ['demo']]) {
      const lab = join(dir, `azure-cache-on-aws-${command.length}`);
      const run = await dr([...command, '--dir', lab, '--redis', 'azure-cache']);
      expect([run.code, run.stdout]).toEqual([2, '']);
      expect(run.stderr).toMatch(
        /^error: --redis azure-cache needs --cloud azure \(the cache API checks the lab Entra ID's tokens\)\n/,
      );
      expect(run.stderr).toContain(`Usage: dr ${command.join(' ')} [options]`);
      expect(existsSync(lab)).toBe(false);
    }
    const help = await dr(['lab', 'up', '--help']);
    expect(help.stdout).toMatch(
      /\(choices: "replication", "elasticache-global",\s+"azure-cache"\)/,
    );
  });

  it('up and demo --postgres azure-flexible without --cloud azure exit 2 before starting anything', async () => {
    for (const command of [['lab', 'up'], ['demo']]) {
      const lab = join(dir, `azure-flexible-on-aws-${command.length}`);
      const run = await dr([...command, '--dir', lab, '--postgres', 'azure-flexible']);
      expect([run.code, run.stdout]).toEqual([2, '']);
      expect(run.stderr).toMatch(
        /^error: --postgres azure-flexible needs --cloud azure \(the flexible server API checks the lab Entra ID's tokens\)\n/,
      );
      expect(existsSync(lab)).toBe(false);
    }
  });

  it('up --help lists --dns with its two methods', async () => {
    const run = await dr(['lab', 'up', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--dns <method> +the DNS switch of the lab config/);
    expect(run.stdout).toContain('(choices: "route53", "route53-arc")');
  });

  it('up --help lists --custom-steps', async () => {
    const run = await dr(['lab', 'up', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--custom-steps +add one custom runbook step of each kind/);
  });

  it('up and demo --help list --postgres with its drivers', async () => {
    for (const command of [['lab', 'up'], ['demo']]) {
      const run = await dr([...command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/--postgres <driver> +the database driver of the lab config/);
      // Help wraps its lines: compare the words.
      expect(run.stdout.replace(/\s+/g, ' ')).toContain(
        '(choices: "streaming", "rds-replica", "aurora-global", "cloudnative-pg", "azure-flexible")',
      );
    }
  });
});

describe('dr config check', () => {
  it('validates the example file and prints what is configured', async () => {
    // Everything dr start needs is set, so config check has nothing to add on stderr.
    const run = await dr(['config', 'check', '--config', EXAMPLE], {
      ...EXAMPLE_ENV,
      ...START_ENV,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`${EXAMPLE}: valid`);
    expect(lines).toContain('regions:      primary eu-west-1, secondary eu-central-1');
    expect(lines).toContain('slack:        incident channel C0123INCIDENT, command /dr');
    expect(run.stdout).toMatch(
      /approvals: +1 besides the requester, from U0123ALICE, U0123BOB and members of user group S0123ONCALL/,
    );
    expect(run.stdout).toContain('postgres     primary $DR_PG_PRIMARY_URL (set)');
    expect(run.stdout).toContain('dns          route53 app.example.com');
    expect(run.stdout).toContain(
      "readiness:    every 15 min; drill warning after 90 days; Velero backups (daily) in velero, location default, younger than 24 h, seen by the secondary's default",
    );
    expect(lines).toContain(
      'consistency:  tables public.orders, public.customers in chunks of 50000 rows, 3 queries at a time per side; 1000 Redis keys at random; within 900 s; not wholly proven: pause',
    );
    expect(run.stdout).not.toContain('s3cret');
  });

  it('reads DR_CONFIG, says which components are not configured, and exits 1 for unset variables', async () => {
    const path = join(dir, 'partial.yaml');
    writeFileSync(
      path,
      'environment: staging\nregions:\n  primary: { name: a }\n  secondary: { name: b }\nslack: { incidentChannel: C0123ABCD }\napprovals: { approvers: [U0123ALICE] }\ncomponents:\n  postgres:\n    primary: { urlEnv: PG_A }\n    secondary: { urlEnv: PG_B }\n',
    );
    const run = await dr(['config', 'check'], { DR_CONFIG: path, PG_A: 'postgres://a/db' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('redis        not configured (its steps are skipped)');
    expect(run.stderr).toContain(
      `dr: ${path}: the environment is not ready for dr start (3 problems):`,
    );
    expect(run.stderr).toContain(
      'components.postgres.secondary.urlEnv: environment variable PG_B is not set',
    );
    expect(run.stderr).toContain('SLACK_BOT_TOKEN: not set');
    expect(run.stderr).toContain('use --skip-env to check the file only');

    const fileOnly = await dr(['config', 'check', '--skip-env'], { DR_CONFIG: path });
    expect(fileOnly.code).toBe(0);
  });

  it('exits 1 naming the file, the key and the reason for an invalid config', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(
      path,
      'environment: prod\nregions:\n  primary: { name: a }\n  secondary: { name: b }\nslack: { incidentChannel: C0123ABCD }\napprovals: { approvers: [U0123ALICE], required: 0 }\n',
    );
    const run = await dr(['config', 'check', '-c', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      `${path}: approvals.required: expected a number ≥ 1, got 0 (line 6)`,
    );
  });

  it('without --config or DR_CONFIG looks for ./dr.config.yaml and says how to point elsewhere', async () => {
    const run = await dr(['config', 'check'], {}, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'dr: no config at ./dr.config.yaml: pass --config FILE or set DR_CONFIG (dr.config.example.yaml shows every key)\n',
    );
  });
});

describe('dr start', () => {
  it('with an invalid config exits 1 with the path and the reason, before listening', async () => {
    const path = join(dir, 'start-bad.yaml');
    writeFileSync(
      path,
      'environment: prod\nregions:\n  primary: { name: a }\nslack: { incidentChannel: C0123ABCD }\napprovals: { approvers: [U0123ALICE] }\n',
    );
    // Everything else is in place, so only the config can be the reason; a bot that listened would not exit.
    const run = await dr(['start', '--config', path], {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      PORT: '0',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path}: regions.secondary: missing`);
    expect(run.stdout).not.toContain('dr-bot started');
  });

  it('with a valid config but an incomplete environment lists every missing variable and exits 1', async () => {
    const run = await dr(['start', '--config', EXAMPLE], { PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the environment is not ready for dr start (7 problems)');
    for (const name of [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET or SLACK_APP_TOKEN',
      'DR_PG_PRIMARY_URL',
      'DR_REDIS_SECONDARY_URL',
      'DR_ALERTMANAGER_TOKEN',
    ]) {
      expect(run.stderr).toContain(name);
    }
    expect(run.stdout).not.toContain('dr-bot started');
  });
});
