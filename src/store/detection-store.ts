/**
 * Detection's state in the bot's Redis: one JSON value per environment under its own key, so a
 * restarted bot knows the open episode and its card (and never posts a second one).
 */
import { openStateRedis } from './state-redis.js';
import { DrError } from '../errors.js';
import { emptyState } from '../detection/episode.js';
import type { DetectionState, DetectionStore } from '../detection/types.js';

export interface DetectionStoreOptions {
  /** Used for the connection; default redis://127.0.0.1:6379. */
  url?: string;
  /** Key prefix, default `dr:`; tests use their own. */
  prefix?: string;
  environment: string;
}

const MAX_ATTEMPTS = 10;

export function detectionKey(prefix: string, environment: string): string {
  return `${prefix}detection:${environment}`;
}

export function createDetectionStore(opts: DetectionStoreOptions): DetectionStore {
  const key = detectionKey(opts.prefix ?? 'dr:', opts.environment);
  // Its own connection: WATCH is per connection, and must not see other components' commands.
  const redis = openStateRedis(opts.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  redis.on('error', () => {});

  function decode(raw: string | null): DetectionState {
    if (raw === null) return emptyState();
    try {
      return { ...emptyState(), ...(JSON.parse(raw) as Partial<DetectionState>) };
    } catch {
      // A value no version of the bot wrote: start afresh rather than refuse every alert.
      return emptyState();
    }
  }

  let chain: Promise<unknown> = Promise.resolve();
  return {
    async load() {
      return decode(await redis.get(key));
    },
    update<T>(fn: (state: DetectionState) => { state: DetectionState; result: T }): Promise<T> {
      // WATCH is per connection, so this process's own updates go one at a time.
      const run = async (): Promise<T> => {
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
          await redis.watch(key);
          let next: { state: DetectionState; result: T };
          try {
            next = fn(decode(await redis.get(key)));
          } catch (err) {
            await redis.unwatch();
            throw err;
          }
          const { state, result } = next;
          const res = await redis.multi().set(key, JSON.stringify(state)).exec();
          if (res !== null) return result;
        }
        throw new DrError(
          'conflict',
          `detection state ${key}: ${MAX_ATTEMPTS} writers collided; another bot instance is writing it`,
          { retryable: true },
        );
      };
      const p = chain.then(run, run);
      chain = p.catch(() => undefined);
      return p;
    },
    async close() {
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}
