/**
 * The "Regional failure suspected" card: rendering, the sink that posts and edits it, and its
 * Start failover button. The button only requests a failover as `/dr failover` does (the clicker
 * is the requester; two-person approval follows as always): detection never starts one itself.
 */
import type { App, RespondFn, types as SlackTypes, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import { commandRef } from '../domain/commands.js';
import type { ComponentReadiness, ReadinessStatus } from '../domain/types.js';
import type {
  Detector,
  ProposalSink,
  ProposalView,
  ProviderStatusReading,
  SignalsSummary,
  TrackedAlert,
  ProbeRound,
} from '../detection/index.js';
import type { Engine } from '../engine/types.js';
import { slackText } from './commands.js';

type Block = SlackTypes.KnownBlock;

export const START_FAILOVER_ACTION = 'dr_detect_start_failover';
const MAX_ALERT_LINES = 15;

const READINESS_ICON: Record<ReadinessStatus, string> = {
  ready: '✅',
  warning: '⚠️',
  blocked: '⛔',
  'not-configured': '➖',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function when(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{time_secs}|${new Date(ms).toISOString()}>`;
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } };
}

function alertLine(a: TrackedAlert): string {
  const name = a.labels.service ?? a.labels.job ?? a.labels.instance ?? a.fingerprint;
  const icon = a.status === 'firing' ? '🔴' : '🟢';
  const what =
    a.status === 'firing'
      ? `firing since ${when(a.firstSeenAt)}`
      : `resolved ${when(a.resolvedAt ?? a.lastSeenAt)}`;
  return `${icon} *${esc(name)}* — ${what}${a.summary ? ` — ${esc(clip(a.summary, 150))}` : ''}`;
}

function probeLine(p: ProbeRound): string {
  const parts = p.results.map((r) => `${esc(r.url)}: ${esc(r.detail)}`).join('; ');
  return `${p.ok ? '✅' : '❌'} ${when(p.at)} — ${parts}`;
}

function readinessLine(c: ComponentReadiness): string {
  return `${READINESS_ICON[c.status]} *${c.component}* (${c.status}) — ${esc(c.summary)}`;
}

const MAX_STATUS_LINES = 10;

/** The cloud's status as evidence; "unavailable" says why, so nobody reads silence as health. */
export function providerStatusText(p: ProviderStatusReading): string {
  if (!p.ok)
    return `${esc(p.source)}: provider status unavailable: ${esc(p.error)} (checked ${when(p.at)})`;
  if (p.events.length === 0)
    return `${esc(p.source)}: nothing reported for the region (checked ${when(p.at)})`;
  const lines = p.events
    .slice(0, MAX_STATUS_LINES)
    .map(
      (e) =>
        `⚠️ ${esc(e.title)} — ${esc(e.status)}${e.startedAt ? ` since ${when(Date.parse(e.startedAt))}` : ''}`,
    );
  if (p.events.length > MAX_STATUS_LINES)
    lines.push(`…and ${p.events.length - MAX_STATUS_LINES} more`);
  return `${esc(p.source)} reports ${p.events.length} open issue${p.events.length === 1 ? '' : 's'} (checked ${when(p.at)}):\n${lines.join('\n')}`;
}

/** One line of the signals, for `/dr status`. */
export function signalsLine(s: SignalsSummary): string {
  const probe = s.lastProbe
    ? `last probe ${s.lastProbe.ok ? 'ok' : 'failed'} at ${when(s.lastProbe.at)}`
    : 'no probe yet';
  const head = s.episode
    ? `🚨 regional failure suspected in *${esc(s.region)}* (episode ${esc(s.episode.id)})`
    : `no regional failure suspected in *${esc(s.region)}*`;
  const line = `${head}: ${s.recentFiring}/${s.minAlerts} alerts firing within ${s.windowSeconds} s (${s.firing} firing in all), probes failed ${s.consecutiveProbeFailures}/${s.probeFailures} in a row, ${probe}`;
  return s.providerStatus ? `${line}\n${providerStatusText(s.providerStatus)}` : line;
}

export function renderProposal(
  view: ProposalView,
  alertName: string,
): { text: string; blocks: Block[] } {
  const { episode, alerts, probes, summary } = view;
  const cleared = episode.clearedAt !== undefined;
  const title = cleared
    ? `✅ Signals cleared — regional failure no longer suspected in ${episode.region}`
    : `🚨 Regional failure suspected in ${episode.region}`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150) } },
    ...verdictBlocks(view, alertName),
  ];
  const shown = alerts.slice(0, MAX_ALERT_LINES).map(alertLine);
  if (alerts.length > MAX_ALERT_LINES) shown.push(`…and ${alerts.length - MAX_ALERT_LINES} more`);
  blocks.push(section(`*Alerts*\n${shown.length > 0 ? shown.join('\n') : 'none'}`));
  blocks.push(
    section(
      `*Health probes of the primary*\n${probes.length > 0 ? probes.map(probeLine).join('\n') : 'none yet'}`,
    ),
  );
  if (!cleared && summary.providerStatus)
    blocks.push(
      section(`*Provider status* (evidence only)\n${providerStatusText(summary.providerStatus)}`),
    );
  if (episode.readiness) {
    blocks.push(
      section(
        `*Standby readiness* (checked ${when(episode.readiness.checkedAt)}, a failover now would run *${episode.readiness.mode}*)\n${episode.readiness.components.map(readinessLine).join('\n')}`,
      ),
    );
  } else if (episode.readinessError) {
    blocks.push(section(`*Standby readiness:* could not be read — ${esc(episode.readinessError)}`));
  } else if (!cleared) {
    blocks.push(section('*Standby readiness:* checking…'));
  }
  const last = failoverBlock(episode);
  if (last) blocks.push(last);
  return { text: title, blocks };
}

/** Why the card is there: the signals over their thresholds, or why they cleared. */
function verdictBlocks(view: ProposalView, alertName: string): Block[] {
  const { episode, summary } = view;
  const region = esc(episode.region);
  if (episode.clearedAt !== undefined) {
    return [
      section(
        `Signals cleared at ${when(episode.clearedAt)}: ${esc(episode.clearReason ?? 'the signals no longer hold')}.`,
      ),
    ];
  }
  const blocks = [
    section(
      `${summary.recentFiring} *${esc(alertName)}* alerts for *${region}* within ${summary.windowSeconds} s (threshold ${summary.minAlerts}), and the primary's health probes failed ${summary.consecutiveProbeFailures} times in a row (threshold ${summary.probeFailures}). The bot proposes; people decide.`,
    ),
  ];
  const r = episode.returned;
  if (r)
    blocks.push(
      section(
        `🔁 Signals returned at ${when(r.at)}${r.count > 1 ? ` (${r.count} times)` : ''}; they had cleared at ${when(r.clearedAt)}: ${esc(r.clearReason)}.`,
      ),
    );
  return blocks;
}

