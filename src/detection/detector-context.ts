/**
 * The detector's dependencies and the state one detector keeps between calls (timers, jobs, the
 * card being posted), shared by the card publishing and the signal readers as one context
 * object. Also the pure helpers that read an episode from the stored state.
 */
import type { Logger } from 'pino';
import type { PreflightReport } from '../domain/types.js';
import { episodeAlerts, summarize } from './episode.js';
import type {
  DetectionSettings,
  DetectionState,
  DetectionStore,
  Episode,
  ProposalView,
  ProviderStatusReader,
} from './types.js';

export interface CardRef {
  channel: string;
  ts: string;
}

/** How an adapter shows proposals (the Slack bot posts and edits a card). */
export interface ProposalSink {
  post(view: ProposalView): Promise<CardRef>;
  update(ref: CardRef, view: ProposalView): Promise<void>;
}

export interface DetectorDeps {
  settings: DetectionSettings;
  probe: { urls: readonly string[]; intervalMs: number; timeoutMs: number };
  store: DetectionStore;
  /** The standby's readiness for a failover, read-only (the engine's preflight). */
  readiness?: () => Promise<PreflightReport>;
  log: Logger;
  now?: () => number;
  /** How long a "posting" claim holds before another run may retake it. Default 2 min. */
  postLeaseMs?: number;
  /** How long the readiness check may take before the card says it could not be read. Default 15 s. */
  readinessTimeoutMs?: number;
  /** The cloud's status signal, read on its own timer (a slow status API must not delay probes). */
  providerStatus?: { reader: ProviderStatusReader; intervalMs: number; timeoutMs?: number };
}

/** One detector's settings and mutable state; every detector function takes it. */
export interface DetectorContext {
  deps: DetectorDeps;
  settings: DetectionSettings;
  store: DetectionStore;
  now: () => number;
  log: Logger;
  readinessTimeoutMs: number;
  postLeaseMs: number;
  /** Episodes whose card this process is posting right now: their claim is live whatever its age. */
  postingHere: Set<string>;
  /** Publishes again when a claim seen live expires, in case no other signal arrives by then. */
  leaseTimer: NodeJS.Timeout | undefined;
  sink: ProposalSink | null;
  stopped: boolean;
  /** The next probe round. */
  timer: NodeJS.Timeout | undefined;
  probing: Promise<unknown> | null;
  statusTimer: NodeJS.Timeout | undefined;
  statusReading: Promise<unknown> | null;
  publishing: Promise<void> | null;
  /** Set by every change: the publishing loop runs again until it is clear. */
  dirty: boolean;
  /** What each card shows now, so an unchanged view is not sent again. */
  lastSent: Map<string, string>;
  /** Readiness checks under way, awaited by stop() and settled(). */
  jobs: Set<Promise<void>>;
}

export function detectorContext(deps: DetectorDeps): DetectorContext {
  const { settings, store } = deps;
  return {
    deps,
    settings,
    store,
    now: deps.now ?? Date.now,
    log: deps.log.child({ component: 'detection', region: settings.region }),
    readinessTimeoutMs: deps.readinessTimeoutMs ?? 15_000,
    postLeaseMs: deps.postLeaseMs ?? 120_000,
    postingHere: new Set<string>(),
    leaseTimer: undefined,
    sink: null,
    stopped: true,
    timer: undefined,
    probing: null,
    statusTimer: undefined,
    statusReading: null,
    publishing: null,
    dirty: false,
    lastSent: new Map<string, string>(),
    jobs: new Set<Promise<void>>(),
  };
}

export function withEpisode(
  state: DetectionState,
  id: string,
  change: (e: Episode) => Episode | null,
): DetectionState | null {
  if (state.episode?.id === id) {
    const next = change(state.episode);
    return next ? { ...state, episode: next } : null;
  }
  if (state.lastEpisode?.id === id) {
    const next = change(state.lastEpisode);
    return next ? { ...state, lastEpisode: next } : null;
  }
  return null;
}

export function viewOf(
  settings: DetectionSettings,
  state: DetectionState,
  episode: Episode,
  at: number,
): ProposalView {
  const until = episode.clearedAt ?? Number.POSITIVE_INFINITY;
  return {
    episode,
    alerts: episodeAlerts(state, episode, settings).filter((a) => a.firstSeenAt <= until),
    probes: state.probes.recent.filter((p) => p.at <= until),
    summary: summarize(state, episode.clearedAt ?? at, settings),
  };
}

/** The view's content without what changes on every read (the card ref, the summary clock). */
export function fingerprintOf(view: ProposalView): string {
  const { card: _card, ...episode } = view.episode;
  return JSON.stringify({
    ...view,
    episode,
    summary: view.episode.clearedAt ? null : view.summary,
  });
}
