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
import { parseCommand, slackText, usageText } from './commands.js';
import type { CardUpdater } from './card-updater.js';
import type { Detector } from '../detection/index.js';
import { signalsLine } from './proposal.js';
import { readinessStatusLines, type ReadinessSource } from './readiness.js';
import { refusalMessage } from './refusals.js';
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

export function registerHandlers(app: App, deps: HandlerDeps): void {
  const { config, engine, cards, client, log } = deps;
  const policy = {
    approvers: config.approvals.approvers,
    ...(config.approvals.userGroup ? { userGroup: config.approvals.userGroup } : {}),
  };
  /** Every ephemeral answer, engine messages included, with their commands spelled for Slack. */
  const reply = (respond: RespondFn, l: Logger, text: string): Promise<void> =>
    answer(respond, l, slackText(text, config.slack.command));

  async function cardLink(opId: string): Promise<string | null> {
    let ref;
    try {
      ref = await cards.cardRef(opId);
    } catch (err) {
      log.warn({ err, opId }, 'could not read the status card reference');
      return null;
    }
    if (!ref) return null;
    try {
      const res = await client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts });
      if (res.permalink) return res.permalink;
    } catch (err) {
      log.warn({ err, opId }, 'chat.getPermalink failed; building the card link by hand');
    }
    return cardPermalinkFallback(ref.channel, ref.ts);
  }

  async function viewLine(view: OperationView | null): Promise<string | null> {
    return view ? statusLine(view, await cardLink(view.id)) : null;
  }

  app.command(config.slack.command, async ({ command, ack, respond }) => {
    const parsed = parseCommand(command.text ?? '');
    if (parsed.type === 'help' || parsed.type === 'usage') {
      const text =
        parsed.type === 'usage'
          ? `${parsed.problem}\n${usageText(config.slack.command)}`
          : usageText(config.slack.command);
      await ack({ response_type: 'ephemeral', text });
      return;
    }
    await ack();
    const userId = command.user_id;
    const clog = log.child({ userId, subcommand: parsed.type });
    try {
      if (parsed.type === 'request') {
        const res = await engine.request({
          kind: parsed.kind,
          mode: parsed.mode,
          requester: userId,
          reason: parsed.reason,
        });
        if (res.ok) {
          clog.info({ opId: res.op.id, kind: parsed.kind }, 'operation requested from Slack');
          await reply(
            respond,
            clog,
            `${res.op.id} requested: the ${parsed.kind} of *${res.op.env}* runs after another approver approves it on the status card in <#${config.slack.incidentChannel}>.`,
          );
        } else if (res.code === 'settling' || res.unrestorable) {
          await reply(respond, clog, res.message);
        } else {
          const link = await cardLink(res.activeId);
          await reply(
            respond,
            clog,
            `${res.activeId} is already in progress${res.activeKind ? ` (a ${res.activeKind})` : ''}${link ? `: <${link}|status card>` : ` (see <#${config.slack.incidentChannel}>)`}. Only one operation per environment runs at a time: let it finish or abort it before requesting a ${parsed.kind}.`,
          );
        }
      } else if (parsed.type === 'status') {
        const { active, last, unrestorable } = await engine.status();
        const activeLine = unrestorable
          ? `*${unrestorable.id}* cannot be resumed by this version of dr-bot: ${unrestorable.reason}. It keeps *${config.environment}* locked; an approver can close it with \`${config.slack.command} abort\`.`
          : ((await viewLine(active)) ?? `no operation in progress for *${config.environment}*`);
        const lines = [
          `*Active:* ${activeLine}`,
          `*Last finished:* ${(await viewLine(last)) ?? 'none yet'}`,
        ];
        if (deps.detector) {
          try {
            lines.push(`*Signals:* ${signalsLine(await deps.detector.signals())}`);
          } catch (err) {
            clog.warn({ err }, 'could not read the detection signals');
            lines.push('*Signals:* could not be read (state Redis unavailable?)');
          }
        }
        if (deps.readiness) {
          try {
            lines.push(...readinessStatusLines(await deps.readiness.lastReport()));
          } catch (err) {
            clog.warn({ err }, 'could not read the last readiness report');
            lines.push('*Readiness:* could not be read (state Redis unavailable?)');
          }
        }
        await reply(respond, clog, lines.join('\n'));
      } else if (parsed.type === 'abort') {
        // A named operation is aborted only if it is that one: the engine refuses one that has
        // finished or does not exist, instead of aborting whatever is active.
        const outcome = await engine.abort({
          userId,
          ...(parsed.opId ? { opId: parsed.opId } : {}),
          ...(parsed.reason ? { reason: parsed.reason } : {}),
        });
        if (!outcome.ok && outcome.reason === 'unknown-operation' && !parsed.opId) {
          await reply(
            respond,
            clog,
            `There is no operation in progress for *${config.environment}*: nothing to abort.`,
          );
        } else {
          await reply(
            respond,
            clog,
            outcomeText(outcome, outcome.op?.id ?? parsed.opId ?? 'the operation', userId, 'abort'),
          );
        }
      }
    } catch (err) {
      clog.error({ err }, 'slash command failed');
      await reply(respond, clog, describeFailure(err, 'command'));
    }
  });

  function outcomeText(
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
      policy,
      fallback: outcome.message,
    });
  }

  function onButton(
    action: CardAction,
    call: (opId: string, userId: string, planHash: string | undefined) => Promise<ActionOutcome>,
  ): void {
    app.action(ACTION_IDS[action], async ({ ack, body, action: element, respond }) => {
      await ack();
      const userId = body.user.id;
      const raw =
        'value' in element && typeof element.value === 'string' ? element.value : undefined;
      const value = decodeButtonValue(raw);
      if (!value) {
        log.warn({ userId, action }, 'button without a readable value');
        await reply(
          respond,
          log,
          'This button is not one the bot can read; use the buttons on the latest status card.',
        );
        return;
      }
      const alog = log.child({ opId: value.opId, userId, action });
      try {
        const outcome = await call(value.opId, userId, value.planHash);
        if (outcome.ok) {
          alog.info('button action accepted');
          return;
        }
        alog.info({ reason: outcome.reason }, 'button action refused');
        await reply(respond, alog, outcomeText(outcome, value.opId, userId, action));
      } catch (err) {
        alog.error({ err }, 'button action failed');
        await reply(respond, alog, describeFailure(err, 'click'));
      }
    });
  }

  // A button drawn before the plan hash existed carries none; an empty hash can never match, so
  // the engine answers "stale plan" instead of approving a plan nobody saw.
  onButton('approve', (opId, userId, planHash) =>
    engine.approve({ opId, userId, planHash: planHash ?? '' }),
  );
  onButton('reject', (opId, userId) => engine.reject({ opId, userId }));
  onButton('retry', (opId, userId) => engine.retry({ opId, userId }));
  onButton('skip', (opId, userId) => engine.skip({ opId, userId }));
  onButton('abort', (opId, userId) => engine.abort({ opId, userId }));
}
