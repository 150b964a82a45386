import { pino } from 'pino';
import { createSlackAuthorizer, createSlackClient } from '../../src/bot/index.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

const log = pino({ level: 'silent' });

describe('Slack authorizer', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    await slack.close();
  });

  test('approvers by user id, and members of the user group read from Slack and cached', async () => {
    slack.setUserGroup('S0ONCALL', ['U0DAVE', 'U0ERIN']);
    let clock = 1_000_000;
    const client = createSlackClient('xoxb-test', { SLACK_API_URL: slack.apiUrl }, log);
    const auth = createSlackAuthorizer({
      config: {
        approvals: { approvers: ['U0BOB'], userGroup: 'S0ONCALL', required: 1, timeoutMinutes: 30 },
      },
      client,
      log,
      cacheMs: 60_000,
      now: () => clock,
    });
    expect(await auth.isAuthorized('U0BOB')).toBe(true);
    expect(await auth.isAuthorized('U0DAVE')).toBe(true);
    expect(await auth.isAuthorized('U0MALLORY')).toBe(false);
    expect(slack.api('usergroups.users.list')).toHaveLength(1);
    expect(slack.api('usergroups.users.list')[0]!.args.usergroup).toBe('S0ONCALL');
    expect(slack.api('usergroups.users.list')[0]!.token).toBe('xoxb-test');

    // Membership changes reach the bot once the cache is old.
    slack.setUserGroup('S0ONCALL', ['U0ERIN']);
    clock += 61_000;
    expect(await auth.isAuthorized('U0DAVE')).toBe(false);
    expect(slack.api('usergroups.users.list')).toHaveLength(2);
  });

  test('a Slack error keeps the last known members and the explicit approvers', async () => {
    slack.setUserGroup('S0TEAM', ['U0DAVE']);
    let clock = 0;
    const auth = createSlackAuthorizer({
      config: {
        approvals: { approvers: ['U0BOB'], userGroup: 'S0TEAM', required: 1, timeoutMinutes: 30 },
      },
      env: { SLACK_BOT_TOKEN: 'xoxb-env', SLACK_API_URL: slack.apiUrl },
      log,
      now: () => clock,
    });
    expect(await auth.isAuthorized('U0DAVE')).toBe(true);
    slack.failMethod('usergroups.users.list', 'ratelimited_forever');
    clock += 120_000;
    try {
      expect(await auth.isAuthorized('U0DAVE')).toBe(true);
      expect(await auth.isAuthorized('U0BOB')).toBe(true);
      expect(await auth.isAuthorized('U0MALLORY')).toBe(false);
    } finally {
      slack.failMethod('usergroups.users.list', undefined);
    }
  });

  test('without a user group no Slack call is made, and a group without a token is a config error', async () => {
    const before = slack.calls.length;
    const auth = createSlackAuthorizer({
      config: { approvals: { approvers: ['U0BOB'], required: 1, timeoutMinutes: 30 } },
      log,
    });
    expect(await auth.isAuthorized('U0BOB')).toBe(true);
    expect(await auth.isAuthorized('U0ALICE')).toBe(false);
    expect(slack.calls.length).toBe(before);
    expect(() =>
      createSlackAuthorizer({
        config: {
          approvals: { approvers: [], userGroup: 'S0TEAM', required: 1, timeoutMinutes: 30 },
        },
        env: {},
        log,
      }),
    ).toThrow(/SLACK_BOT_TOKEN is not set/);
  });
});
