/**
 * Connections to the two Redis servers: the provider's options and shared context, each side's
 * address, one short-lived client per call (withClient) and the polling loop the waits use.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RegionRole } from '../../domain/types.js';
import { DrError, ProviderError } from '../../errors.js';
import { backoffMs, sleep } from '../dns-resolve.js';

export interface RedisProviderOptions {
  primaryUrl: string;
  secondaryUrl: string;
  promoteTimeoutSeconds: number;
  useFailoverCommand: boolean;
  log: Logger;
  connectTimeoutMs?: number;
  /** Tests: the Redis version that chooses FAILOVER / CLIENT PAUSE WRITE / the < 6.2 fence, instead of the server's. Nothing else reads it. */
  assumeVersion?: string;
  /** The failback's consistency check (config `consistency`); defaults as there. */
  consistency?: Partial<RedisConsistencyOptions>;
}

export interface RedisConsistencyOptions {
  /** Keys picked at random and compared; a smaller keyspace is compared whole. */
  sampleKeys: number;
  /** Large values are read in pieces of about this many bytes. */
  pieceBytes: number;
  /** Rounds of a key written during each of them before it counts as changing. */
  attempts: number;
  /** The check stops sampling when this is spent. */
  timeBudgetSeconds: number;
}

const CONSISTENCY_DEFAULTS: RedisConsistencyOptions = {
  sampleKeys: 1000,
  pieceBytes: 256 * 1024,
  attempts: 3,
  timeBudgetSeconds: 900,
};

export function consistencySettings(ctx: RedisCtx): RedisConsistencyOptions {
  return { ...CONSISTENCY_DEFAULTS, ...ctx.opts.consistency };
}

/** What every part of one provider works with: its options and the clients close() must release. */
export interface RedisCtx {
  readonly opts: RedisProviderOptions;
  readonly open: Set<Redis>;
  readonly connectTimeoutMs: number;
}

export const NAME = 'redis';

export const other = (side: RegionRole): RegionRole =>
  side === 'primary' ? 'secondary' : 'primary';

/** QUIT when connected: disconnect() leaves a 2 s timer behind that keeps a CLI (or jest) alive. */
export async function release(r: Redis): Promise<void> {
  if (r.status === 'ready') {
    await r.quit().catch(() => r.disconnect());
    return;
  }
  r.disconnect();
}

function url(ctx: RedisCtx, side: RegionRole): string {
  return side === 'primary' ? ctx.opts.primaryUrl : ctx.opts.secondaryUrl;
}

export function address(ctx: RedisCtx, side: RegionRole): { host: string; port: number } {
  const u = new URL(url(ctx, side));
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
}

export function where(ctx: RedisCtx, side: RegionRole): string {
  try {
    const a = address(ctx, side);
    return `${side} (${a.host}:${a.port})`;
  } catch {
    return side;
  }
}

/**
 * Run `fn` on a fresh connection to `side`, closed afterwards. Why one short-lived connection per
 * call and no shared client: a shared client would reconnect and queue commands behind a dead
 * primary and hide that it is unreachable.
 */
export async function withClient<T>(
  ctx: RedisCtx,
  side: RegionRole,
  action: string,
  fn: (r: Redis) => Promise<T>,
): Promise<T> {
  const r = new Redis(url(ctx, side), {
    lazyConnect: true,
    connectTimeout: ctx.connectTimeoutMs,
    commandTimeout: 15_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: 'dr-bot',
    disconnectTimeout: 100,
    // No INFO round trip before each call: a server still loading answers LOADING, retried as unreachable.
    enableReadyCheck: false,
  });
  r.on('error', () => undefined);
  ctx.open.add(r);
  try {
    await r.connect();
    return await fn(r);
  } catch (err) {
    if (err instanceof DrError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const retryable =
      r.status !== 'ready' ||
      /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|timed? ?out|LOADING|Connection is closed/i.test(
        message,
      );
    throw new ProviderError(NAME, `${where(ctx, side)}: ${action} failed: ${message}`, {
      retryable,
      cause: err,
    });
  } finally {
    ctx.open.delete(r);
    await release(r);
  }
}

export async function poll<T>(
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  // ROLE and offsets answer in well under a millisecond: look again at once, then back off.
  for (let attempt = 0; ; attempt++) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(backoffMs(attempt, 20, 1));
  }
}
