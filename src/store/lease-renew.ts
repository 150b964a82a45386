// Keeping and giving back the instance lease: renewals by a script that compares the owner
// first, the deadline after which an unrenewed lease counts as lost, and the release.
import { describeOwner } from './lease-owner.js';
import { stopTimers, within, type LeaseState } from './lease-state.js';

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

export function holdLease(s: LeaseState, onLost: (reason: string) => void): void {
  const { ttlMs, renewMs, retryMs, log } = s;
  if (s.held === undefined) throw new Error('hold() before the lease was acquired');
  const value = s.held;
  const fail = (reason: string): void => {
    if (s.lost || s.held !== value) return;
    s.lost = true;
    s.held = undefined;
    stopTimers(s);
    onLost(reason);
  };
  let lastOk = s.renewedAt;
  let failures = 0;
  const arm = (): void => {
    clearTimeout(s.deadlineTimer);
    s.deadlineTimer = setTimeout(
      () =>
        fail(
          `no renewal succeeded for ${Date.now() - lastOk} ms (the state Redis does not answer); it expires ${ttlMs} ms after the last one, and another instance may take over then`,
        ),
      Math.max(0, lastOk + ttlMs - s.marginMs - Date.now()),
    );
    s.deadlineTimer.unref();
  };
  const renew = async (): Promise<void> => {
    const sentAt = Date.now();
    try {
      const [ok, holder] = (await within(
        s.commandTimeoutMs,
        'renewing the instance lease',
        s.redis.eval(RENEW_SCRIPT, 1, s.key, value, String(ttlMs)),
      )) as [number, string?];
      if (s.held !== value) return;
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
      if (s.held !== value) return;
      failures += 1;
      log.warn(
        { err, failures, sinceLastRenewalMs: Date.now() - lastOk, retryInMs: retryMs },
        'renewing the instance lease failed; retrying',
      );
    }
    if (s.held === value) {
      s.renewTimer = setTimeout(() => void renew(), failures > 0 ? retryMs : renewMs);
      s.renewTimer.unref();
    }
  };
  arm();
  s.renewTimer = setTimeout(() => void renew(), renewMs);
  s.renewTimer.unref();
}

export async function releaseLease(s: LeaseState): Promise<void> {
  const { key, log } = s;
  const value = s.held;
  s.held = undefined;
  stopTimers(s);
  if (value === undefined) return;
  try {
    const released = await within(
      s.commandTimeoutMs,
      'releasing the instance lease',
      s.redis.eval(RELEASE_SCRIPT, 1, key, value),
    );
    if (released === 1) log.info({ key }, 'instance lease released');
    else log.warn({ key }, 'the instance lease was no longer ours at release');
  } catch (err) {
    log.warn(
      { err, key },
      `releasing the instance lease failed: it expires by itself within ${s.ttlMs} ms`,
    );
  }
}
