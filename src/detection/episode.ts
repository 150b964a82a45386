/**
 * The episode logic, pure: alerts and probe rounds in, a new state and what changed out. A
 * regional failure is suspected when enough distinct alerts (by fingerprint) for the primary
 * region fired recently AND the bot's own probes failed enough times in a row; both are needed
 * because either alone is often noise (one flapping service, one lost network path). It clears
 * when fewer than minAlerts still fire, or when the probes succeed as many rounds in a row as it
 * took failures to suspect (probeFailures): one lucky round in a brownout does not clear it.
 * Signals that return within the window after clearing reopen the same episode, so its card is
 * edited ("signals returned") instead of a new card posted per flap. It only ever proposes.
 */
import type {
  DetectionSettings,
  DetectionState,
  Episode,
  IncomingAlert,
  ProbeRound,
  SignalsSummary,
  TrackedAlert,
} from './types.js';

/** Bounds on what is kept, so a noisy Alertmanager cannot grow the state without limit. */
export const MAX_ALERTS = 500;
export const RECENT_PROBES = 5;
const RESOLVED_KEPT_MS = 24 * 3600 * 1000;

export type Change = 'opened' | 'reopened' | 'cleared' | 'updated' | 'none';

export function emptyState(): DetectionState {
  return {
    seq: 0,
    alerts: [],
    probes: { consecutiveFailures: 0, consecutiveSuccesses: 0, recent: [] },
    episode: null,
    lastEpisode: null,
  };
}

function summaryOf(a: IncomingAlert): string | undefined {
  return a.annotations.summary ?? a.annotations.description ?? a.annotations.message;
}

/**
 * Merge alerts into the state. A fingerprint seen again is the same alert (Alertmanager re-sends
 * whole groups), so duplicates never count twice and do not move its first-seen time.
 */
export function ingestAlerts(
  state: DetectionState,
  alerts: IncomingAlert[],
  now: number,
): DetectionState {
  const byFp = new Map(state.alerts.map((a) => [a.fingerprint, a] as const));
  for (const a of alerts) {
    const known = byFp.get(a.fingerprint);
    const summary = summaryOf(a);
    if (a.status === 'resolved') {
      if (known && known.status === 'firing')
        byFp.set(a.fingerprint, { ...known, status: 'resolved', resolvedAt: now, lastSeenAt: now });
      // A resolved alert the bot never saw firing carries no signal: nothing to record.
      continue;
    }
    if (known && known.status === 'firing') {
      byFp.set(a.fingerprint, {
        ...known,
        lastSeenAt: now,
        labels: a.labels,
        ...(summary ? { summary } : {}),
      });
    } else {
      byFp.set(a.fingerprint, {
        fingerprint: a.fingerprint,
        status: 'firing',
        labels: a.labels,
        ...(summary ? { summary } : {}),
        startsAt: a.startsAt,
        firstSeenAt: now,
        lastSeenAt: now,
      });
    }
  }
  // A resolved alert stays a while so the card can show it; after a day it is only history.
  const kept = [...byFp.values()].filter(
    (a) => a.status === 'firing' || (a.resolvedAt ?? now) >= now - RESOLVED_KEPT_MS,
  );
  return { ...state, alerts: prune(kept) };
}

/** Drop the oldest resolved alerts first, then the oldest firing ones, past MAX_ALERTS. */
function prune(alerts: TrackedAlert[]): TrackedAlert[] {
  if (alerts.length <= MAX_ALERTS) return alerts;
  const sorted = [...alerts].sort((a, b) =>
    a.status === b.status ? b.lastSeenAt - a.lastSeenAt : a.status === 'firing' ? -1 : 1,
  );
  return sorted.slice(0, MAX_ALERTS);
}

export function recordProbe(state: DetectionState, round: ProbeRound): DetectionState {
  return {
    ...state,
    probes: {
      consecutiveFailures: round.ok ? 0 : state.probes.consecutiveFailures + 1,
      consecutiveSuccesses: round.ok ? (state.probes.consecutiveSuccesses ?? 0) + 1 : 0,
      recent: [...state.probes.recent, round].slice(-RECENT_PROBES),
    },
  };
}

export function summarize(
  state: DetectionState,
  now: number,
  s: DetectionSettings,
): SignalsSummary {
  const firing = state.alerts.filter((a) => a.status === 'firing');
  return {
    region: s.region,
    recentFiring: firing.filter((a) => a.firstSeenAt >= now - s.windowMs).length,
    firing: firing.length,
    minAlerts: s.minAlerts,
    windowSeconds: Math.round(s.windowMs / 1000),
    consecutiveProbeFailures: state.probes.consecutiveFailures,
    probeFailures: s.probeFailures,
    lastProbe: state.probes.recent[state.probes.recent.length - 1] ?? null,
    episode: state.episode,
    ...(state.providerStatus ? { providerStatus: state.providerStatus } : {}),
  };
}

function clearReason(state: DetectionState, s: DetectionSettings): string | null {
  const good = state.probes.consecutiveSuccesses ?? 0;
  if (good >= s.probeFailures)
    return `the primary health endpoints answer again (${good} probe round${good === 1 ? '' : 's'} in a row)`;
  const firing = state.alerts.filter((a) => a.status === 'firing').length;
  if (firing < s.minAlerts)
    return `only ${firing} ${s.alertName} alert${firing === 1 ? '' : 's'} still firing (threshold ${s.minAlerts})`;
  return null;
}

/**
 * Open an episode when both thresholds hold and none is open (or reopen the last one when it
 * cleared less than a window ago); clear the open one when its signals no longer hold. Any other
 * change to an open episode's signals is an update.
 */
export function evaluate(
  state: DetectionState,
  now: number,
  s: DetectionSettings,
): { state: DetectionState; change: Change } {
  if (state.episode) {
    const reason = clearReason(state, s);
    if (reason === null) return { state, change: 'updated' };
    const cleared: Episode = { ...state.episode, clearedAt: now, clearReason: reason };
    return { state: { ...state, episode: null, lastEpisode: cleared }, change: 'cleared' };
  }
  const sum = summarize(state, now, s);
  if (sum.recentFiring >= s.minAlerts && sum.consecutiveProbeFailures >= s.probeFailures) {
    const last = state.lastEpisode;
    if (last?.clearedAt !== undefined && now - last.clearedAt <= s.windowMs) {
      const { clearedAt, clearReason: reason, ...rest } = last;
      const episode: Episode = {
        ...rest,
        returned: {
          at: now,
          count: (last.returned?.count ?? 0) + 1,
          clearedAt,
          clearReason: reason ?? 'the signals no longer held',
        },
      };
      return { state: { ...state, episode, lastEpisode: null }, change: 'reopened' };
    }
    const seq = state.seq + 1;
    const episode: Episode = {
      id: `${s.region}-${seq}`,
      region: s.region,
      openedAt: now,
      card: null,
    };
    return { state: { ...state, seq, episode }, change: 'opened' };
  }
  return { state, change: 'none' };
}

/** The alerts to show for an episode: those that fired since shortly before it opened. */
export function episodeAlerts(
  state: DetectionState,
  episode: Episode,
  s: DetectionSettings,
): TrackedAlert[] {
  const since = episode.openedAt - s.windowMs;
  return state.alerts
    .filter((a) => a.lastSeenAt >= since)
    .sort((a, b) => a.firstSeenAt - b.firstSeenAt || a.fingerprint.localeCompare(b.fingerprint));
}
