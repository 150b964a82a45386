// Taking the instance lease: one SET NX attempt (a lost reply of our own attempt still counts),
// and the standby's poll until it is free.
import { parseOwner, type LeaseHolder } from './lease-owner.js';
import { readHolder, within, type LeaseState } from './lease-state.js';

export type AcquireResult = { acquired: true } | { acquired: false; holder: LeaseHolder | null };

export class LeaseWaitAborted extends Error {
  constructor() {
    super('stopped while waiting for the instance lease');
    this.name = 'LeaseWaitAborted';
  }
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

/**
 * KEYS: lease, token counter. ARGV: owner JSON, ttlMs. {1, value} when taken (the value carries
 * the next fencing token), else {0}. The counter never goes back, so a later grant always
 * carries a larger token than any before it.
 */
const ACQUIRE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local o = cjson.decode(ARGV[1])
o.token = redis.call('INCR', KEYS[2])
local v = cjson.encode(o)
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {1, v}
`;

export async function tryAcquire(s: LeaseState): Promise<AcquireResult> {
  const { self, ttlMs } = s;
  const sentAt = Date.now();
  const since = new Date(sentAt).toISOString();
  const { token: _previous, ...owner } = self;
  const [ok, value] = (await within(
    s.commandTimeoutMs,
    'taking the instance lease',
    s.redis.eval(ACQUIRE_SCRIPT, 2, s.key, s.tokenKey, JSON.stringify({ ...owner, since }), ttlMs),
  )) as [number, string?];
  let holder: LeaseHolder | null = null;
  if (ok !== 1 || value === undefined) {
    holder = await readHolder(s);
    // Our own SET applied, its reply lost and the command resent, or an earlier attempt that
    // timed out here and reached Redis later: the id is this process's, so the key is ours.
    if (!holder || holder.owner?.id !== s.id) return { acquired: false, holder };
    s.held = holder.value;
    self.since = holder.owner.since;
    if (holder.owner.token !== undefined) self.token = holder.owner.token;
    // When it expires is what Redis says, not when this attempt was sent.
    s.renewedAt =
      holder.ttlMs >= 0 ? Math.min(sentAt, Date.now() - (ttlMs - holder.ttlMs)) : sentAt;
  } else {
    s.held = value;
    self.since = since;
    const token = parseOwner(value)?.token;
    if (token !== undefined) self.token = token;
    s.renewedAt = sentAt;
  }
  s.lost = false;
  return { acquired: true };
}

export interface WaitOptions {
  signal?: AbortSignal;
  known?: LeaseHolder | null;
  onWaiting?: (holder: LeaseHolder | null) => void;
  onError?: (err: unknown) => void;
}

/** Attempts go through `lease`, the object handed out, as they did when this was its method. */
export async function waitUntilAcquired(
  s: LeaseState,
  lease: { tryAcquire(): Promise<AcquireResult>; release(): Promise<void> },
  { signal, known, onWaiting, onError }: WaitOptions,
): Promise<void> {
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
    await sleep(s.pollMs, signal);
  }
}
