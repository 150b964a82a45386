/**
 * The instance lease: one process acts on an environment at a time. Operations already hold a
 * one-active-operation lock, but a second process (a rolling deploy's new pod, a second replica,
 * `dr console` beside `dr start`) would load the active operation, re-check its running step,
 * find it not done (the first process is still running it) and run it again. Snapshot
 * compare-and-set refuses the stale save, but only after the effect happened.
 *
 * A key `<prefix>lease:<env>` holds the owner (a random id, host, pid, command and since when, as
 * JSON): taken with SET NX PX, renewed and released by scripts that compare the owner first, so
 * no process can extend or delete another's lease. A process that cannot renew for the TTL minus
 * a margin, or finds someone else in the key, has lost it and must stop acting at once.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { openStateRedis } from './state-redis.js';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import {
  tryAcquire,
  waitUntilAcquired,
  type AcquireResult,
  type WaitOptions,
} from './lease-acquire.js';
import type { LeaseHolder, LeaseOwner } from './lease-owner.js';
import { holdLease, releaseLease } from './lease-renew.js';
import { readHolder, type LeaseState } from './lease-state.js';
import type { Fence } from './redis-store-context.js';

export const LEASE_TTL_MS = 15_000;
/** Test knob: a shorter lease (milliseconds) so takeover tests run in seconds. */
export const LEASE_TTL_ENV = 'DR_LEASE_TTL_MS';

export interface InstanceLease {
  readonly key: string;
  readonly environment: string;
  readonly ttlMs: number;
  /** How often a held lease is renewed (a third of the TTL); a failed renewal is retried sooner (a quarter of that, at most 1 s). */
  readonly renewMs: number;
  /** How often a standby asks for it (at most a second). */
  readonly pollMs: number;
  /** This process, as it writes itself into the key (since: when it last tried). */
  readonly self: LeaseOwner;
  /** One attempt. Acquired when the key was free, or already held by this very attempt (a lost reply). */
  tryAcquire(): Promise<AcquireResult>;
  /** Who holds it now (null when nobody does). */
  holder(): Promise<LeaseHolder | null>;
  /**
   * Poll until acquired. `onWaiting` hears each new holder (`known`: the one already reported);
   * `onError` each failed attempt. Rejects with LeaseWaitAborted on abort, also when the attempt
   * under way at the abort took the lease (it is released again).
   */
  waitUntilAcquired(opts: WaitOptions): Promise<void>;
  /**
   * Renew the held lease every renewMs until released. `onLost` is called once, when a renewal
   * finds another owner (or none), or when no renewal succeeded for the TTL minus a margin.
   */
  hold(onLost: (reason: string) => void): void;
  /** Stop renewing and delete the key if it is still ours. Never throws (logs instead). */
  release(): Promise<void>;
  /** release() and close the connection. */
  close(): Promise<void>;
  /**
   * What the store's writes are fenced by: this lease's key and the token of its last grant to
   * this process, kept after a loss so that writes are then refused. Undefined before any grant.
   */
  fence(): Fence | undefined;
}

export interface InstanceLeaseOptions {
  /** The state Redis; the lease opens its own connection so store traffic never delays a renewal. */
  url: string;
  environment: string;
  /** `dr start` or `dr console`: written into the key for whoever finds it taken. */
  command: string;
  /** Key prefix, default `dr:` (as the store's). */
  prefix?: string;
  ttlMs?: number;
  log: Logger;
}

/** The lease TTL from the environment (test knob), else the default. */
export function leaseTtlFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[LEASE_TTL_ENV];
  if (raw === undefined || raw === '') return LEASE_TTL_MS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 300)
    throw new ConfigError(
      `${LEASE_TTL_ENV}: expected the instance lease TTL in milliseconds (300 or more), got ${JSON.stringify(raw)}`,
    );
  return n;
}

export function leaseKey(environment: string, prefix = 'dr:'): string {
  return `${prefix}lease:${environment}`;
}

export function createInstanceLease(opts: InstanceLeaseOptions): InstanceLease {
  const s = leaseState(opts);
  const lease: InstanceLease = {
    key: s.key,
    environment: opts.environment,
    ttlMs: s.ttlMs,
    renewMs: s.renewMs,
    pollMs: s.pollMs,
    self: s.self,
    tryAcquire: () => tryAcquire(s),
    holder: () => readHolder(s),
    waitUntilAcquired: (waitOpts) => waitUntilAcquired(s, lease, waitOpts),
    hold: (onLost) => holdLease(s, onLost),
    release: () => releaseLease(s),
    fence: () => (s.self.token === undefined ? undefined : { key: s.key, token: s.self.token }),
    async close() {
      await lease.release();
      if (s.redis.status === 'ready') await s.redis.quit().catch(() => s.redis.disconnect());
      else s.redis.disconnect();
    },
  };
  return lease;
}

function leaseState(opts: InstanceLeaseOptions): LeaseState {
  const ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
  const renewMs = Math.max(100, Math.floor(ttlMs / 3));
  const pollMs = Math.min(1000, Math.max(100, Math.floor(ttlMs / 4)));
  // Stop acting this long before the key would expire after the last renewal sent.
  const marginMs = Math.floor(ttlMs / 5);
  const commandTimeoutMs = Math.min(renewMs, 2000);
  // After a failed renewal, the next try comes this soon: a whole renewMs later would leave one
  // more try before the deadline (TTL minus the margin), so a Redis stuck for a couple of seconds
  // around a renewal would cost the lease.
  const retryMs = Math.min(1000, Math.max(100, Math.floor(renewMs / 4)));
  const key = leaseKey(opts.environment, opts.prefix);
  const tokenKey = `${opts.prefix ?? 'dr:'}lease-token:${opts.environment}`;
  const log = opts.log.child({ component: 'lease' });
  const id = randomBytes(8).toString('hex');
  const self: LeaseOwner = {
    id,
    host: hostname(),
    pid: process.pid,
    command: opts.command,
    since: new Date().toISOString(),
  };
  // disconnectTimeout: closing a connection to a Redis that does not answer must not hold the process for ioredis's 2 s.
  const redis = openStateRedis(opts.url, {
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    disconnectTimeout: 200,
  });
  redis.on('error', () => undefined);
  return {
    key,
    tokenKey,
    ttlMs,
    renewMs,
    pollMs,
    marginMs,
    commandTimeoutMs,
    retryMs,
    id,
    self,
    redis,
    log,
    held: undefined,
    renewedAt: 0,
    renewTimer: undefined,
    deadlineTimer: undefined,
    lost: false,
  };
}
