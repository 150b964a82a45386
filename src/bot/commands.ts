/**
 * Parsing of the slash command text. Pure: the handler decides what to do with the result, and
 * anything we do not understand becomes the usage text rather than a guess.
 */
import { renderCommands } from '../domain/commands.js';
import type { OperationKind, RequestedMode } from '../domain/types.js';

export type ParsedCommand =
  | { type: 'request'; kind: OperationKind; mode: RequestedMode; reason: string }
  | { type: 'status' }
  /** `opId`: the operation named (`abort DR-… reason`); without it, the active one. */
  | { type: 'abort'; opId?: string; reason: string }
  | { type: 'help' }
  | { type: 'usage'; problem: string };

/** Operation ids as the store makes them: DR-<yyyymmdd>-<nnnn>. */
const OP_ID = /^DR-\d{8}-\d{4,}$/i;
export const OP_ID_EXAMPLE = 'DR-20261125-093015';

/**
 * A word where an operation id may stand: the id (upper-cased), a mistyped one (anything starting
 * with `DR-`, refused, never read as a reason or as "the active operation"), or no id at all.
 */
type OpIdWord =
  { kind: 'id'; opId: string } | { kind: 'malformed'; problem: string } | { kind: 'none' };

export function readOpId(word: string | undefined): OpIdWord {
  if (word === undefined || !/^DR-/i.test(word)) return { kind: 'none' };
  if (OP_ID.test(word)) return { kind: 'id', opId: word.toUpperCase() };
  return { kind: 'malformed', problem: malformedOpId(word) };
}

export function isOpId(word: string): boolean {
  return OP_ID.test(word);
}

export function malformedOpId(word: string): string {
  return `\`${word}\` is not an operation id: they look like ${OP_ID_EXAMPLE}.`;
}

export function parseCommand(text: string): ParsedCommand {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const [sub, ...rest] = words;
  const tail = (ws: string[]): string => ws.join(' ');
  switch (sub?.toLowerCase()) {
    case undefined:
      return { type: 'usage', problem: 'No subcommand given.' };
    case 'help':
      return { type: 'help' };
    case 'status':
      return rest.length === 0
        ? { type: 'status' }
        : { type: 'usage', problem: '`status` takes no arguments.' };
    case 'failover': {
      const first = rest[0]?.toLowerCase();
      // `auto` lets preflight decide from the primary's reachability; naming a mode overrides that.
      if (first === 'planned' || first === 'unplanned') {
        return { type: 'request', kind: 'failover', mode: first, reason: tail(rest.slice(1)) };
      }
      return { type: 'request', kind: 'failover', mode: 'auto', reason: tail(rest) };
    }
    case 'failback':
      return { type: 'request', kind: 'failback', mode: 'auto', reason: tail(rest) };
    case 'drill': {
      // A drill fails over on purpose: only a planned (zero-loss) switch makes sense, so preflight
      // refuses it when the primary is not reachable.
      const first = rest[0]?.toLowerCase();
      if (first === 'unplanned' || first === 'auto') {
        return {
          type: 'usage',
          problem:
            'A drill is always planned (it fails over on purpose while the primary is up): give just a reason, e.g. `drill Q4 DR drill`.',
        };
      }
      return {
        type: 'request',
        kind: 'drill',
        mode: 'planned',
        reason: tail(first === 'planned' ? rest.slice(1) : rest),
      };
    }
    case 'abort': {
      // `/dr abort DR-…` names the operation: a mistyped id must not abort the active one with
      // the typo as its reason.
      const id = readOpId(rest[0]);
      if (id.kind === 'malformed') return { type: 'usage', problem: id.problem };
      return id.kind === 'id'
        ? { type: 'abort', opId: id.opId, reason: tail(rest.slice(1)) }
        : { type: 'abort', reason: tail(rest) };
    }
    default:
      return { type: 'usage', problem: `Unknown subcommand \`${sub}\`.` };
  }
}

export function usageText(command: string): string {
  return [
    `*Usage of \`${command}\`*`,
    `• \`${command} failover [planned|unplanned] [reason…]\` — request a failover to the secondary region (needs approval)`,
    `• \`${command} failback [reason…]\` — request the failback to the primary region (needs approval)`,
    `• \`${command} drill [reason…]\` — request a DR drill: failover, integration tests, failback, with a drill report (needs approval)`,
    `• \`${command} status\` — the active operation and the last finished one`,
    `• \`${command} abort [DR-…] [reason…]\` — abort the active operation (approvers; the requester too, until it is approved)`,
    `• \`${command} help\` — this text`,
  ].join('\n');
}

/**
 * The engine names commands by verb (domain/commands); in Slack they are the configured slash
 * command and the verb, `/dr abort`.
 */
export function slackText(text: string, command: string): string {
  return renderCommands(text, (verb) => `\`${command} ${verb}\``);
}
