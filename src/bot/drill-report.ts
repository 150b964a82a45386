/**
 * Drill reports in the incident channel: a summary in the thread of the drill's status card
 * (top level when the card is unknown), and the full report as a Markdown file in that thread.
 * The file needs the bot to be a member of the channel (Slack answers not_in_channel otherwise,
 * whatever the scopes); a failure says so, and the report is published again at the next start.
 */
import type { Logger } from 'pino';
import type { DrConfig } from '../config/schema.js';
import type { DrillReporter } from '../drill/index.js';
import { DrError, errorInfo } from '../errors.js';
import type { OperationStore } from '../store/types.js';
import { readCardRef } from './card-updater.js';
import type { SlackClient } from './client.js';
import { escapeMrkdwn } from './render.js';
import { channelFailure } from './slack-errors.js';
import { renderDrillSummary, type DrillReport } from '../report/index.js';

export type DrillReportClient = Pick<SlackClient, 'chat' | 'filesUploadV2'>;

export function reportFileName(report: DrillReport): string {
  return `${report.opId}-drill-report.md`;
}

/** Operation metadata: what of the report is already in Slack (`{ channel, ts, file? }`). */
const REPORT_POSTED_META_KEY = 'drillReportPosted';

interface Posted {
  channel: string;
  /** The summary message. */
  ts: string;
  /** The Markdown file was uploaded too. */
  file?: boolean;
}

async function readPosted(store: OperationStore, opId: string): Promise<Posted | null> {
  const raw = await store.getMeta(opId, REPORT_POSTED_META_KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<Posted>;
    return typeof v.channel === 'string' && typeof v.ts === 'string'
      ? { channel: v.channel, ts: v.ts, ...(v.file ? { file: true } : {}) }
      : null;
  } catch {
    return null;
  }
}

/** The incident channel is the record of the incident: a report counts as published once it is posted there. */
const SLACK_ADAPTER = { name: 'slack', ofRecord: true } as const;

/**
 * Posts every report the reporter publishes; returns the unsubscribe. A report is published
 * again after a failed upload or a stop before it counted as published (see drill/reporter.ts):
 * each part posted is recorded on the operation, so that attempt posts only what is missing.
 * Still at least once: a stop between Slack's answer and that record posts the part again.
 */
export function postDrillReports(deps: {
  reporter: DrillReporter;
  client: DrillReportClient;
  store: OperationStore;
  config: DrConfig;
  log: Logger;
}): () => void {
  const { client, config, store } = deps;
  const log = deps.log.child({ component: 'drill-report' });
  const record = (opId: string, posted: Posted) =>
    store
      .setMeta(opId, REPORT_POSTED_META_KEY, JSON.stringify(posted))
      .catch((err: unknown) =>
        log.warn(
          { opId, err: errorInfo(err) },
          'could not record the drill report as posted; a retry posts it again',
        ),
      );
  return deps.reporter.onReport(async (report, markdown) => {
    const card = await readCardRef(store, report.opId).catch(() => null);
    let posted = await readPosted(store, report.opId);
    if (posted?.file) {
      log.info({ opId: report.opId, channel: posted.channel }, 'drill report already posted');
      return;
    }
    if (!posted) {
      const channel = card?.channel ?? config.slack.incidentChannel;
      const text = escapeMrkdwn(renderDrillSummary(report));
      const summary = await (
        card
          ? client.chat.postMessage({ channel, text, thread_ts: card.ts, reply_broadcast: true })
          : client.chat.postMessage({ channel, text })
      ).catch((err: unknown) => {
        throw new DrError(
          'provider',
          `could not post the drill report summary in ${channel}: ${channelFailure(err, channel)}`,
          { cause: err },
        );
      });
      posted = { channel, ts: summary.ts ?? '' };
      await record(report.opId, posted);
    }
    const { channel } = posted;
    const thread = card?.ts ?? (posted.ts || undefined);
    const file = {
      filename: reportFileName(report),
      title: `Drill report ${report.opId} — ${report.passed ? 'passed' : 'failed'}`,
      content: markdown,
    };
    // files.completeUploadExternal needs the bot in the channel: chat:write.public covers messages only.
    await (
      thread
        ? client.filesUploadV2({ channel_id: channel, thread_ts: thread, ...file })
        : client.filesUploadV2({ channel_id: channel, ...file })
    ).catch((err: unknown) => {
      throw new DrError(
        'provider',
        `could not upload the drill report file to ${channel}: ${channelFailure(err, channel, 'file')}`,
        { cause: err },
      );
    });
    await record(report.opId, { ...posted, file: true });
    log.info({ opId: report.opId, channel }, 'drill report posted');
  }, SLACK_ADAPTER);
}
