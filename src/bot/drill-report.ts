/**
 * Drill reports in the incident channel: a summary in the thread of the drill's status card
 * (top level when the card is unknown), and the full report as a Markdown file in that thread.
 */
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { DrillReporter } from '../drill/index.js';
import type { OperationStore } from '../store/types.js';
import { readCardRef } from './card-updater.js';
import type { SlackClient } from './client.js';
import { escapeMrkdwn } from './render.js';
import { renderDrillSummary, type DrillReport } from '../report/index.js';

export type DrillReportClient = Pick<SlackClient, 'chat' | 'filesUploadV2'>;

export function reportFileName(report: DrillReport): string {
  return `${report.opId}-drill-report.md`;
}

/** Posts every report the reporter publishes; returns the unsubscribe. */
export function postDrillReports(deps: { reporter: DrillReporter; client: DrillReportClient; store: OperationStore; config: DrConfig; log: Logger }): () => void {
  const { client, config, store } = deps;
  const log = deps.log.child({ component: 'drill-report' });
  return deps.reporter.onReport(async (report, markdown) => {
    const card = await readCardRef(store, report.opId).catch(() => null);
    const channel = card?.channel ?? config.slack.incidentChannel;
    const text = escapeMrkdwn(renderDrillSummary(report));
    const summary = card
      ? await client.chat.postMessage({ channel, text, thread_ts: card.ts, reply_broadcast: true })
      : await client.chat.postMessage({ channel, text });
    const thread = card?.ts ?? summary.ts;
    const file = { filename: reportFileName(report), title: `Drill report ${report.opId} — ${report.passed ? 'passed' : 'failed'}`, content: markdown };
    await (thread ? client.filesUploadV2({ channel_id: channel, thread_ts: thread, ...file }) : client.filesUploadV2({ channel_id: channel, ...file }));
    log.info({ opId: report.opId, channel }, 'drill report posted');
  });
}
