/**
 * Readiness in Slack: the one message posted when a check turns degraded or recovers, and the
 * lines `/dr status` adds. The monitor (src/readiness) decides when; this only says it.
 */
import type { Logger } from 'pino';
import { formatDuration } from '../domain/format.js';
import { READINESS_ICONS, readinessTally } from '../readiness/format.js';
import type { ReadinessNotify } from '../readiness/monitor.js';
import type { ReadinessReport, ReadinessResult, ReadinessTransition } from '../readiness/types.js';
import { escapeMrkdwn, type SlackMessage } from './render.js';

export interface ReadinessPostClient {
  chat: {
    postMessage(args: {
      channel: string;
      text: string;
      blocks: SlackMessage['blocks'];
    }): Promise<unknown>;
  };
}

/** Where `/dr status` reads the last readiness report from. */
export interface ReadinessSource {
  lastReport(): Promise<ReadinessReport | null>;
}

function numbers(r: ReadinessResult): string {
  if (r.measured === null && r.target === null) return '';
  return ` (measured ${escapeMrkdwn(r.measured ?? '?')}${r.target ? `, target ${escapeMrkdwn(r.target)}` : ''})`;
}

export function renderReadinessTransition(
  t: ReadinessTransition,
  now: number = Date.now(),
  command = '/dr',
): SlackMessage {
  const r = t.result;
  const head =
    t.kind === 'degraded'
      ? `${READINESS_ICONS.degraded} Readiness degraded in *${escapeMrkdwn(t.env)}*: *${escapeMrkdwn(r.title)}*`
      : `${READINESS_ICONS.ok} Readiness recovered in *${escapeMrkdwn(t.env)}*: *${escapeMrkdwn(r.title)}* is ok again after ${formatDuration(Math.max(0, now - t.degradedSince))}`;
  const body = `${escapeMrkdwn(r.detail)}${numbers(r)}`;
  const footer =
    t.kind === 'degraded'
      ? `One message now and one when it recovers; \`${command} status\` shows every check.`
      : `\`${command} status\` shows every check.`;
  return {
    text: `${t.kind === 'degraded' ? 'Readiness degraded' : 'Readiness recovered'}: ${r.title} (${t.env}): ${r.detail}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${head}\n${body}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: footer }] },
    ],
  };
}

/** The `/dr status` lines: a tally, then every check that is not ok, and always the bot's own state store. */
export function readinessStatusLines(
  report: ReadinessReport | null,
  now: number = Date.now(),
): string[] {
  if (!report)
    return [
      '*Readiness:* not checked yet (the first round runs when the bot starts, unless readiness.intervalMinutes is 0)',
    ];
  const lines = [`*Readiness:* ${readinessTally(report, now)}`];
  for (const r of report.results) {
    if (r.status === 'ok' && r.id !== 'state-store') continue;
    lines.push(
      `• ${READINESS_ICONS[r.status]} *${escapeMrkdwn(r.title)}* ${r.status}: ${escapeMrkdwn(r.detail)}${numbers(r)}`,
    );
  }
  // The green rows by name only, so a reader sees what was checked without their detail.
  const green = report.results.filter((r) => r.status === 'ok' && r.id !== 'state-store');
  if (green.length > 0)
    lines.push(`• ${READINESS_ICONS.ok} ok: ${green.map((r) => escapeMrkdwn(r.title)).join(', ')}`);
  return lines;
}

/** Post each transition into the incident channel; a Slack failure is thrown so the monitor retries it. */
export function createReadinessNotifier(opts: {
  client: ReadinessPostClient;
  channel: string;
  log: Logger;
  /** The configured slash command (default /dr). */ command?: string;
}): ReadinessNotify {
  return async (t) => {
    const message = renderReadinessTransition(t, Date.now(), opts.command);
    await opts.client.chat.postMessage({
      channel: opts.channel,
      text: message.text,
      blocks: message.blocks,
    });
    opts.log.info({ check: t.result.id, kind: t.kind }, 'readiness change posted');
  };
}
