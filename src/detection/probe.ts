/**
 * Probes of the primary region's health endpoints from where the bot runs (outside the primary
 * region, so it sees what users see). A round fails only when no endpoint answers healthy: one
 * sick service is not a regional failure, and the alerts speak for single services.
 */
import type { ProbeResult, ProbeRound } from './types.js';

export interface ProbeOptions {
  urls: readonly string[];
  timeoutMs: number;
  now?: () => number;
}

async function probeOne(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const took = (): number => Math.round(performance.now() - started);
  try {
    const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The body is not needed, but must be consumed or the connection stays busy.
    await res.arrayBuffer().catch(() => undefined);
    const durationMs = took();
    const ok = res.status >= 200 && res.status < 300;
    return { url, ok, detail: `${res.status} in ${durationMs} ms`, durationMs };
  } catch (err) {
    const durationMs = took();
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const detail =
      e.name === 'TimeoutError' || e.name === 'AbortError'
        ? `no answer within ${timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { url, ok: false, detail, durationMs };
  }
}

export async function probeRound(opts: ProbeOptions): Promise<ProbeRound> {
  const at = (opts.now ?? Date.now)();
  const results = await Promise.all(opts.urls.map((u) => probeOne(u, opts.timeoutMs)));
  return { at, ok: results.some((r) => r.ok), results };
}
