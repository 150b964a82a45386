/**
 * The proposal card of each episode: claimed in the stored state before it is posted (the claim
 * is a lease, see detector.ts), posted once, then edited as the episode changes, with the
 * standby's readiness added when it is known. Publishing runs one loop at a time per detector.
 */
import { errorInfo } from '../errors.js';
import {
  fingerprintOf,
  viewOf,
  withEpisode,
  type CardRef,
  type DetectorContext,
  type ProposalSink,
} from './detector-context.js';
import { evaluate, type Change } from './episode.js';
import type { DetectionState, Episode } from './types.js';

/** Apply a change to the stored state, evaluate the episode, and publish when it moved. */
export async function mutate(
  ctx: DetectorContext,
  apply: (state: DetectionState, at: number) => DetectionState,
): Promise<Change> {
  const { log } = ctx;
  const change = await ctx.store.update((state) => {
    const at = ctx.now();
    const next = evaluate(apply(state, at), at, ctx.settings);
    return { state: next.state, result: next.change };
  });
  if (change === 'opened')
    log.warn('regional failure suspected: alerts and probes both over their thresholds');
  if (change === 'reopened')
    log.warn(
      'regional failure signals returned within the window: the same episode and card again',
    );
  if (change === 'cleared') log.info('regional failure signals cleared');
  if (change !== 'none') schedulePublish(ctx);
  return change;
}

async function readReadiness(
  ctx: DetectorContext,
): Promise<Pick<Episode, 'readiness' | 'readinessError'>> {
  const { deps, readinessTimeoutMs } = ctx;
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
    ctx.log.warn({ err }, 'standby readiness check failed; the card shows the failure');
    return { readinessError: errorInfo(err).message };
  } finally {
    clearTimeout(timeout);
  }
}

/** A claim left by a run that died while posting (older than the lease, or from before claims had a time). */
function staleClaim(ctx: DetectorContext, e: Episode, at: number): boolean {
  return (
    e.card === 'posting' &&
    !ctx.postingHere.has(e.id) &&
    at - (e.postingSince ?? 0) >= ctx.postLeaseMs
  );
}

function publishWhenLeaseEnds(ctx: DetectorContext, e: Episode): void {
  if (ctx.leaseTimer || ctx.stopped) return;
  const wait = Math.max(0, (e.postingSince ?? 0) + ctx.postLeaseMs - ctx.now());
  ctx.leaseTimer = setTimeout(() => {
    ctx.leaseTimer = undefined;
    schedulePublish(ctx);
  }, wait);
  ctx.leaseTimer.unref();
}

async function postCard(ctx: DetectorContext, target: ProposalSink, id: string): Promise<void> {
  const at = ctx.now();
  const claimed = await ctx.store.update((state) => {
    const e = state.episode?.id === id ? state.episode : null;
    const free = e !== null && (e.card === null || staleClaim(ctx, e, at));
    const next = free
      ? withEpisode(state, id, (ep) => ({ ...ep, card: 'posting', postingSince: at }))
      : null;
    return next
      ? { state: next, result: e!.card === 'posting' ? 'retaken' : 'claimed' }
      : { state, result: null };
  });
  if (!claimed) return;
  if (claimed === 'retaken')
    ctx.log.warn(
      { episode: id },
      `retaking the card claim of a run that stopped while posting it (older than ${Math.round(ctx.postLeaseMs / 1000)} s): posting the card`,
    );
  ctx.postingHere.add(id);
  try {
    await postClaimed(ctx, target, id);
  } finally {
    ctx.postingHere.delete(id);
  }
}

async function postClaimed(ctx: DetectorContext, target: ProposalSink, id: string): Promise<void> {
  const { store, log } = ctx;
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
  const view = viewOf(ctx.settings, state, current, ctx.now());
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
  ctx.lastSent.set(id, fingerprintOf(view));
  await store.update((s) => ({
    state: withEpisode(s, id, ({ postingSince: _p, ...e }) => ({ ...e, card: ref })) ?? s,
    result: null,
  }));
  log.info({ episode: id, channel: ref.channel, ts: ref.ts }, 'proposal card posted');
  checkReadiness(ctx, id);
}

/** Read the standby's readiness in the background and show it on the episode's card. */
export function checkReadiness(ctx: DetectorContext, id: string): void {
  const job: Promise<void> = readReadiness(ctx)
    .then(async (readiness) => {
      await ctx.store.update((s) => ({
        state: withEpisode(s, id, (e) => ({ ...e, ...readiness })) ?? s,
        result: null,
      }));
      schedulePublish(ctx);
    })
    .catch((err: unknown) =>
      ctx.log.error({ err, episode: id }, 'could not record the standby readiness'),
    )
    .finally(() => ctx.jobs.delete(job));
  ctx.jobs.add(job);
}

async function publishOnce(ctx: DetectorContext, target: ProposalSink): Promise<void> {
  const state = await ctx.store.load();
  for (const episode of [state.lastEpisode, state.episode]) {
    if (!episode) continue;
    if (episode.card === null) {
      if (episode === state.episode) await postCard(ctx, target, episode.id);
      continue;
    }
    if (episode.card === 'posting') {
      if (episode !== state.episode || ctx.postingHere.has(episode.id)) continue;
      if (staleClaim(ctx, episode, ctx.now())) await postCard(ctx, target, episode.id);
      else publishWhenLeaseEnds(ctx, episode);
      continue;
    }
    const view = viewOf(ctx.settings, state, episode, ctx.now());
    const fp = fingerprintOf(view);
    if (ctx.lastSent.get(episode.id) === fp) continue;
    try {
      await target.update(episode.card, view);
      ctx.lastSent.set(episode.id, fp);
    } catch (err) {
      ctx.log.error({ err, episode: episode.id }, 'could not update the proposal card');
    }
  }
}

/** Bring the cards up to date with the stored state; one loop at a time, rerun while dirty. */
export function schedulePublish(ctx: DetectorContext): void {
  ctx.dirty = true;
  if (ctx.publishing || !ctx.sink || ctx.stopped) return;
  const target = ctx.sink;
  ctx.publishing = (async () => {
    while (ctx.dirty) {
      ctx.dirty = false;
      try {
        await publishOnce(ctx, target);
      } catch (err) {
        ctx.log.error({ err }, 'publishing the proposal card failed');
      }
    }
  })().finally(() => {
    ctx.publishing = null;
  });
}
