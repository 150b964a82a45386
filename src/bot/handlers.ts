/**
 * Slash command and button handlers. Every handler acks first (Slack gives us 3 s) and does the
 * work afterwards; answers meant for one person go back ephemeral through the response_url.
 */
import type { App, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { OperationView } from '../domain/types.js';
import type { ActionOutcome, Engine } from '../engine/types.js';
import { commandRef } from '../domain/commands.js';
import { parseCommand, slackText, usageText, type ParsedCommand } from './commands.js';
import type { CardUpdater } from './card-updater.js';
import type { Detector } from '../detection/index.js';
import { signalsLine } from './proposal.js';
import { waitingLines } from './manual-step.js';
import { readinessStatusLines, type ReadinessSource } from './readiness.js';
import { refusalMessage } from './refusals.js';
import { freshnessLine, sharedAnswer, type Fresh } from './status-cache.js';
import {
  ACTION_IDS,
  cardPermalinkFallback,
  decodeButtonValue,
  statusLine,
  type CardAction,
} from './render.js';

/** The slice of the Web API the handlers need (permalinks for links to status cards). */
interface PermalinkClient {
  chat: {
    getPermalink(args: { channel: string; message_ts: string }): Promise<{ permalink?: string }>;
  };
}

interface HandlerDeps {
  config: DrConfig;
  engine: Engine;
  cards: CardUpdater;
  client: PermalinkClient;
  log: Logger;
  /** When detection is on, `/dr status` shows its current signals. */
  detector?: Detector;
  /** `/dr status` adds the last readiness report's tally and every check that is not ok. */
  readiness?: ReadinessSource;
}

async function answer(respond: RespondFn, log: Logger, text: string): Promise<void> {
  try {
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  } catch (err) {
    log.error({ err }, 'could not send an ephemeral answer through the response_url');
  }
}

function describeFailure(err: unknown, what: 'command' | 'click'): string {
  // Our messages end with a full stop already.
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\.+$/, '');
  return `The bot could not handle this ${what}: ${msg}. Try again, check ${commandRef('status')}, or look at the bot's logs.`;
}

/** What every handler shares: its deps and the approval policy refusals explain. */
interface Handlers extends HandlerDeps {
  policy: { approvers: string[]; userGroup?: string };
  /** The status lines, computed once for a burst of `/dr status` (see status-cache.ts). */
  statusLines: () => Promise<Fresh<string[]>>;
  /** A card's permalink by `channel/ts`: Slack's answer for a message never changes. */
  permalinks: Map<string, string>;
}

/** Enough permalinks for every card `/dr status` links (the active and the last operation). */
const PERMALINKS_KEPT = 50;

/**
 * Resolves once the I/O that is ready now has been handled: the work after an ack waits for it,
 * so the other requests of a burst get their acks before any of the answers is worked out.
 */
const afterPendingAcks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A burst of /dr status shares the computation in flight; a request after it has finished gets a
 * new one, so an answer never predates an alert or a step that came before the request.
 */
const STATUS_TTL_MS = 0;

type Command<T extends ParsedCommand['type']> = Extract<ParsedCommand, { type: T }>;

