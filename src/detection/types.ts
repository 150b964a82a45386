/**
 * Detection's own types: the signals it gathers (alerts, probe rounds), the persisted state of a
 * suspected regional failure (the episode), and what an adapter needs to show it.
 */
import type { PreflightReport } from '../domain/types.js';

/** Thresholds and names from `detection` in the config, resolved for the primary region. */
export interface DetectionSettings {
  /** The primary region's name: the only region whose alerts count. */
  region: string;
  alertName: string;
  regionLabel: string;
  minAlerts: number;
  windowMs: number;
  probeFailures: number;
}

/** One Alertmanager alert that names the primary region and the configured alert name. */
export interface IncomingAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
}

export interface TrackedAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  /** summary/description annotation, for the card. */
  summary?: string;
  startsAt: string;
  /** When the bot first heard of it firing: the window is measured on this clock, not Prometheus'. */
  firstSeenAt: number;
  lastSeenAt: number;
  resolvedAt?: number;
}

export interface ProbeResult {
  url: string;
  ok: boolean;
  /** "200 in 35 ms", "timed out after 5 s", "connect ECONNREFUSED". */
  detail: string;
  durationMs: number;
}

/** One probe of every primary health URL; it fails when none of them answered healthy. */
export interface ProbeRound {
  at: number;
  ok: boolean;
  results: ProbeResult[];
}

/** One open event or non-available resource the cloud reports for the primary region. */
export interface ProviderStatusEvent {
  /** The event ARN or the resource id. */
  id: string;
  /** "EC2 operational issue", "Unavailable: The virtual machine is down". */
  title: string;
  /** "open", "Unavailable", "Degraded", ... as the cloud says it. */
  status: string;
  region?: string;
  startedAt?: string;
}

/** The latest reading of the cloud's status signal: evidence only, it never opens or clears an episode. */
export type ProviderStatusReading =
  | { source: string; at: number; ok: true; events: ProviderStatusEvent[] }
  | { source: string; at: number; ok: false; error: string };

/** Reads the cloud's status for the primary region (src/providers/provider-status.ts). */
export interface ProviderStatusReader {
  /** "AWS Health", "Azure Resource Health". */
  readonly source: string;
  /** Rejects when the status API cannot be read; the detector records the reason. */
  read(): Promise<ProviderStatusEvent[]>;
}

type CardState = null | 'posting' | { channel: string; ts: string };

export interface Episode {
  id: string;
  region: string;
  openedAt: number;
  /** null: not posted yet; 'posting': claimed by a post whose outcome is unknown; else the card. */
  card: CardState;
  /** When the 'posting' claim was taken: a claim older than the lease is a dead poster's, retaken. */
  postingSince?: number;
  /** Standby readiness read once when the card is posted. */
  readiness?: PreflightReport;
  readinessError?: string;
  clearedAt?: number;
  clearReason?: string;
  /**
   * The signals came back within the window after clearing: the same episode (and card) again
   * instead of a new one. `count` is how often; clearedAt/clearReason are of the last clearing.
   */
  returned?: { at: number; count: number; clearedAt: number; clearReason: string };
  failover?: { opId: string; requester: string; at: number };
}

export interface DetectionState {
  /** Source of episode ids, so an id is never reused (a card is bound to its id). */
  seq: number;
  alerts: TrackedAlert[];
  /** consecutiveSuccesses is absent in state stored by older versions (read as 0). */
  probes: { consecutiveFailures: number; consecutiveSuccesses?: number; recent: ProbeRound[] };
  /** The open episode, if any. */
  episode: Episode | null;
  /** The last cleared episode, kept so its card can say the signals cleared. */
  lastEpisode: Episode | null;
  /** Absent until provider status is configured and read once. */
  providerStatus?: ProviderStatusReading;
}

/** The signals as they stand, for `/dr status` and the card. */
export interface SignalsSummary {
  region: string;
  /** Firing alerts first seen within the window (what counts toward minAlerts). */
  recentFiring: number;
  firing: number;
  minAlerts: number;
  windowSeconds: number;
  consecutiveProbeFailures: number;
  probeFailures: number;
  lastProbe: ProbeRound | null;
  episode: Episode | null;
  providerStatus?: ProviderStatusReading;
}

/** What the proposal card shows. */
export interface ProposalView {
  episode: Episode;
  alerts: TrackedAlert[];
  probes: ProbeRound[];
  summary: SignalsSummary;
}

/** Where the detection state lives (the bot's state Redis), read and written whole. */
export interface DetectionStore {
  load(): Promise<DetectionState>;
  /**
   * Read, change and write the state atomically against other writers; `fn` may run more than
   * once, so it must be pure. Returns what `fn` returned on the attempt that was written.
   */
  update<T>(fn: (state: DetectionState) => { state: DetectionState; result: T }): Promise<T>;
  close(): Promise<void>;
}
