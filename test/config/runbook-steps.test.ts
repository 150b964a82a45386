/**
 * `runbook.steps`: the team's own steps. A config that places them wrongly is refused before
 * anything runs, naming the key, the line and the fix; `dr config check` also finds a command
 * that is not installed and an environment variable a step needs that is not set.
 */
import { parseConfig } from '../../src/config/index.js';
import { runConfigCheck } from '../../src/cli/config-check.js';
import { configFiles, configRefusal } from '../support/config-files.js';

const BASE = `environment: staging
regions:
  primary: { name: eu-west-1 }
  secondary: { name: eu-central-1 }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE, U0123BOB]
`;
const ENV = {
  SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
  SLACK_SIGNING_SECRET: 'signing',
  REDIS_URL: 'redis://dr-state.internal:6379',
  PATH: process.env.PATH,
};

const write = configFiles('dr-runbook-steps-test');

function withSteps(steps: string): string {
  return `${BASE}runbook:\n  steps:\n${steps}`;
}

function configCheck(path: string, env: NodeJS.ProcessEnv): { code: number; out: string } {
  let out = '';
  const code = runConfigCheck({
    path,
    skipEnv: false,
    io: { stdout: (t) => void (out += t), stderr: (t) => void (out += t), env },
  });
  return { code, out };
}

const THREE_KINDS = `    - id: pause-consumers
      title: Pause queue consumers
      beside: promote-database
      command: { argv: [sh, -c, "true"], check: { argv: ["true"] } }
    - id: status-page
      title: Update the status page
      after: switch-dns
      http: { url: "http://127.0.0.1:9/incidents", headers: { Authorization: STATUS_TOKEN } }
    - id: tell-support
      title: Tell customer support
      after: status-page
      operations: [failover]
      manual: { text: "Post the incident in #support", owners: [U0123BOB] }
`;

describe('runbook.steps in the config', () => {
  it('accepts one step of each kind and fills the defaults', () => {
    const config = parseConfig(withSteps(THREE_KINDS), 'dr.config.yaml');
    const [command, http, manual] = config.runbook.steps;
    expect(command.modes).toEqual(['planned', 'unplanned']);
    expect(command.command).toMatchObject({ timeoutSeconds: 300, retries: 0, env: [] });
    expect(http.http).toMatchObject({ method: 'POST', expectStatus: 200 });
    expect(manual.manual?.owners).toEqual(['U0123BOB']);
    expect(parseConfig(BASE, 'x.yaml').runbook.steps).toEqual([]);
  });

  it('refuses an anchor that is no step, naming the line and the steps there are', () => {
    const msg = configRefusal(
      withSteps(
        `    - id: purge-cdn\n      title: Purge CDN\n      after: switch-dnss\n      manual: { text: go }\n`,
      ),
    );
    expect(msg).toContain('runbook.steps[0].after: "switch-dnss" is not a step of any runbook');
    expect(msg).toContain('name a built-in step (promote-database, ');
    expect(msg).toMatch(/\(line 13\)/);
  });

  it('refuses duplicate ids and a built-in id', () => {
    const msg = configRefusal(
      withSteps(`    - id: purge-cdn
      title: Purge CDN
      after: switch-dns
      manual: { text: go }
    - id: purge-cdn
      title: Purge CDN again
      after: switch-dns
      manual: { text: go }
    - id: switch-dns
      title: Mine
      after: switch-dns
      manual: { text: go }
`),
    );
    expect(msg).toContain('runbook.steps[1].id: "purge-cdn" is already the id of runbook.steps[0]');
    expect(msg).toContain('runbook.steps[2].id: "switch-dns" is a built-in step\'s id');
  });

  it('refuses a step after one that does not run in its operation, and a circle', () => {
    const msg = configRefusal(
      withSteps(`    - id: drain
      title: Drain
      after: switch-dns
      operations: [failover]
      manual: { text: go }
    - id: announce
      title: Announce
      after: drain
      operations: [failover, failback]
      manual: { text: go }
    - id: a
      title: A
      after: b
      manual: { text: go }
    - id: b
      title: B
      after: a
      manual: { text: go }
`),
    );
    expect(msg).toContain(
      'runbook.steps[1].operations: this step runs in failback but its anchor "drain" does not',
    );
    expect(msg).toContain('placed after each other in a circle');
  });

  it('refuses a step without an action, with two actions, or without a placement', () => {
    const msg = configRefusal(
      withSteps(`    - id: nothing
      title: Nothing
      after: switch-dns
    - id: both
      title: Both
      beside: switch-dns
      after: switch-dns
      manual: { text: go }
      http: { url: "http://x.internal/" }
`),
    );
    expect(msg).toContain(
      'runbook.steps[0]: give exactly one action: command, http or manual (found none)',
    );
    expect(msg).toContain('found http and manual');
    expect(msg).toContain('runbook.steps[1]: place the step with exactly one of after');
  });

  it('dr config check names a command not on PATH, an unset variable, a manual step it cannot run yet', () => {
    const path = write(
      'missing.yaml',
      withSteps(`    - id: purge-cdn
      title: Purge CDN
      after: switch-dns
      command: { argv: [purge-cdn-not-installed, --all], env: [CDN_TOKEN], check: { argv: [./no/such/check.sh] } }
    - id: status-page
      title: Status page
      after: switch-dns
      http: { url: "http://status.internal/", headers: { Authorization: STATUS_TOKEN } }
`),
    );
    const run = configCheck(path, ENV);
    expect(run.code).toBe(1);
    expect(run.out).toContain(
      'runbook.steps[0].command.argv[0]: purge-cdn-not-installed is not found on PATH',
    );
    expect(run.out).toContain(
      'runbook.steps[0].command.check.argv[0]: ./no/such/check.sh does not exist',
    );
    expect(run.out).toContain('runbook.steps[0].command.env: CDN_TOKEN is not set');
    expect(run.out).toContain(
      'runbook.steps[1].http.headers.Authorization: STATUS_TOKEN is not set',
    );
    const ok = configCheck(write('ok.yaml', withSteps(THREE_KINDS)), { ...ENV, STATUS_TOKEN: 't' });
    // A manual step needs nothing from the machine: all three pass.
    expect(ok.out).not.toContain('runbook.steps[');
  });
});
