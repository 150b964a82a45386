/**
 * Probes of the primary region's health endpoints from where the bot runs (outside the primary
 * region, so it sees what users see). A round fails only when no endpoint answers healthy: one
 * sick service is not a regional failure, and the alerts speak for single services.
 */
import { get as httpGet, type ClientRequest } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { ProbeResult, ProbeRound } from './types.js';

export interface ProbeOptions {
  urls: readonly string[];
  timeoutMs: number;
  now?: () => number;
}

/**
 * A fresh connection per probe (no keep-alive pool): a pooled socket the server dropped long ago
 * would fail for reasons users never see, and a new connection is what a user's browser makes.
 */
function probeOne(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const took = (): number => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ url, ok, detail, durationMs: took() });
    };
    let req: ClientRequest;
    try {
      const get = url.startsWith('https:') ? httpsGet : httpGet;
      req = get(url, { agent: false, headers: { 'user-agent': 'dr-bot-probe' } }, (res) => {
        const status = res.statusCode ?? 0;
        // The body is not needed; reading it to the end lets the connection close cleanly.
        res.resume();
        res.on('end', () => done(status >= 200 && status < 300, `${status} in ${took()} ms`));
        res.on('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
      });
    } catch (err) {
      resolve({ url, ok: false, detail: (err as Error).message, durationMs: took() });
      return;
    }
    const timer = setTimeout(() => {
      done(false, `no answer within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}

export async function probeRound(opts: ProbeOptions): Promise<ProbeRound> {
  const at = (opts.now ?? Date.now)();
  const results = await Promise.all(opts.urls.map((u) => probeOne(u, opts.timeoutMs)));
  return { at, ok: results.some((r) => r.ok), results };
}