/** The failover requested from the card, else (while not cleared) the Start failover button. */
function failoverBlock(episode: ProposalView['episode']): Block | null {
  const region = esc(episode.region);
  if (episode.failover) {
    return {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${esc(episode.failover.opId)} requested by <@${episode.failover.requester}> at ${when(episode.failover.at)}: follow its status card.`,
        },
      ],
    };
  }
  if (episode.clearedAt !== undefined) return null;
  return {
    type: 'actions',
    block_id: 'dr_detect_actions',
    elements: [
      {
        type: 'button',
        action_id: START_FAILOVER_ACTION,
        style: 'danger',
        text: { type: 'plain_text', text: 'Start failover' },
        value: JSON.stringify({ episodeId: episode.id }),
        confirm: {
          title: { type: 'plain_text', text: 'Request a failover?' },
          text: {
            type: 'mrkdwn',
            text: `You become the requester of a failover away from *${region}*. Nothing changes until another approver approves it.`,
          },
          confirm: { type: 'plain_text', text: 'Request failover' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  };
}

export function createProposalSink(opts: {
  client: webApi.WebClient;
  channel: string;
  alertName: string;
}): ProposalSink {
  const { client, channel, alertName } = opts;
  return {
    async post(view) {
      const msg = renderProposal(view, alertName);
      const res = await client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks });
      if (!res.ts || !res.channel) throw new Error('chat.postMessage answered without channel/ts');
      return { channel: res.channel, ts: res.ts };
    },
    async update(ref, view) {
      const msg = renderProposal(view, alertName);
      await client.chat.update({
        channel: ref.channel,
        ts: ref.ts,
        text: msg.text,
        blocks: msg.blocks,
      });
    },
  };
}

function episodeOf(raw: string | undefined): string | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { episodeId?: unknown };
    return typeof v.episodeId === 'string' && v.episodeId.length > 0 ? v.episodeId : null;
  } catch {
    return null;
  }
}

async function answer(respond: RespondFn, log: Logger, text: string): Promise<void> {
  try {
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  } catch (err) {
    log.error({ err }, 'could not send an ephemeral answer through the response_url');
  }
}

export function registerProposalActions(
  app: App,
  deps: { config: DrConfig; engine: Engine; detector: Detector; log: Logger },
): void {
  const { config, engine, detector, log } = deps;
  const reply = (respond: RespondFn, l: Logger, text: string): Promise<void> =>
    answer(respond, l, slackText(text, config.slack.command));
  app.action(START_FAILOVER_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const userId = body.user.id;
    const episodeId = episodeOf(
      'value' in action && typeof action.value === 'string' ? action.value : undefined,
    );
    const alog = log.child({ userId, episode: episodeId });
    if (!episodeId) {
      await reply(
        respond,
        alog,
        `This button is not one the bot can read; use ${commandRef('failover')} instead.`,
      );
      return;
    }
    try {
      const res = await engine.request({
        kind: 'failover',
        mode: 'auto',
        requester: userId,
        reason: `regional failure suspected in ${detector.settings.region} (detection episode ${episodeId})`,
      });
      if (!res.ok && (res.code === 'settling' || res.unrestorable)) {
        await reply(respond, alog, res.message);
        return;
      }
      if (!res.ok) {
        await reply(
          respond,
          alog,
          `${res.activeId} is already in progress (see <#${config.slack.incidentChannel}>). Only one operation per environment runs at a time.`,
        );
        return;
      }
      alog.info({ opId: res.op.id }, 'failover requested from a detection proposal');
      await detector.failoverRequested(episodeId, res.op.id, userId);
      await reply(
        respond,
        alog,
        `${res.op.id} requested: the failover of *${res.op.env}* runs after another approver approves it on the status card in <#${config.slack.incidentChannel}>.`,
      );
    } catch (err) {
      alog.error({ err }, 'Start failover failed');
      await reply(
        respond,
        alog,
        `The bot could not request the failover: ${err instanceof Error ? err.message : String(err)}. Try ${commandRef('failover')}.`,
      );
    }
  });
}
