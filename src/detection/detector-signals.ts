/**
 * The detector's own signals, each on its timer: probe rounds of the primary (recorded and
 * evaluated) and the cloud's provider status (recorded as evidence only).
 */
import { errorInfo } from '../errors.js';
import { mutate, schedulePublish } from './detector-cards.js';
import type { DetectorContext } from './detector-context.js';
import { recordProbe } from './episode.js';
import { probeRound } from './probe.js';
import type { ProbeRound, ProviderStatusReading } from './types.js';

export async function runProbe(ctx: DetectorContext): Promise<ProbeRound> {
  const { probe } = ctx.deps;
  const round = await probeRound({ urls: probe.urls, timeoutMs: probe.timeoutMs, now: ctx.now });
  if (!round.ok) ctx.log.warn({ results: round.results }, 'primary health probe failed');
  await mutate(ctx, (state) => recordProbe(state, round));
  return round;
}

/** Never throws: a failing status API is recorded as "unavailable" and detection goes on. */
export async function readProviderStatus(
  ctx: DetectorContext,
): Promise<ProviderStatusReading | null> {
  const { log, now } = ctx;
  const ps = ctx.deps.providerStatus;
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
    await ctx.store.update((state) => ({
      state: { ...state, providerStatus: reading },
      result: null,
    }));
    schedulePublish(ctx);
  } catch (err) {
    log.error({ err }, 'provider status could not be recorded');
  }
  return reading;
}

export function scheduleProviderStatus(ctx: DetectorContext, delayMs: number): void {
  const ps = ctx.deps.providerStatus;
  if (ctx.stopped || !ps) return;
  ctx.statusTimer = setTimeout(() => {
    ctx.statusTimer = undefined;
    ctx.statusReading = readProviderStatus(ctx).finally(() => {
      ctx.statusReading = null;
      scheduleProviderStatus(ctx, ps.intervalMs);
    });
  }, delayMs);
}

export function scheduleProbe(ctx: DetectorContext): void {
  if (ctx.stopped) return;
  ctx.timer = setTimeout(() => {
    ctx.timer = undefined;
    ctx.probing = runProbe(ctx)
      .catch((err: unknown) => ctx.log.error({ err }, 'probe round could not be recorded'))
      .finally(() => {
        ctx.probing = null;
        scheduleProbe(ctx);
      });
  }, ctx.deps.probe.intervalMs);
}
