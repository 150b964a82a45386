/**
 * `/dr status` under a burst: the answer is computed once and shared. Concurrent requests wait
 * for the one computation in flight (single flight); answers within `ttlMs` of it reuse it, and
 * say how old it is. A failed computation is not kept: the next request tries again.
 */
export interface Fresh<T> {
  value: T;
  /** When the computation started (what the answer describes). */
  at: number;
}

export function sharedAnswer<T>(
  ttlMs: number,
  compute: () => Promise<T>,
  now: () => number = Date.now,
): () => Promise<Fresh<T>> {
  let current: { at: number; promise: Promise<Fresh<T>> } | undefined;
  return () => {
    const t = now();
    if (current && t - current.at <= ttlMs) return current.promise;
    const at = t;
    const promise = compute().then((value) => ({ value, at }));
    const entry = { at, promise };
    current = entry;
    promise.catch(() => {
      if (current === entry) current = undefined;
    });
    return promise;
  };
}

/** "as of 10:08:44 UTC, 0.3 s ago": how fresh a shared answer is. */
export function freshnessLine(at: number, now: number = Date.now()): string {
  const age = Math.max(0, now - at);
  const clock = new Date(at).toISOString().slice(11, 19);
  return `_As of ${clock} UTC (${age < 1000 ? `${age} ms` : `${(age / 1000).toFixed(1)} s`} ago)_`;
}
