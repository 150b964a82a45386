/**
 * The bot's own probes of the primary, against a local health endpoint that the tests stop,
 * start, make fail and make hang; the consecutive-failure count lives in the real Redis.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createDetector, probeRound, type Detector } from '../../src/detection/index.js';
import { createDetectionStore } from '../../src/store/index.js';
import type { DetectionStore } from '../../src/detection/index.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';
import { startHealthEndpoint, type HealthEndpoint } from './fixtures.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SETTINGS = {
  region: 'eu-west-1',
  alertName: 'ServiceDown',
  regionLabel: 'region',
  minAlerts: 3,
  windowMs: 600_000,
  probeFailures: 3,
};

let redis: Redis;
let health: HealthEndpoint;
let prefix: string;
let store: DetectionStore;
let detector: Detector | undefined;
beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  health = await startHealthEndpoint();
});
afterAll(async () => {
  await health.stop();
  redis.disconnect();
});
beforeEach(() => {
  prefix = uniquePrefix('detection-probe');
  store = createDetectionStore({ url: REDIS_URL, prefix, environment: 'probe' });
});
afterEach(async () => {
  await detector?.stop();
  detector = undefined;
  await store.close();
  await deleteKeys(redis, prefix);
  health.mode = 'ok';
  await health.start().catch(() => undefined);
});

function make(intervalMs: number, timeoutMs = 500): Detector {
  detector = createDetector({
    settings: SETTINGS,
    probe: { urls: [health.url], intervalMs, timeoutMs },
    store,
    log,
  });
  return detector;
}

test('a stopped, failing or hanging endpoint fails the round with what happened; a healthy one passes', async () => {
  expect(await probeRound({ urls: [health.url], timeoutMs: 500 })).toMatchObject({
    ok: true,
    results: [{ url: health.url, ok: true, detail: expect.stringMatching(/^200 in \d+ ms$/) }],
  });
  health.mode = 'error';
  expect((await probeRound({ urls: [health.url], timeoutMs: 500 })).results[0]).toMatchObject({
    ok: false,
    detail: expect.stringMatching(/^503 in/),
  });
  health.mode = 'hang';
  expect((await probeRound({ urls: [health.url], timeoutMs: 200 })).results[0]).toMatchObject({
    ok: false,
    detail: 'no answer within 200 ms',
  });
  health.mode = 'ok';
  await health.stop();
  const down = await probeRound({ urls: [health.url], timeoutMs: 500 });
  expect(down).toMatchObject({ ok: false, results: [{ ok: false, detail: 'ECONNREFUSED' }] });
  // One endpoint of the region answering means the region is reachable.
  await health.start();
  const mixed = await probeRound({
    urls: ['http://127.0.0.1:1/healthz', health.url],
    timeoutMs: 500,
  });
  expect(mixed.ok).toBe(true);
  expect(mixed.results.map((r) => r.ok)).toEqual([false, true]);
});

test('failures in a row are counted in Redis and reset by a success', async () => {
  const d = make(3_600_000);
  await health.stop();
  await d.probeNow();
  await d.probeNow();
  expect((await d.signals()).consecutiveProbeFailures).toBe(2);
  // Another detector on the same Redis (a restarted bot) sees the same count.
  const other = createDetector({
    settings: SETTINGS,
    probe: { urls: [health.url], intervalMs: 3_600_000, timeoutMs: 500 },
    store,
    log,
  });
  expect((await other.signals()).consecutiveProbeFailures).toBe(2);
  await health.start();
  await d.probeNow();
  const s = await d.signals();
  expect(s.consecutiveProbeFailures).toBe(0);
  expect(s.lastProbe).toMatchObject({ ok: true });
});

test('the timer probes every interval once started, and stops with the detector', async () => {
  const d = make(30, 200);
  await health.stop();
  await d.start();
  const deadline = Date.now() + 10_000;
  let failures = 0;
  while (failures < 3 && Date.now() < deadline) {
    failures = (await d.signals()).consecutiveProbeFailures;
    if (failures < 3) await new Promise((r) => setTimeout(r, 20));
  }
  expect(failures).toBeGreaterThanOrEqual(3);
  await d.stop();
  const after = (await d.signals()).consecutiveProbeFailures;
  await new Promise((r) => setTimeout(r, 100));
  expect((await d.signals()).consecutiveProbeFailures).toBe(after);
});
