/**
 * The console's command line: the Slack slash command's words (parsed by the same parser), plus
 * what Slack does with buttons (approve, reject, retry, skip) and who is typing (`as USER`).
 */
import { parseCommand, type ParsedCommand } from '../bot/commands.js';

export type ButtonAction = 'approve' | 'reject' | 'retry' | 'skip';

export type ConsoleCommand =
  | ParsedCommand
  | { type: 'action'; action: ButtonAction; opId?: string; reason: string }
  | { type: 'report'; opId?: string }
  | { type: 'wait'; opId?: string }
  | { type: 'exit' };

export interface ConsoleLine {
  /** Who typed it, when the line names someone (`as bob …` or `… as bob`). */
  as?: string;
  command: ConsoleCommand;
}

const OP_ID = /^DR-\d{8}-\d{4,}$/i;
const ACTIONS: readonly ButtonAction[] = ['approve', 'reject', 'retry', 'skip'];

/** `as USER` first or last on the line picks the person; the rest is the command. */
function splitUser(words: string[]): { as?: string; words: string[] } {
  if (words.length >= 2 && words[0].toLowerCase() === 'as') return { as: words[1], words: words.slice(2) };
  const n = words.length;
  if (n >= 3 && words[n - 2].toLowerCase() === 'as') return { as: words[n - 1], words: words.slice(0, n - 2) };
  return { words };
}

export function parseConsoleLine(line: string): ConsoleLine {
  const split = splitUser(line.trim().replace(/:$/, '').split(/\s+/).filter((w) => w.length > 0));
  const who = split.as !== undefined ? { as: split.as.replace(/:$/, '') } : {};
  const [sub, ...rest] = split.words;
  const lower = sub?.toLowerCase();
  const opFirst = rest[0] !== undefined && OP_ID.test(rest[0]) ? rest[0].toUpperCase() : undefined;
  const after = opFirst ? rest.slice(1) : rest;
  if (lower === 'exit' || lower === 'quit') return { ...who, command: { type: 'exit' } };
  if (lower === 'report') return { ...who, command: { type: 'report', ...(opFirst ? { opId: opFirst } : {}) } };
  if (lower === 'wait') return { ...who, command: { type: 'wait', ...(opFirst ? { opId: opFirst } : {}) } };
  if (ACTIONS.includes(lower as ButtonAction)) {
    return { ...who, command: { type: 'action', action: lower as ButtonAction, ...(opFirst ? { opId: opFirst } : {}), reason: after.join(' ') } };
  }
  return { ...who, command: parseCommand(split.words.join(' ')) };
}

export function consoleHelp(): string {
  return [
    'Commands (the same as /dr in Slack; the buttons are commands here):',
    '  failover [planned|unplanned] [reason…]   request a failover to the secondary',
    '  failback [reason…]                       request the failback to the primary',
    '  drill [reason…]                          request a drill: failover, integration tests, failback, report',
    '  status                                   the active operation and the last finished one',
    '  approve [DR-…]                           approve the plan shown (default: the active operation)',
    '  reject [DR-…] [reason…]                  reject before it runs',
    '  retry [DR-…] | skip [DR-…]               after a step failed',
    '  abort [reason…]                          abort the active operation',
    '  report [DR-…]                            print a drill report (default: the last finished drill)',
    '  wait [DR-…]                              until the operation needs someone (approval, a failed step) or finishes',
    '  help | exit',
    'Add `as USER` (first or last on the line) to type as someone else, e.g. `approve DR-20261125-0001 as bob`.',
  ].join('\n');
}
