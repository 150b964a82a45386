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
 *
 * This module wires the detector together; the cards are published by detector-cards.ts, the
 * probe and provider-status timers run in detector-signals.ts, over detector-context.ts's state.
 */
import { checkReadiness, mutate, schedulePublish } from './detector-cards.js';
import {
  detectorContext,
  withEpisode,
  type DetectorContext,
  type DetectorDeps,
  type ProposalSink,
} from './detector-context.js';
import {
  readProviderStatus,
  runProbe,
  scheduleProbe,
  scheduleProviderStatus,
} from './detector-signals.js';
import { relevantAlerts, type AlertmanagerPayload } from './alertmanager.js';
import { ingestAlerts, summarize, type Change } from './episode.js';
import type {
  DetectionSettings,
  ProbeRound,
  ProviderStatusReading,
  SignalsSummary,
} from './types.js';

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

async function startDetector(ctx: DetectorContext): Promise<void> {
  if (!ctx.stopped) return;
  ctx.stopped = false;
  const state = await ctx.store.load();
  for (const e of [state.episode, state.lastEpisode]) {
    if (e?.card === 'posting' && e === state.episode)
      ctx.log.warn(
        { episode: e.id },
        `an earlier run was posting this episode's card when it stopped; it is posted again once that claim is ${Math.round(ctx.postLeaseMs / 1000)} s old`,
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
    checkReadiness(ctx, open.id);
  schedulePublish(ctx);
  scheduleProbe(ctx);
  scheduleProviderStatus(ctx, 0);
}

async function stopDetector(ctx: DetectorContext): Promise<void> {
  ctx.stopped = true;
  if (ctx.timer) clearTimeout(ctx.timer);
  ctx.timer = undefined;
  if (ctx.statusTimer) clearTimeout(ctx.statusTimer);
  ctx.statusTimer = undefined;
  if (ctx.leaseTimer) clearTimeout(ctx.leaseTimer);
  ctx.leaseTimer = undefined;
  await ctx.probing;
  await ctx.statusReading;
  await Promise.all([...ctx.jobs]);
  await ctx.publishing;
}

export function createDetector(deps: DetectorDeps): Detector {
  const ctx = detectorContext(deps);
  const { settings, store, now } = ctx;
  return {
    settings,
    start: () => startDetector(ctx),
    stop: () => stopDetector(ctx),
    attach(s) {
      ctx.sink = s;
      schedulePublish(ctx);
      return () => {
        if (ctx.sink === s) ctx.sink = null;
      };
    },
    async ingest(payload) {
      const alerts = relevantAlerts(payload, settings);
      const ignored = payload.alerts.length - alerts.length;
      if (alerts.length === 0) return { accepted: 0, ignored, change: 'none' };
      const change = await mutate(ctx, (state, at) => ingestAlerts(state, alerts, at));
      return { accepted: alerts.length, ignored, change };
    },
    probeNow: () => runProbe(ctx),
    providerStatusNow: () => readProviderStatus(ctx),
    async signals() {
      return summarize(await store.load(), now(), settings);
    },
    async failoverRequested(episodeId, opId, requester) {
      const at = now();
      await store.update((s) => ({
        state: withEpisode(s, episodeId, (e) => ({ ...e, failover: { opId, requester, at } })) ?? s,
        result: null,
      }));
      schedulePublish(ctx);
    },
    async settled() {
      while (ctx.publishing || ctx.jobs.size > 0) {
        await Promise.all([...ctx.jobs]);
        await ctx.publishing;
      }
    },
  };
}
