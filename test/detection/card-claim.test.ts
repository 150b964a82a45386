/**
 * The proposal card's "posting" claim in the real Redis: a bot that died while posting leaves a
 * claim that a later run retakes once it is older than the lease; a fresh claim is left alone.
 * The sink records what it was asked to post, as the Slack sink would send it.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  createDetector,
  emptyState,
  parseAlertmanagerPayload,
  type Detector,
  type DetectionState,
  type DetectionStore,
  type ProposalSink,
  type ProposalView,
} from '../../src/detection/index.js';
import { createDetectionStore } from '../../src/store/index.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';
import { alert, payload } from './fixtures.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SETTINGS = {
  region: 'eu-west-1',
  alertName: 'ServiceDown',
  regionLabel: 'region',
  minAlerts: 3,
  windowMs: 600_000,
  probeFailures: 3,
};
const LEASE_MS = 120_000;
const T0 = Date.parse('2026-11-25T22:00:00Z');

let redis: Redis;
let prefix: string;
let store: DetectionStore;
let detector: Detector | undefined;
let clock: number;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(() => {
  redis.disconnect();
});
beforeEach(() => {
  prefix = uniquePrefix('detection-claim');
  store = createDetectionStore({ url: REDIS_URL, prefix, environment: 'claim' });
  clock = T0;
});
afterEach(async () => {
  await detector?.stop();
  detector = undefined;
  await store.close();
  await deleteKeys(redis, prefix);
});

function recordingSink(): ProposalSink & { posts: ProposalView[]; updates: ProposalView[] } {
  const posts: ProposalView[] = [];
  const updates: ProposalView[] = [];
  return {
    posts,
    updates,
    async post(view) {
      posts.push(view);
      return { channel: 'C0INCIDENT', ts: `${posts.length}.000` };
    },
    async update(_ref, view) {
      updates.push(view);
    },
  };
}

/** What a bot that died after claiming the card (and before storing it) left behind. */
async function leftClaim(postingSince: number | undefined): Promise<void> {
  await store.update((s: DetectionState) => ({
    state: {
      ...emptyState(),
      seq: s.seq + 1,
      probes: { consecutiveFailures: 3, consecutiveSuccesses: 0, recent: [] },
      episode: {
        id: 'eu-west-1-1',
        region: 'eu-west-1',
        openedAt: T0 - 1000,
        card: 'posting',
        ...(postingSince === undefined ? {} : { postingSince }),
      },
    },
    result: null,
  }));
}

async function startDetector(): Promise<{ d: Detector; sink: ReturnType<typeof recordingSink> }> {
  const d = createDetector({
    settings: SETTINGS,
    probe: { urls: ['http://127.0.0.1:1/healthz'], intervalMs: 3_600_000, timeoutMs: 200 },
    store,
    log,
    now: () => clock,
    postLeaseMs: LEASE_MS,
  });
  detector = d;
  const sink = recordingSink();
  await d.start();
  d.attach(sink);
  await d.settled();
  return { d, sink };
}

test('a claim older than the lease (the poster died) is retaken after a restart and the card posted once', async () => {
  await leftClaim(T0 - LEASE_MS - 1);
  const { d, sink } = await startDetector();
  expect(sink.posts).toHaveLength(1);
  expect(sink.posts[0].episode.id).toBe('eu-west-1-1');
  const stored = (await store.load()).episode!;
  expect(stored.card).toEqual({ channel: 'C0INCIDENT', ts: '1.000' });
  expect(stored.postingSince).toBeUndefined();
  // Later signals edit that card; nothing is posted twice.
  const parsed = parseAlertmanagerPayload(
    payload([
      alert({ fingerprint: 'a1' }),
      alert({ fingerprint: 'b2' }),
      alert({ fingerprint: 'c3' }),
    ]),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  await d.ingest(parsed.payload);
  await d.settled();
  expect(sink.posts).toHaveLength(1);
  expect(sink.updates.length).toBeGreaterThanOrEqual(1);
});

test('a claim stored without a time (an older version of the bot) counts as stale', async () => {
  await leftClaim(undefined);
  const { sink } = await startDetector();
  expect(sink.posts).toHaveLength(1);
});

test('a fresh claim is left to its poster; once the lease has passed, the next signal retakes it', async () => {
  await leftClaim(T0 - 1000);
  const { d, sink } = await startDetector();
  expect(sink.posts).toHaveLength(0);
  expect((await store.load()).episode?.card).toBe('posting');

  const parsed = parseAlertmanagerPayload(
    payload([
      alert({ fingerprint: 'a1' }),
      alert({ fingerprint: 'b2' }),
      alert({ fingerprint: 'c3' }),
    ]),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  await d.ingest(parsed.payload);
  await d.settled();
  expect(sink.posts).toHaveLength(0);

  clock = T0 + LEASE_MS;
  await d.ingest(parsed.payload);
  await d.settled();
  expect(sink.posts).toHaveLength(1);
  const stored = await store.load();
  expect(stored.episode?.id).toBe('eu-west-1-1');
  expect(stored.episode?.card).toEqual({ channel: 'C0INCIDENT', ts: '1.000' });
});
