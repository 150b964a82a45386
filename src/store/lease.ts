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
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';

export const LEASE_TTL_MS = 15_000;
/** Test knob: a shorter lease (milliseconds) so takeover tests run in seconds. */
export const LEASE_TTL_ENV = 'DR_LEASE_TTL_MS';

/** KEYS: lease. ARGV: owner, ttlMs. {1} when ours (expiry pushed back), else {0, holder or ''}. */
const RENEW_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
return {0, holder or ''}
`;

/** KEYS: lease. ARGV: owner. 1 when released, 0 when it was not ours (left alone). */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** What a lease key says about its holder (as written by `ownerValue`). */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
  /** `dr start` or `dr console`. */
  command: string;
  /** ISO time the lease was taken. */
  since: string;
}

export interface LeaseHolder {
  /** The key's value as stored. */
  value: string;
  /** Parsed when the value is one of ours. */
  owner?: LeaseOwner;
  /** Milliseconds until it expires unless renewed; -1: it never expires. */
  ttlMs: number;
}

export type AcquireResult = { acquired: true } | { acquired: false; holder: LeaseHolder | null };

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
  waitUntilAcquired(opts: {
    signal?: AbortSignal;
    known?: LeaseHolder | null;
    onWaiting?: (holder: LeaseHolder | null) => void;
    onError?: (err: unknown) => void;
  }): Promise<void>;
  /**
   * Renew the held lease every renewMs until released. `onLost` is called once, when a renewal
   * finds another owner (or none), or when no renewal succeeded for the TTL minus a margin.
   */
  hold(onLost: (reason: string) => void): void;
  /** Stop renewing and delete the key if it is still ours. Never throws (logs instead). */
  release(): Promise<void>;
  /** release() and close the connection. */
  close(): Promise<void>;
}

export class LeaseWaitAborted extends Error {
  constructor() {
    super('stopped while waiting for the instance lease');
    this.name = 'LeaseWaitAborted';
  }
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

function parseOwner(value: string): LeaseOwner | undefined {
  try {
    const o = JSON.parse(value) as Partial<LeaseOwner>;
    if (
      typeof o.id === 'string' &&
      typeof o.host === 'string' &&
      typeof o.pid === 'number' &&
      typeof o.command === 'string' &&
      typeof o.since === 'string'
    ) {
      return { id: o.id, host: o.host, pid: o.pid, command: o.command, since: o.since };
    }
  } catch {
    // Not one of ours.
  }
  return undefined;
}

/** "dr-bot on host web-1 (pid 42)" / "dr console on host …"; an unknown value is quoted. */
export function describeOwner(value: string): string {
  const owner = parseOwner(value);
  if (!owner)
    return `an unknown holder (${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)})`;
  const who = owner.command === 'dr start' ? 'dr-bot' : owner.command;
  return `${who} on host ${owner.host} (pid ${owner.pid})`;
}

/** The sentence a refused or waiting process says about the holder. */
export function describeHolder(holder: LeaseHolder, environment: string): string {
  const since = holder.owner ? ` since ${holder.owner.since}` : '';
  const expiry =
    holder.ttlMs === -1 ? ' (the key never expires: delete it if no instance runs)' : '';
  return `${describeOwner(holder.value)} is running environment ${environment}${since}${expiry}`;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** A command that does not answer within `ms` fails: a Redis that went away must not stall a renewal. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
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

export function createInstanceLease(opts: InstanceLeaseOptions): InstanceLease {
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
  const redis = new Redis(opts.url, {
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    disconnectTimeout: 200,
  });
  redis.on('error', () => undefined);

  /** The value this process holds the key with, once acquired. */
  let held: string | undefined;
  /** When the last renewal (or the acquisition) that succeeded was sent: the key lives ttlMs from then at least. */
  let renewedAt = 0;
  let renewTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let lost = false;

  const readHolder = async (): Promise<LeaseHolder | null> => {
    const res = await within(
      commandTimeoutMs,
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
  };

  const stopTimers = (): void => {
    clearTimeout(renewTimer);
    clearTimeout(deadlineTimer);
    renewTimer = undefined;
    deadlineTimer = undefined;
  };

  const lease: InstanceLease = {
    key,
    environment: opts.environment,
    ttlMs,
    renewMs,
    pollMs,
    self,

    async tryAcquire() {
      const sentAt = Date.now();
      const since = new Date(sentAt).toISOString();
      const value = JSON.stringify({ ...self, since });
      const ok = await within(
        commandTimeoutMs,
        'taking the instance lease',
        redis.set(key, value, 'PX', ttlMs, 'NX'),
      );
      let holder: LeaseHolder | null = null;
      if (ok !== 'OK') {
        holder = await readHolder();
        // Our own SET applied, its reply lost and the command resent, or an earlier attempt that
        // timed out here and reached Redis later: the id is this process's, so the key is ours.
        if (!holder || holder.owner?.id !== id) return { acquired: false, holder };
        held = holder.value;
        self.since = holder.owner.since;
        // When it expires is what Redis says, not when this attempt was sent.
        renewedAt =
          holder.ttlMs >= 0 ? Math.min(sentAt, Date.now() - (ttlMs - holder.ttlMs)) : sentAt;
      } else {
        held = value;
        self.since = since;
        renewedAt = sentAt;
      }
      lost = false;
      return { acquired: true };
    },

    holder: readHolder,

    async waitUntilAcquired({ signal, known, onWaiting, onError }) {
      let last: string | null | undefined = known?.value;
      for (;;) {
        if (signal?.aborted) throw new LeaseWaitAborted();
        let res: AcquireResult | undefined;
        try {
          res = await lease.tryAcquire();
        } catch (err) {
          onError?.(err);
        }
        if (res?.acquired) {
          // Stopped while this attempt was under way: the caller starts nothing now, so the lease
          // goes back at once rather than keeping the next instance waiting for a TTL.
          if (signal?.aborted) {
            await lease.release();
            throw new LeaseWaitAborted();
          }
          return;
        }
        if (res) {
          const now = res.holder?.value ?? null;
          if (now !== last) onWaiting?.(res.holder);
          last = now;
        }
        await sleep(pollMs, signal);
      }
    },

    hold(onLost) {
      if (held === undefined) throw new Error('hold() before the lease was acquired');
      const value = held;
      const fail = (reason: string): void => {
        if (lost || held !== value) return;
        lost = true;
        held = undefined;
        stopTimers();
        onLost(reason);
      };
      let lastOk = renewedAt;
      let failures = 0;
      const arm = (): void => {
        clearTimeout(deadlineTimer);
        deadlineTimer = setTimeout(
          () =>
            fail(
              `no renewal succeeded for ${Date.now() - lastOk} ms (the state Redis does not answer); it expires ${ttlMs} ms after the last one, and another instance may take over then`,
            ),
          Math.max(0, lastOk + ttlMs - marginMs - Date.now()),
        );
        deadlineTimer.unref();
      };
      const renew = async (): Promise<void> => {
        const sentAt = Date.now();
        try {
          const [ok, holder] = (await within(
            commandTimeoutMs,
            'renewing the instance lease',
            redis.eval(RENEW_SCRIPT, 1, key, value, String(ttlMs)),
          )) as [number, string?];
          if (held !== value) return;
          if (ok === 1) {
            if (failures > 0)
              log.info({ failures }, 'instance lease renewed again after failed renewals');
            failures = 0;
            lastOk = sentAt;
            arm();
          } else {
            fail(
              holder
                ? `${describeOwner(holder)} holds it now`
                : 'it expired and the key is gone (another instance may have taken over and finished meanwhile)',
            );
            return;
          }
        } catch (err) {
          if (held !== value) return;
          failures += 1;
          log.warn(
            { err, failures, sinceLastRenewalMs: Date.now() - lastOk, retryInMs: retryMs },
            'renewing the instance lease failed; retrying',
          );
        }
        if (held === value) {
          renewTimer = setTimeout(() => void renew(), failures > 0 ? retryMs : renewMs);
          renewTimer.unref();
        }
      };
      arm();
      renewTimer = setTimeout(() => void renew(), renewMs);
      renewTimer.unref();
    },

    async release() {
      const value = held;
      held = undefined;
      stopTimers();
      if (value === undefined) return;
      try {
        const released = await within(
          commandTimeoutMs,
          'releasing the instance lease',
          redis.eval(RELEASE_SCRIPT, 1, key, value),
        );
        if (released === 1) log.info({ key }, 'instance lease released');
        else log.warn({ key }, 'the instance lease was no longer ours at release');
      } catch (err) {
        log.warn(
          { err, key },
          `releasing the instance lease failed: it expires by itself within ${ttlMs} ms`,
        );
      }
    },

    async close() {
      await lease.release();
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
  return lease;
}