export function registerHandlers(app: App, deps: HandlerDeps): void {
  const { config, engine, log } = deps;
  const h: Handlers = {
    ...deps,
    policy: {
      approvers: config.approvals.approvers,
      ...(config.approvals.userGroup ? { userGroup: config.approvals.userGroup } : {}),
    },
    statusLines: () => Promise.reject(new Error('not set up')),
    permalinks: new Map(),
  };
  h.statusLines = sharedAnswer(STATUS_TTL_MS, () => computeStatusLines(h, log));

  app.command(config.slack.command, async ({ command, ack, respond }) => {
    // In HTTP mode the ack has been sent before this runs (ack-front.ts): every answer, help
    // included, goes through the response_url.
    await ack();
    await afterPendingAcks();
    const parsed = parseCommand(command.text ?? '');
    if (parsed.type === 'help' || parsed.type === 'usage') {
      const text =
        parsed.type === 'usage'
          ? `${parsed.problem}\n${usageText(config.slack.command)}`
          : usageText(config.slack.command);
      await answer(respond, log, text);
      return;
    }
    const userId = command.user_id;
    const clog = log.child({ userId, subcommand: parsed.type });
    try {
      if (parsed.type === 'request') await requestCommand(h, parsed, userId, respond, clog);
      else if (parsed.type === 'status') await statusCommand(h, respond, clog);
      else if (parsed.type === 'abort') await abortCommand(h, parsed, userId, respond, clog);
    } catch (err) {
      clog.error({ err }, 'slash command failed');
      await reply(h, respond, clog, describeFailure(err, 'command'));
    }
  });

  // A button drawn before the plan hash existed carries none; an empty hash can never match, so
  // the engine answers "stale plan" instead of approving a plan nobody saw.
  onButton(app, h, 'approve', (opId, userId, v) =>
    engine.approve({ opId, userId, planHash: v.planHash ?? '' }),
  );
  onButton(app, h, 'reject', (opId, userId) => engine.reject({ opId, userId }));
  onButton(app, h, 'retry', (opId, userId) => engine.retry({ opId, userId }));
  onButton(app, h, 'skip', (opId, userId, v) =>
    engine.skip({ opId, userId, ...(v.stepId ? { stepId: v.stepId } : {}) }),
  );
  onButton(app, h, 'done', (opId, userId, v) =>
    engine.done({ opId, userId, ...(v.stepId ? { stepId: v.stepId } : {}) }),
  );
  onButton(app, h, 'abort', (opId, userId) => engine.abort({ opId, userId }));
  onButton(app, h, 'undo', (opId, userId) => engine.undo({ opId, userId }));
  onButton(app, h, 'detach', (opId, userId) => engine.detach({ opId, userId }));
}

/** Every ephemeral answer, engine messages included, with their commands spelled for Slack. */
function reply(h: Handlers, respond: RespondFn, l: Logger, text: string): Promise<void> {
  return answer(respond, l, slackText(text, h.config.slack.command));
}

async function cardLink(h: Handlers, opId: string): Promise<string | null> {
  const { cards, client, log } = h;
  let ref;
  try {
    ref = await cards.cardRef(opId);
  } catch (err) {
    log.warn({ err, opId }, 'could not read the status card reference');
    return null;
  }
  if (!ref) return null;
  const key = `${ref.channel}/${ref.ts}`;
  const known = h.permalinks.get(key);
  if (known) return known;
  try {
    const res = await client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts });
    if (res.permalink) {
      if (h.permalinks.size >= PERMALINKS_KEPT) h.permalinks.clear();
      h.permalinks.set(key, res.permalink);
      return res.permalink;
    }
  } catch (err) {
    log.warn({ err, opId }, 'chat.getPermalink failed; building the card link by hand');
  }
  return cardPermalinkFallback(ref.channel, ref.ts);
}

async function viewLine(h: Handlers, view: OperationView | null): Promise<string | null> {
  return view ? statusLine(view, await cardLink(h, view.id)) : null;
}

