/**
 * Detection of a regional failure: Alertmanager alerts and the bot's own probes of the primary,
 * gathered into episodes that propose a failover to people. Never starts one by itself.
 */
export { createDetector, type Detector } from './detector.js';
export type { CardRef, DetectorDeps, ProposalSink } from './detector-context.js';
export {
  alertmanagerPayload,
  parseAlertmanagerPayload,
  relevantAlerts,
  type AlertmanagerPayload,
  type ParsedPayload,
} from './alertmanager.js';
export {
  emptyState,
  episodeAlerts,
  evaluate,
  ingestAlerts,
  recordProbe,
  summarize,
  MAX_ALERTS,
  RECENT_PROBES,
  type Change,
} from './episode.js';
export { probeRound, type ProbeOptions } from './probe.js';
export { detectionSettings, probeUrls } from './settings.js';
export type {
  DetectionSettings,
  DetectionState,
  DetectionStore,
  Episode,
  IncomingAlert,
  ProbeResult,
  ProbeRound,
  ProposalView,
  ProviderStatusEvent,
  ProviderStatusReader,
  ProviderStatusReading,
  SignalsSummary,
  TrackedAlert,
} from './types.js';
