/**
 * The Slack adapter: Bolt app, command parsing, buttons, Block Kit rendering and the status card
 * updater. Nothing outside src/bot imports Slack.
 */
export { createSlackBot, type SlackBot, type SlackBotOptions } from './slack-bot.js';
export { createSlackAuthorizer, type SlackAuthorizerOptions } from './authorizer.js';
export { createSlackClient, type SlackClient } from './client.js';
export { parseCommand, usageText, type ParsedCommand } from './commands.js';
export {
  createCardUpdater,
  readCardRef,
  CARD_META_KEY,
  type CardRef,
  type CardUpdater,
} from './card-updater.js';
export { refusalMessage, whoMayApprove } from './refusals.js';
export {
  ACTION_IDS,
  decodeButtonValue,
  encodeButtonValue,
  renderCard,
  renderEventReply,
  renderStepReply,
  renderSummary,
  statusLine,
  type SlackMessage,
} from './render.js';
export { healthHandler } from './health.js';
export {
  createReadinessNotifier,
  readinessStatusLines,
  renderReadinessTransition,
  type ReadinessPostClient,
  type ReadinessSource,
} from './readiness.js';
export {
  ALERTMANAGER_PATH,
  alertmanagerWebhook,
  type AlertmanagerWebhookOptions,
} from './webhooks.js';
export {
  START_FAILOVER_ACTION,
  createProposalSink,
  providerStatusText,
  registerProposalActions,
  renderProposal,
  signalsLine,
} from './proposal.js';
export { postDrillReports, reportFileName, type DrillReportClient } from './drill-report.js';