async function requestCommand(
  h: Handlers,
  parsed: Command<'request'>,
  userId: string,
  respond: RespondFn,
  clog: Logger,
): Promise<void> {
  const { config, engine } = h;
  const res = await engine.request({
    kind: parsed.kind,
    mode: parsed.mode,
    requester: userId,
    reason: parsed.reason,
  });
  if (res.ok) {
    clog.info({ opId: res.op.id, kind: parsed.kind }, 'operation requested from Slack');
    await reply(
      h,
      respond,
      clog,
      `${res.op.id} requested: the ${parsed.kind} of *${res.op.env}* runs after another approver approves it on the status card in <#${config.slack.incidentChannel}>.`,
    );
  } else if (res.code === 'settling' || res.unrestorable) {
    await reply(h, respond, clog, res.message);
  } else {
    const link = await cardLink(h, res.activeId);
    await reply(
      h,
      respond,
      clog,
      `${res.activeId} is already in progress${res.activeKind ? ` (a ${res.activeKind})` : ''}${link ? `: <${link}|status card>` : ` (see <#${config.slack.incidentChannel}>)`}. Only one operation per environment runs at a time: let it finish or abort it before requesting a ${parsed.kind}.`,
    );
  }
}

async function statusCommand(h: Handlers, respond: RespondFn, clog: Logger): Promise<void> {
  const { value, at } = await h.statusLines();
  await reply(h, respond, clog, [...value, freshnessLine(at)].join('\n'));
}

async function computeStatusLines(h: Handlers, clog: Logger): Promise<string[]> {
  const { config, engine } = h;
  const { active, last, unrestorable } = await engine.status();
  const activeLine = unrestorable
    ? `*${unrestorable.id}* cannot be resumed by this version of dr-bot: ${unrestorable.reason}. It keeps *${config.environment}* locked; an approver can close it with \`${config.slack.command} abort\`.`
    : ((await viewLine(h, active)) ?? `no operation in progress for *${config.environment}*`);
  const lines = [
    `*Active:* ${activeLine}`,
    ...waitingLines(active, h.policy),
    `*Last finished:* ${(await viewLine(h, last)) ?? 'none yet'}`,
  ];
  if (h.detector) {
    try {
      lines.push(`*Signals:* ${signalsLine(await h.detector.signals())}`);
    } catch (err) {
      clog.warn({ err }, 'could not read the detection signals');
      lines.push('*Signals:* could not be read (state Redis unavailable?)');
    }
  }
  if (h.readiness) {
    try {
      lines.push(...readinessStatusLines(await h.readiness.lastReport()));
    } catch (err) {
      clog.warn({ err }, 'could not read the last readiness report');
      lines.push('*Readiness:* could not be read (state Redis unavailable?)');
    }
  }
  return lines;
}

async function abortCommand(
  h: Handlers,
  parsed: Command<'abort'>,
  userId: string,
  respond: RespondFn,
  clog: Logger,
): Promise<void> {
  // A named operation is aborted only if it is that one: the engine refuses one that has
  // finished or does not exist, instead of aborting whatever is active.
  const outcome = await h.engine.abort({
    userId,
    ...(parsed.opId ? { opId: parsed.opId } : {}),
    ...(parsed.reason ? { reason: parsed.reason } : {}),
  });
  if (!outcome.ok && outcome.reason === 'unknown-operation' && !parsed.opId) {
    await reply(
      h,
      respond,
      clog,
      `There is no operation in progress for *${h.config.environment}*: nothing to abort.`,
    );
  } else {
    await reply(
      h,
      respond,
      clog,
      outcomeText(h, outcome, outcome.op?.id ?? parsed.opId ?? 'the operation', userId, 'abort'),
    );
  }
}

function outcomeText(
  h: Handlers,
  outcome: ActionOutcome,
  opId: string,
  userId: string,
  action: CardAction,
): string {
  if (outcome.ok) return outcome.message;
  return refusalMessage({
    reason: outcome.reason,
    opId,
    userId,
    action,
    op: outcome.op ?? null,
    policy: h.policy,
    fallback: outcome.message,
  });
}

function onButton(
  app: App,
  h: Handlers,
  action: CardAction,
  call: (
    opId: string,
    userId: string,
    value: NonNullable<ReturnType<typeof decodeButtonValue>>,
  ) => Promise<ActionOutcome>,
): void {
  const { log } = h;
  app.action(ACTION_IDS[action], async ({ ack, body, action: element, respond }) => {
    await ack();
    await afterPendingAcks();
    const userId = body.user.id;
    const raw = 'value' in element && typeof element.value === 'string' ? element.value : undefined;
    const value = decodeButtonValue(raw);
    if (!value) {
      log.warn({ userId, action }, 'button without a readable value');
      await reply(
        h,
        respond,
        log,
        'This button is not one the bot can read; use the buttons on the latest status card.',
      );
      return;
    }
    const alog = log.child({ opId: value.opId, userId, action });
    try {
      const outcome = await call(value.opId, userId, value);
      if (outcome.ok) {
        alog.info('button action accepted');
        return;
      }
      alog.info({ reason: outcome.reason }, 'button action refused');
      await reply(h, respond, alog, outcomeText(h, outcome, value.opId, userId, action));
    } catch (err) {
      alog.error({ err }, 'button action failed');
      await reply(h, respond, alog, describeFailure(err, 'click'));
    }
  });
}
