// One instance lease's settings, connection and what it holds: the context the acquire and
// renew functions share, with the reads and timer handling they both use.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseOwner, type LeaseHolder, type LeaseOwner } from './lease-owner.js';

export interface LeaseState {
  key: string;
  /** The counter each grant takes its fencing token from. */
  tokenKey: string;
  ttlMs: number;
  renewMs: number;
  pollMs: number;
  /** Stop acting this long before the key would expire after the last renewal sent. */
  marginMs: number;
  commandTimeoutMs: number;
  /** How soon a failed renewal is tried again. */
  retryMs: number;
  /** This process's random owner id. */
  id: string;
  self: LeaseOwner;
  redis: Redis;
  log: Logger;
  /** The value this process holds the key with, once acquired. */
  held: string | undefined;
  /** When the last renewal (or the acquisition) that succeeded was sent: the key lives ttlMs from then at least. */
  renewedAt: number;
  renewTimer: NodeJS.Timeout | undefined;
  deadlineTimer: NodeJS.Timeout | undefined;
  lost: boolean;
}

/** A command that does not answer within `ms` fails: a Redis that went away must not stall a renewal. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: the state Redis did not answer within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function readHolder(s: LeaseState): Promise<LeaseHolder | null> {
  const { redis, key } = s;
  const res = await within(
    s.commandTimeoutMs,
    'reading the instance lease',
    redis.multi().get(key).pttl(key).exec(),
  );
  const [[getErr, value], [ttlErr, ttl]] = res as [
    [Error | null, string | null],
    [Error | null, number],
  ];
  if (getErr ?? ttlErr) throw getErr ?? ttlErr;
  if (value === null) return null;
  const owner = parseOwner(value);
  return { value, ttlMs: ttl, ...(owner ? { owner } : {}) };
}

export function stopTimers(s: LeaseState): void {
  clearTimeout(s.renewTimer);
  clearTimeout(s.deadlineTimer);
  s.renewTimer = undefined;
  s.deadlineTimer = undefined;
}
