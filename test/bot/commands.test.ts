import { parseCommand, usageText } from '../../src/bot/commands.js';
import { evaluateAction } from '../../src/machine/index.js';

describe('/dr command parsing', () => {
  test('failover without a mode lets preflight decide, and keeps the whole reason', () => {
    expect(parseCommand('failover eu-west-1 is down, AWS status page red')).toEqual({
      type: 'request',
      kind: 'failover',
      mode: 'auto',
      reason: 'eu-west-1 is down, AWS status page red',
    });
  });

  test('failover with an explicit mode', () => {
    expect(parseCommand('failover planned quarterly drill')).toEqual({
      type: 'request',
      kind: 'failover',
      mode: 'planned',
      reason: 'quarterly drill',
    });
    expect(parseCommand('  FAILOVER   Unplanned   region gone ')).toEqual({
      type: 'request',
      kind: 'failover',
      mode: 'unplanned',
      reason: 'region gone',
    });
    expect(parseCommand('failover')).toEqual({
      type: 'request',
      kind: 'failover',
      mode: 'auto',
      reason: '',
    });
  });

  test('failback, status, abort, help', () => {
    expect(parseCommand('failback primary rebuilt')).toEqual({
      type: 'request',
      kind: 'failback',
      mode: 'auto',
      reason: 'primary rebuilt',
    });
    expect(parseCommand('status')).toEqual({ type: 'status' });
    expect(parseCommand('abort wrong region')).toEqual({ type: 'abort', reason: 'wrong region' });
    expect(parseCommand('abort')).toEqual({ type: 'abort', reason: '' });
    expect(parseCommand('abort dr-20261125-0004 wrong region')).toEqual({
      type: 'abort',
      opId: 'DR-20261125-0004',
      reason: 'wrong region',
    });
    expect(parseCommand('abort DR-2026120-0004 x')).toEqual({
      type: 'usage',
      problem: '`DR-2026120-0004` is not an operation id: they look like DR-20261125-093015.',
    });
    expect(parseCommand('help')).toEqual({ type: 'help' });
  });

  test('a drill is always requested as planned: it fails over on purpose, with the primary up', () => {
    expect(parseCommand('drill Q4 DR drill')).toEqual({
      type: 'request',
      kind: 'drill',
      mode: 'planned',
      reason: 'Q4 DR drill',
    });
    expect(parseCommand('drill planned Q4')).toEqual({
      type: 'request',
      kind: 'drill',
      mode: 'planned',
      reason: 'Q4',
    });
    expect(parseCommand('drill unplanned')).toEqual({
      type: 'usage',
      problem:
        'A drill is always planned (it fails over on purpose while the primary is up): give just a reason, e.g. `drill Q4 DR drill`.',
    });
  });

  test('anything else is a usage answer that says what was wrong', () => {
    expect(parseCommand('')).toEqual({ type: 'usage', problem: 'No subcommand given.' });
    expect(parseCommand('promote now')).toEqual({
      type: 'usage',
      problem: 'Unknown subcommand `promote`.',
    });
    expect(parseCommand('status please')).toEqual({
      type: 'usage',
      problem: '`status` takes no arguments.',
    });
  });

  test('the usage text lists every subcommand under the configured command name', () => {
    const text = usageText('/drx');
    for (const sub of [
      'failover [planned|unplanned]',
      'failback',
      'drill',
      'status',
      'abort',
      'help',
    ]) {
      expect(text).toContain(`/drx ${sub}`);
    }
  });

  test('the abort line says who may abort as the approval policy decides it', () => {
    const line = usageText('/dr')
      .split('\n')
      .find((l) => l.includes('/dr abort'))!;
    const view = {
      phase: 'awaitingApproval' as const,
      requester: 'U0ALICE',
      approvals: [],
      planHash: 'h',
    };
    // The requester may withdraw their own request before it is approved, not once it runs.
    expect(evaluateAction(view, 'abort', 'U0ALICE', false)).toBeNull();
    expect(evaluateAction({ ...view, phase: 'running' }, 'abort', 'U0ALICE', false)).toBe(
      'unauthorized',
    );
    expect(line).not.toContain('approvers only');
    expect(line).toContain('approvers; the requester too, until it is approved');
  });
});
