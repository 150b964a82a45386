/**
 * The I/O around the pure episode logic: takes Alertmanager payloads, probes the primary on a
 * timer, keeps the state in Redis, and shows each episode on one proposal card through a sink the
 * adapter provides. It never starts a failover: the card's button hands that to a person.
 *
 * One card per episode, across restarts too: the card is claimed in the stored state ("posting",
 * with the time) before it is posted and its reference is stored after. The claim is a lease: a
 * bot that dies between the two leaves a claim that is retaken once it is older than the lease
 * (longer than a post can take with the Slack client's retries), so the episode is not silenced
 * for good; a post still under way in this process is never retaken.
 */
import type { Logger } from 'pino';
import type { PreflightReport } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import { relevantAlerts, type AlertmanagerPayload } from './alertmanager.js';
import {
  episodeAlerts,
  evaluate,
  ingestAlerts,
  recordProbe,
  summarize,
  type Change,
} from './episode.js';
import { probeRound } from './probe.js';
import type {
  DetectionSettings,
  DetectionState,
  DetectionStore,
  Episode,
  ProbeRound,
  ProposalView,
  ProviderStatusReader,
  ProviderStatusReading,
  SignalsSummary,
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

export interface Detector {
  /** Resume publishing the stored episode and start probing. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Connect the adapter that shows proposals; returns the detach function. */
  attach(sink: ProposalSink): () => void;
  /** Take one validated Alertmanager payload. Nothing is written when no alert in it counts. */
  ingest(
    payload: AlertmanagerPayload,
  ): Promise<{ accepted: number; ignored: number; change: Change }>;
  /** One probe round now (the timer calls this too). */
  probeNow(): Promise<ProbeRound>;
  /** Read the provider status now (the timer calls this too); null when none is configured. */
  providerStatusNow(): Promise<ProviderStatusReading | null>;
  signals(): Promise<SignalsSummary>;
  /** A person started the failover from the card: say so on it. */
  failoverRequested(episodeId: string, opId: string, requester: string): Promise<void>;
  /** Wait until the card shows the latest stored state. */
  settled(): Promise<void>;
  readonly settings: DetectionSettings;
}

function withEpisode(
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

export function createDetector(deps: DetectorDeps): Detector {
  const { settings, store } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'detection', region: settings.region });
  const readinessTimeoutMs = deps.readinessTimeoutMs ?? 15_000;
  const postLeaseMs = deps.postLeaseMs ?? 120_000;
  /** Episodes whose card this process is posting right now: their claim is live whatever its age. */
  const postingHere = new Set<string>();
  /** Publishes again when a claim seen live expires, in case no other signal arrives by then. */
  let leaseTimer: NodeJS.Timeout | undefined;
  let sink: ProposalSink | null = null;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<unknown> | null = null;
  let statusTimer: NodeJS.Timeout | undefined;
  let statusReading: Promise<unknown> | null = null;
  let publishing: Promise<void> | null = null;
  let dirty = false;
  /** What each card shows now, so an unchanged view is not sent again. */
  const lastSent = new Map<string, string>();
  /** Readiness checks under way, awaited by stop() and settled(). */
  const jobs = new Set<Promise<void>>();

  function viewOf(state: DetectionState, episode: Episode, at: number): ProposalView {
    const until = episode.clearedAt ?? Number.POSITIVE_INFINITY;
    return {
      episode,
      alerts: episodeAlerts(state, episode, settings).filter((a) => a.firstSeenAt <= until),
      probes: state.probes.recent.filter((p) => p.at <= until),
      summary: summarize(state, episode.clearedAt ?? at, settings),
    };
  }

  /** The view's content without what changes on every read (the card ref, the summary clock). */
  function fingerprintOf(view: ProposalView): string {
    const { card: _card, ...episode } = view.episode;
    return JSON.stringify({
      ...view,
      episode,
      summary: view.episode.clearedAt ? null : view.summary,
    });
  }

  async function mutate(
    apply: (state: DetectionState, at: number) => DetectionState,
  ): Promise<Change> {
    const change = await store.update((state) => {
      const at = now();
      const next = evaluate(apply(state, at), at, settings);
      return { state: next.state, result: next.change };
    });
    if (change === 'opened')
      log.warn('regional failure suspected: alerts and probes both over their thresholds');
    if (change === 'reopened')
      log.warn(
        'regional failure signals returned within the window: the same episode and card again',
      );
    if (change === 'cleared') log.info('regional failure signals cleared');
    if (change !== 'none') schedulePublish();
    return change;
  }

  async function readReadiness(): Promise<Pick<Episode, 'readiness' | 'readinessError'>> {
    if (!deps.readiness) return { readinessError: 'no readiness check configured' };
    let timeout: NodeJS.Timeout | undefined;
    try {
      const report = await Promise.race([
        deps.readiness(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`no answer within ${Math.round(readinessTimeoutMs / 1000)} s`)),
            readinessTimeoutMs,
          );
        }),
      ]);
      return { readiness: report };
    } catch (err) {
      log.warn({ err }, 'standby readiness check failed; the card shows the failure');
      return { readinessError: errorInfo(err).message };
    } finally {
      clearTimeout(timeout);
    }
  }

  /** A claim left by a run that died while posting (older than the lease, or from before claims had a time). */
  function staleClaim(e: Episode, at: number): boolean {
    return (
      e.card === 'posting' && !postingHere.has(e.id) && at - (e.postingSince ?? 0) >= postLeaseMs
    );
  }

  function publishWhenLeaseEnds(e: Episode): void {
    if (leaseTimer || stopped) return;
    const wait = Math.max(0, (e.postingSince ?? 0) + postLeaseMs - now());
    leaseTimer = setTimeout(() => {
      leaseTimer = undefined;
      schedulePublish();
    }, wait);
    leaseTimer.unref();
  }

  async function postCard(target: ProposalSink, id: string): Promise<void> {
    const at = now();
    const claimed = await store.update((state) => {
      const e = state.episode?.id === id ? state.episode : null;
      const free = e !== null && (e.card === null || staleClaim(e, at));
      const next = free
        ? withEpisode(state, id, (ep) => ({ ...ep, card: 'posting', postingSince: at }))
        : null;
      return next
        ? { state: next, result: e!.card === 'posting' ? 'retaken' : 'claimed' }
        : { state, result: null };
    });
    if (!claimed) return;
    if (claimed === 'retaken')
      log.warn(
        { episode: id },
        `retaking the card claim of a run that stopped while posting it (older than ${Math.round(postLeaseMs / 1000)} s): posting the card`,
      );
    postingHere.add(id);
    try {
      await postClaimed(target, id);
    } finally {
      postingHere.delete(id);
    }
  }

  async function postClaimed(target: ProposalSink, id: string): Promise<void> {
    const state = await store.load();
    const current =
      state.episode?.id === id
        ? state.episode
        : state.lastEpisode?.id === id
          ? state.lastEpisode
          : null;
    if (!current) return;
    // Posted at once: the readiness check can take as long as an unreachable primary's timeouts,
    // and people should see the proposal meanwhile; the card shows readiness when it is known.
    const view = viewOf(state, current, now());
    let ref: CardRef;
    try {
      ref = await target.post(view);
    } catch (err) {
      log.error(
        { err, episode: id },
        'could not post the proposal card; trying again on the next signal',
      );
      await store.update((s) => ({
        state:
          withEpisode(s, id, ({ postingSince: _p, ...e }) =>
            e.card === 'posting' ? { ...e, card: null } : null,
          ) ?? s,
        result: null,
      }));
      return;
    }
    lastSent.set(id, fingerprintOf(view));
    await store.update((s) => ({
      state: withEpisode(s, id, ({ postingSince: _p, ...e }) => ({ ...e, card: ref })) ?? s,
      result: null,
    }));
    log.info({ episode: id, channel: ref.channel, ts: ref.ts }, 'proposal card posted');
    checkReadiness(id);
  }

  function checkReadiness(id: string): void {
    const job: Promise<void> = readReadiness()
      .then(async (readiness) => {
        await store.update((s) => ({
          state: withEpisode(s, id, (e) => ({ ...e, ...readiness })) ?? s,
          result: null,
        }));
        schedulePublish();
      })
      .catch((err: unknown) =>
        log.error({ err, episode: id }, 'could not record the standby readiness'),
      )
      .finally(() => jobs.delete(job));
    jobs.add(job);
  }

  async function publishOnce(target: ProposalSink): Promise<void> {
    const state = await store.load();
    for (const episode of [state.lastEpisode, state.episode]) {
      if (!episode) continue;
      if (episode.card === null) {
        if (episode === state.episode) await postCard(target, episode.id);
        continue;
      }
      if (episode.card === 'posting') {
        if (episode !== state.episode || postingHere.has(episode.id)) continue;
        if (staleClaim(episode, now())) await postCard(target, episode.id);
        else publishWhenLeaseEnds(episode);
        continue;
      }
      const view = viewOf(state, episode, now());
      const fp = fingerprintOf(view);
      if (lastSent.get(episode.id) === fp) continue;
      try {
        await target.update(episode.card, view);
        lastSent.set(episode.id, fp);
      } catch (err) {
        log.error({ err, episode: episode.id }, 'could not update the proposal card');
      }
    }
  }

  function schedulePublish(): void {
    dirty = true;
    if (publishing || !sink || stopped) return;
    const target = sink;
    publishing = (async () => {
      while (dirty) {
        dirty = false;
        try {
          await publishOnce(target);
        } catch (err) {
          log.error({ err }, 'publishing the proposal card failed');
        }
      }
    })().finally(() => {
      publishing = null;
    });
  }

  async function runProbe(): Promise<ProbeRound> {
    const round = await probeRound({ urls: deps.probe.urls, timeoutMs: deps.probe.timeoutMs, now });
    if (!round.ok) log.warn({ results: round.results }, 'primary health probe failed');
    await mutate((state) => recordProbe(state, round));
    return round;
  }

  /** Never throws: a failing status API is recorded as "unavailable" and detection goes on. */
  async function readProviderStatus(): Promise<ProviderStatusReading | null> {
    const ps = deps.providerStatus;
    if (!ps) return null;
    const timeoutMs = ps.timeoutMs ?? 15_000;
    let timeout: NodeJS.Timeout | undefined;
    let reading: ProviderStatusReading;
    try {
      const events = await Promise.race([
        ps.reader.read(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)),
            timeoutMs,
          );
        }),
      ]);
      reading = { source: ps.reader.source, at: now(), ok: true, events };
      if (events.length > 0)
        log.warn(
          { source: ps.reader.source, events: events.length },
          'the cloud reports trouble in the primary region',
        );
    } catch (err) {
      log.warn(
        { err, source: ps.reader.source },
        'provider status unavailable; detection goes on with alerts and probes',
      );
      reading = { source: ps.reader.source, at: now(), ok: false, error: errorInfo(err).message };
    } finally {
      clearTimeout(timeout);
    }
    try {
      // Evidence only: stored beside the signals, never evaluated, so it cannot open or clear an episode.
      await store.update((state) => ({
        state: { ...state, providerStatus: reading },
        result: null,
      }));
      schedulePublish();
    } catch (err) {
      log.error({ err }, 'provider status could not be recorded');
    }
    return reading;
  }

  function scheduleProviderStatus(delayMs: number): void {
    const ps = deps.providerStatus;
    if (stopped || !ps) return;
    statusTimer = setTimeout(() => {
      statusTimer = undefined;
      statusReading = readProviderStatus().finally(() => {
        statusReading = null;
        scheduleProviderStatus(ps.intervalMs);
      });
    }, delayMs);
  }

  function scheduleProbe(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      probing = runProbe()
        .catch((err: unknown) => log.error({ err }, 'probe round could not be recorded'))
        .finally(() => {
          probing = null;
          scheduleProbe();
        });
    }, deps.probe.intervalMs);
  }

  return {
    settings,
    async start() {
      if (!stopped) return;
      stopped = false;
      const state = await store.load();
      for (const e of [state.episode, state.lastEpisode]) {
        if (e?.card === 'posting' && e === state.episode)
          log.warn(
            { episode: e.id },
            `an earlier run was posting this episode's card when it stopped; it is posted again once that claim is ${Math.round(postLeaseMs / 1000)} s old`,
          );
      }
      // An earlier run posted the card but stopped before its readiness check finished.
      const open = state.episode;
      if (
        open &&
        typeof open.card === 'object' &&
        open.card !== null &&
        !open.readiness &&
        !open.readinessError
      )
        checkReadiness(open.id);
      schedulePublish();
      scheduleProbe();
      scheduleProviderStatus(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (statusTimer) clearTimeout(statusTimer);
      statusTimer = undefined;
      if (leaseTimer) clearTimeout(leaseTimer);
      leaseTimer = undefined;
      await probing;
      await statusReading;
      await Promise.all([...jobs]);
      await publishing;
    },
    attach(s) {
      sink = s;
      schedulePublish();
      return () => {
        if (sink === s) sink = null;
      };
    },
    async ingest(payload) {
      const alerts = relevantAlerts(payload, settings);
      const ignored = payload.alerts.length - alerts.length;
      if (alerts.length === 0) return { accepted: 0, ignored, change: 'none' };
      const change = await mutate((state, at) => ingestAlerts(state, alerts, at));
      return { accepted: alerts.length, ignored, change };
    },
    probeNow: runProbe,
    providerStatusNow: readProviderStatus,
    async signals() {
      return summarize(await store.load(), now(), settings);
    },
    async failoverRequested(episodeId, opId, requester) {
      const at = now();
      await store.update((s) => ({
        state: withEpisode(s, episodeId, (e) => ({ ...e, failover: { opId, requester, at } })) ?? s,
        result: null,
      }));
      schedulePublish();
    },
    async settled() {
      while (publishing || jobs.size > 0) {
        await Promise.all([...jobs]);
        await publishing;
      }
    },
  };
}
