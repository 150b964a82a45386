/**
 * The console's command line: the Slack slash command's words (parsed by the same parser), plus
 * what Slack does with buttons (approve, reject, retry, skip, undo) and who is typing (`as USER`).
 */
import { OP_ID_EXAMPLE, parseCommand, readOpId, type ParsedCommand } from '../bot/commands.js';

type ButtonAction = 'approve' | 'reject' | 'retry' | 'skip' | 'undo' | 'done' | 'detach';

export type ConsoleCommand =
  | ParsedCommand
  | {
      type: 'action';
      action: ButtonAction;
      opId?: string;
      reason: string;
      /** `done <step>` / `skip <step>`: a manual step's configured id. */
      step?: string;
    }
  | { type: 'report'; opId?: string }
  | { type: 'reports' }
  | { type: 'wait'; opId?: string }
  | { type: 'exit' };

interface ConsoleLine {
  /** Who typed it, when the line names someone (`as bob …` or `… as bob`). */
  as?: string;
  command: ConsoleCommand;
}

const ACTIONS: readonly ButtonAction[] = [
  'approve',
  'reject',
  'retry',
  'skip',
  'undo',
  'done',
  'detach',
];
/** A custom step's configured id (runbook.steps[].id), as `done` and `skip` take it. */
const STEP_WORD = /^[a-z0-9][a-z0-9-]*$/;

/** `done <step> [DR-…]` / `skip [<step>] [DR-…]`: the step first, then an optional id. */
function stepAction(lower: 'done' | 'skip', rest: string[]): ConsoleCommand {
  const [first, ...others] = rest;
  const step = first !== undefined && readOpId(first).kind === 'none' ? first : undefined;
  const after = step !== undefined ? others : rest;
  const id = readOpId(after[0]);
  if (id.kind === 'malformed') return { type: 'usage', problem: id.problem };
  const tail = id.kind === 'id' ? after.slice(1) : after;
  if ((step !== undefined && !STEP_WORD.test(step)) || tail.length > 0)
    return {
      type: 'usage',
      problem: `\`${lower}\` takes a manual step's id and at most an operation id (\`${lower} tell-support [DR-…]\`).`,
    };
  return {
    type: 'action',
    action: lower,
    reason: '',
    ...(step !== undefined ? { step } : {}),
    ...(id.kind === 'id' ? { opId: id.opId } : {}),
  };
}

/** `as USER` first or last on the line picks the person; the rest is the command. */
function splitUser(words: string[]): { as?: string; words: string[] } {
  if (words.length >= 2 && words[0].toLowerCase() === 'as')
    return { as: words[1], words: words.slice(2) };
  const n = words.length;
  if (n >= 3 && words[n - 2].toLowerCase() === 'as')
    return { as: words[n - 1], words: words.slice(0, n - 2) };
  return { words };
}

export function parseConsoleLine(line: string): ConsoleLine {
  const split = splitUser(
    line
      .trim()
      .replace(/:$/, '')
      .split(/\s+/)
      .filter((w) => w.length > 0),
  );
  const who = split.as !== undefined ? { as: split.as.replace(/:$/, '') } : {};
  const [sub, ...rest] = split.words;
  const lower = sub?.toLowerCase();
  const usage = (problem: string): ConsoleLine => ({ ...who, command: { type: 'usage', problem } });
  if (lower === 'exit' || lower === 'quit') return { ...who, command: { type: 'exit' } };
  if (lower === 'reports')
    return rest.length === 0
      ? { ...who, command: { type: 'reports' } }
      : usage('`reports` takes no arguments.');
  if (lower === 'done' || lower === 'skip') return { ...who, command: stepAction(lower, rest) };
  if (lower === 'report' || lower === 'wait' || ACTIONS.includes(lower as ButtonAction)) {
    // An id may follow the verb. Something that starts like one but is not one is a typo: it
    // must not fall back to the active operation (or become a reason).
    const id = readOpId(rest[0]);
    if (id.kind === 'malformed') return usage(id.problem);
    const opId = id.kind === 'id' ? { opId: id.opId } : {};
    const after = id.kind === 'id' ? rest.slice(1) : rest;
    if (lower === 'reject')
      return {
        ...who,
        command: { type: 'action', action: 'reject', ...opId, reason: after.join(' ') },
      };
    if (after.length > 0)
      return usage(
        `\`${lower}\` takes at most an operation id (\`${lower} [DR-…]\`, e.g. \`${lower} ${OP_ID_EXAMPLE}\`), not \`${after.join(' ')}\`.`,
      );
    if (lower === 'report') return { ...who, command: { type: 'report', ...opId } };
    if (lower === 'wait') return { ...who, command: { type: 'wait', ...opId } };
    return {
      ...who,
      command: { type: 'action', action: lower as ButtonAction, ...opId, reason: '' },
    };
  }
  return { ...who, command: parseCommand(split.words.join(' ')) };
}

interface HelpContext {
  /** approvals.approvers, as they are typed here (local names where the session has them). */
  approvers: readonly string[];
  /** Who types when a line names nobody. */
  user: string;
}

export function consoleHelp(ctx?: HelpContext): string {
  const others = ctx ? ctx.approvers.filter((a) => a !== ctx.user) : [];
  const example = others[0] ?? ctx?.approvers[0];
  const who = !ctx
    ? 'USER is a Slack user id from approvals.approvers'
    : ctx.approvers.length === 0
      ? 'nobody is listed in approvals.approvers, so nobody can approve here'
      : `approvers here (approvals.approvers): ${ctx.approvers.join(', ')}`;
  return [
    'Commands (the same as /dr in Slack; the buttons are commands here):',
    '  failover [planned|unplanned] [reason…]   request a failover to the secondary',
    '  failback [reason…]                       request the failback to the primary',
    '  drill [reason…]                          request a drill: failover, integration tests, failback, report',
    '  status                                   the active operation and the last finished one',
    '  approve [DR-…]                           approve the plan shown (default: the active operation; during its preflight, once that ends)',
    '  reject [DR-…] [reason…]                  reject before it runs',
    '  retry [DR-…] | skip [DR-…]               after a step failed',
    '  done STEP [DR-…] | skip STEP [DR-…]      confirm (or skip) a manual step that waits',
    '  undo [DR-…]                              put back a split data tier (Redis); a second approver confirms',
    '  detach [DR-…]                            the last resort a failed step offers (ElastiCache: detach the secondary; one-way); a second approver confirms',
    '  abort [DR-…] [reason…]                   abort the active operation',
    '  report [DR-…]                            print a drill report (default: the last drill)',
    '  reports                                  the drills of this environment that have a report',
    '  wait [DR-…]                              until the operation needs someone (approval, a failed or manual step) or finishes',
    '  help | exit',
    `An id names one operation (they look like ${OP_ID_EXAMPLE}); a mistyped one is refused, never taken for the active operation.`,
    `Add \`as USER\` (first or last on the line) to type as someone else, e.g. \`approve as ${example ?? 'U0123BOB'}\`; ${who}.`,
  ].join('\n');
}
