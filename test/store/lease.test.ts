/**
 * The instance lease on the real Redis: one holder at a time, renewal keeps it past its TTL,
 * renewal and release compare the owner, a stolen lease and a Redis that stops answering are
 * both "lost" (the latter before the key could expire and let another instance in), and a SET NX
 * whose reply was lost still counts as taken.
 */
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  createInstanceLease,
  leaseTtlFromEnv,
  type InstanceLease,
  type InstanceLeaseOptions,
} from '../../src/store/lease.js';
import { describeHolder } from '../../src/store/lease-owner.js';
import { startLossyProxy, type LossyProxy } from '../support/lossy-proxy.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('lease');
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let redis: Redis;
let proxy: LossyProxy;
const leases: InstanceLease[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  const { port } = new URL(REDIS_URL);
  proxy = await startLossyProxy({ port: Number(port || 6379) });
});

afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.close()));
});

afterAll(async () => {
  await proxy.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

function lease(environment: string, over: Partial<InstanceLeaseOptions> = {}): InstanceLease {
  const l = createInstanceLease({
    url: REDIS_URL,
    environment,
    command: 'dr start',
    prefix,
    ttlMs: 600,
    log,
    ...over,
  });
  leases.push(l);
  return l;
}

const lostWithin = (l: InstanceLease, ms: number): Promise<{ reason: string; at: number }> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the lease was not lost within ${ms} ms`)), ms);
    l.hold((reason) => {
      clearTimeout(timer);
      resolve({ reason, at: Date.now() });
    });
  });

test('one holder at a time: the second is told who holds it and since when, and gets it once released', async () => {
  const a = lease('one-holder');
  const b = lease('one-holder', { command: 'dr console' });
  expect(await a.tryAcquire()).toEqual({ acquired: true });
  const refused = await b.tryAcquire();
  expect(refused.acquired).toBe(false);
  const holder = refused.acquired ? null : refused.holder;
  expect(holder?.owner).toEqual({
    id: a.self.id,
    host: hostname(),
    pid: process.pid,
    command: 'dr start',
    since: a.self.since,
    token: 1,
  });
  expect(holder!.ttlMs).toBeGreaterThan(0);
  expect(describeHolder(holder!, 'one-holder')).toBe(
    `dr-bot on host ${hostname()} (pid ${process.pid}) is running environment one-holder since ${a.self.since}`,
  );

  await a.release();
  expect(await redis.exists(`${prefix}lease:one-holder`)).toBe(0);
  expect(await b.tryAcquire()).toEqual({ acquired: true });
  // Each grant carries a larger fencing token than any before it.
  expect(b.fence()).toEqual({ key: `${prefix}lease:one-holder`, token: 2 });
  expect(a.fence()?.token).toBe(1);
  const byConsole = await a.tryAcquire();
  expect(byConsole.acquired ? '' : describeHolder(byConsole.holder!, 'one-holder')).toMatch(
    /^dr console on host .* \(pid \d+\) is running environment one-holder since /,
  );
});

test('a held lease is renewed past its TTL; a waiting one gets it as soon as it is released', async () => {
  const a = lease('renewed');
  const b = lease('renewed');
  await a.tryAcquire();
  a.hold(() => {
    throw new Error('lost');
  });
  const seen: (string | null)[] = [];
  const waited = b.waitUntilAcquired({ onWaiting: (h) => seen.push(h?.owner?.id ?? null) });
  await new Promise((r) => setTimeout(r, 1500));
  expect(JSON.parse((await redis.get(`${prefix}lease:renewed`))!).id).toBe(a.self.id);
  expect(seen).toEqual([a.self.id]);
  const released = Date.now();
  await a.release();
  await waited;
  expect(Date.now() - released).toBeLessThan(b.pollMs + 300);
  expect(JSON.parse((await redis.get(`${prefix}lease:renewed`))!).id).toBe(b.self.id);
});

test('waiting stops when aborted', async () => {
  const a = lease('aborted');
  await a.tryAcquire();
  const stop = new AbortController();
  const waited = lease('aborted').waitUntilAcquired({ signal: stop.signal });
  setTimeout(() => stop.abort(), 200);
  await expect(waited).rejects.toThrow('stopped while waiting for the instance lease');
});

test('aborted while an attempt is under way that then takes the lease: the wait still stops, and the lease is given back', async () => {
  const stop = new AbortController();
  const waited = lease('aborted-mid-attempt').waitUntilAcquired({ signal: stop.signal });
  // The first SET NX is on its way to Redis (the key is free): the stop comes before its reply.
  stop.abort();
  await expect(waited).rejects.toThrow('stopped while waiting for the instance lease');
  expect(await redis.exists(`${prefix}lease:aborted-mid-attempt`)).toBe(0);
});

test('another owner written into the key: the holder learns at its next renewal that it lost it, and release leaves the key alone', async () => {
  const a = lease('stolen');
  await a.tryAcquire();
  const lost = lostWithin(a, 2000);
  const thief = JSON.stringify({
    id: 'thief',
    host: 'elsewhere',
    pid: 7,
    command: 'dr start',
    since: '2026-01-01T00:00:00.000Z',
  });
  await redis.set(`${prefix}lease:stolen`, thief, 'PX', 10_000);
  expect((await lost).reason).toBe('dr-bot on host elsewhere (pid 7) holds it now');
  await a.release();
  expect(await redis.get(`${prefix}lease:stolen`)).toBe(thief);
});

test('the key gone (expired, deleted) is lost too', async () => {
  const a = lease('vanished');
  await a.tryAcquire();
  const lost = lostWithin(a, 2000);
  await redis.del(`${prefix}lease:vanished`);
  expect((await lost).reason).toMatch(/^it expired and the key is gone/);
});

test('a state Redis that stops answering: lost after the TTL minus a margin, before the key expires for another instance', async () => {
  const a = lease('unreachable', { url: proxy.url, ttlMs: 1500 });
  expect(await a.tryAcquire()).toEqual({ acquired: true });
  const start = Date.now();
  const lost = lostWithin(a, 4000);
  await new Promise((r) => setTimeout(r, 600));
  // Renewals stop reaching Redis; the key lives on there until its TTL runs out.
  void proxy.outage(3000);
  const { reason, at } = await lost;
  expect(reason).toMatch(/^no renewal succeeded for \d+ ms \(the state Redis does not answer\)/);
  expect(at - start).toBeLessThan(1500 + 600);
  // Still there when the holder gave up: nobody else could have taken it yet.
  expect(await redis.pttl(`${prefix}lease:unreachable`)).toBeGreaterThan(0);
  await proxy.listening();
});

test('a renewal that fails is tried again soon, not a whole renewal interval later: a state Redis stuck for a few seconds does not cost the lease', async () => {
  // TTL 9 s: renewals every 3 s, each given 2 s, and the lease is given up 7.2 s after the last good one.
  const a = lease('stuck-redis', { url: proxy.url, ttlMs: 9000 });
  expect(await a.tryAcquire()).toEqual({ acquired: true });
  const lost: string[] = [];
  a.hold((reason) => lost.push(reason));
  // Redis answers nothing from 2.5 s to 5.4 s: the renewal sent at 3 s gets no answer in its 2 s.
  await new Promise((r) => setTimeout(r, 2500));
  await proxy.stall(2900);
  // Waiting a whole interval (3 s) after that failure would renew at 8 s, past the 7.2 s deadline.
  await new Promise((r) => setTimeout(r, 8500 - 5400));
  expect(lost).toEqual([]);
  expect(JSON.parse((await redis.get(`${prefix}lease:stuck-redis`))!).id).toBe(a.self.id);
  expect(await redis.pttl(`${prefix}lease:stuck-redis`)).toBeGreaterThan(9000 - 3500);
}, 15_000);

test('a SET NX whose reply was lost (ioredis resends it, and it finds the key taken) counts as taken: by this process', async () => {
  const a = lease('lost-reply-env', { url: proxy.url });
  const dropped = proxy.loseReplyTo('lease:lost-reply-env');
  expect(await a.tryAcquire()).toEqual({ acquired: true });
  await dropped;
  expect(JSON.parse((await redis.get(`${prefix}lease:lost-reply-env`))!).id).toBe(a.self.id);
  expect((await lease('lost-reply-env').tryAcquire()).acquired).toBe(false);
});

test('the TTL test knob is validated', () => {
  expect(leaseTtlFromEnv({})).toBe(15_000);
  expect(leaseTtlFromEnv({ DR_LEASE_TTL_MS: '2000' })).toBe(2000);
  expect(() => leaseTtlFromEnv({ DR_LEASE_TTL_MS: '2s' })).toThrow(
    'DR_LEASE_TTL_MS: expected the instance lease TTL in milliseconds (300 or more), got "2s"',
  );
});
