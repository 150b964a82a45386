/**
 * The episode logic on its own: thresholds, the window, fingerprint dedupe, clearing, and the
 * Alertmanager payload filter.
 */
import {
  MAX_ALERTS,
  RECENT_PROBES,
  emptyState,
  evaluate,
  ingestAlerts,
  parseAlertmanagerPayload,
  recordProbe,
  relevantAlerts,
  summarize,
  type DetectionSettings,
  type DetectionState,
  type IncomingAlert,
  type ProbeRound,
} from '../../src/detection/index.js';
import { alert, payload } from './fixtures.js';

const S: DetectionSettings = {
  region: 'eu-west-1',
  alertName: 'ServiceDown',
  regionLabel: 'region',
  minAlerts: 3,
  windowMs: 60_000,
  probeFailures: 2,
};
const T0 = Date.parse('2026-11-25T22:00:00Z');

function firing(fp: string): IncomingAlert {
  return {
    fingerprint: fp,
    status: 'firing',
    labels: { alertname: 'ServiceDown', region: 'eu-west-1' },
    annotations: { summary: `${fp} down` },
    startsAt: '2026-11-25T21:59:00Z',
  };
}
function resolved(fp: string): IncomingAlert {
  return { ...firing(fp), status: 'resolved' };
}
function round(ok: boolean, at: number): ProbeRound {
  return {
    at,
    ok,
    results: [
      {
        url: 'http://primary/healthz',
        ok,
        detail: ok ? '200 in 3 ms' : 'ECONNREFUSED',
        durationMs: 3,
      },
    ],
  };
}

/** Apply a change and evaluate, as the detector does. */
function step(
  state: DetectionState,
  at: number,
  change: (s: DetectionState) => DetectionState,
): ReturnType<typeof evaluate> {
  return evaluate(change(state), at, S);
}

test('opens only when both the alerts and the probes reach their thresholds', () => {
  let r = step(emptyState(), T0, (s) =>
    ingestAlerts(s, [firing('a'), firing('b'), firing('c')], T0),
  );
  expect(r.change).toBe('none');
  r = step(r.state, T0 + 1, (s) => recordProbe(s, round(false, T0 + 1)));
  expect(r.change).toBe('none');
  r = step(r.state, T0 + 2, (s) => recordProbe(s, round(false, T0 + 2)));
  expect(r.change).toBe('opened');
  expect(r.state.episode).toMatchObject({
    id: 'eu-west-1-1',
    region: 'eu-west-1',
    openedAt: T0 + 2,
    card: null,
  });

  // Probes first, alerts second: the same outcome at the third alert.
  let q = step(emptyState(), T0, (s) =>
    recordProbe(recordProbe(s, round(false, T0)), round(false, T0)),
  );
  q = step(q.state, T0, (s) => ingestAlerts(s, [firing('a'), firing('b')], T0));
  expect(q.change).toBe('none');
  q = step(q.state, T0, (s) => ingestAlerts(s, [firing('c')], T0));
  expect(q.change).toBe('opened');
});

test('a successful probe resets the count of failures in a row', () => {
  let s = recordProbe(emptyState(), round(false, T0));
  s = recordProbe(s, round(true, T0 + 1));
  s = recordProbe(s, round(false, T0 + 2));
  expect(s.probes.consecutiveFailures).toBe(1);
  const r = evaluate(ingestAlerts(s, [firing('a'), firing('b'), firing('c')], T0 + 3), T0 + 3, S);
  expect(r.change).toBe('none');
});

test('the same fingerprint counts once and keeps its first-seen time', () => {
  let s = ingestAlerts(emptyState(), [firing('a'), firing('a'), firing('b')], T0);
  s = ingestAlerts(s, [firing('a'), firing('b')], T0 + 30_000);
  expect(s.alerts).toHaveLength(2);
  expect(s.alerts.find((a) => a.fingerprint === 'a')).toMatchObject({
    firstSeenAt: T0,
    lastSeenAt: T0 + 30_000,
  });
  expect(summarize(s, T0 + 30_000, S).recentFiring).toBe(2);
});

test('only alerts first seen within the window count toward the threshold', () => {
  let s = recordProbe(recordProbe(emptyState(), round(false, T0)), round(false, T0));
  s = ingestAlerts(s, [firing('a'), firing('b')], T0);
  const late = T0 + 61_000;
  const r = evaluate(ingestAlerts(s, [firing('c')], late), late, S);
  expect(summarize(r.state, late, S)).toMatchObject({ recentFiring: 1, firing: 3 });
  expect(r.change).toBe('none');
  const inTime = T0 + 59_000;
  expect(evaluate(ingestAlerts(s, [firing('c')], inTime), inTime, S).change).toBe('opened');
});

test('clears when resolved alerts leave fewer than minAlerts firing, or when the probes succeed probeFailures rounds in a row; signals after the window open a new episode', () => {
  let s = recordProbe(recordProbe(emptyState(), round(false, T0)), round(false, T0));
  let r = evaluate(ingestAlerts(s, [firing('a'), firing('b'), firing('c')], T0), T0, S);
  expect(r.change).toBe('opened');
  r = evaluate(ingestAlerts(r.state, [firing('d')], T0 + 1), T0 + 1, S);
  expect(r.change).toBe('updated');
  r = evaluate(ingestAlerts(r.state, [resolved('a'), resolved('b')], T0 + 2), T0 + 2, S);
  expect(r.change).toBe('cleared');
  expect(r.state.episode).toBeNull();
  expect(r.state.lastEpisode).toMatchObject({
    id: 'eu-west-1-1',
    clearedAt: T0 + 2,
    clearReason: 'only 2 ServiceDown alerts still firing (threshold 3)',
  });

  // Past the window since it cleared: a new failure, a new episode.
  const later = T0 + 2 + S.windowMs + 1;
  s = ingestAlerts(r.state, [firing('e'), firing('f'), firing('g')], later);
  r = evaluate(s, later, S);
  expect(r.change).toBe('opened');
  expect(r.state.episode?.id).toBe('eu-west-1-2');
  expect(r.state.episode?.returned).toBeUndefined();
  // One good round is not enough (probeFailures is 2): a lucky round in a brownout.
  r = evaluate(recordProbe(r.state, round(true, later + 1)), later + 1, S);
  expect(r.change).toBe('updated');
  r = evaluate(recordProbe(r.state, round(true, later + 2)), later + 2, S);
  expect(r.change).toBe('cleared');
  expect(r.state.lastEpisode).toMatchObject({
    id: 'eu-west-1-2',
    clearReason: 'the primary health endpoints answer again (2 probe rounds in a row)',
  });
});

test('a flapping primary keeps one episode: a good round between failures does not clear it, and signals back within the window reopen the same one', () => {
  let s = ingestAlerts(emptyState(), [firing('a'), firing('b'), firing('c')], T0);
  s = recordProbe(recordProbe(s, round(false, T0)), round(false, T0 + 1));
  let r = evaluate(s, T0 + 1, S);
  expect(r.change).toBe('opened');
  const card = { channel: 'C0INCIDENT', ts: '1.1' };
  r = { ...r, state: { ...r.state, episode: { ...r.state.episode!, card } } };

  // fail, ok, fail, fail: one lucky round does not clear.
  for (const [i, ok] of [false, true, false, false].entries()) {
    r = evaluate(recordProbe(r.state, round(ok, T0 + 10 + i)), T0 + 10 + i, S);
    expect(r.change).toBe('updated');
  }

  // Cleared for real (two good rounds), then the brownout comes back a few minutes later.
  r = evaluate(recordProbe(r.state, round(true, T0 + 20)), T0 + 20, S);
  r = evaluate(recordProbe(r.state, round(true, T0 + 21)), T0 + 21, S);
  expect(r.change).toBe('cleared');
  r = evaluate(recordProbe(r.state, round(false, T0 + 30)), T0 + 30, S);
  expect(r.change).toBe('none');
  r = evaluate(recordProbe(r.state, round(false, T0 + 31)), T0 + 31, S);
  expect(r.change).toBe('reopened');
  expect(r.state.seq).toBe(1);
  expect(r.state.lastEpisode).toBeNull();
  expect(r.state.episode).toMatchObject({
    id: 'eu-west-1-1',
    openedAt: T0 + 1,
    card,
    returned: { at: T0 + 31, count: 1, clearedAt: T0 + 21 },
  });
  expect(r.state.episode?.clearedAt).toBeUndefined();

  // And again: still the same episode, counted.
  r = evaluate(
    recordProbe(recordProbe(r.state, round(true, T0 + 40)), round(true, T0 + 41)),
    T0 + 41,
    S,
  );
  expect(r.change).toBe('cleared');
  r = evaluate(
    recordProbe(recordProbe(r.state, round(false, T0 + 50)), round(false, T0 + 51)),
    T0 + 51,
    S,
  );
  expect(r.change).toBe('reopened');
  expect(r.state.episode).toMatchObject({
    id: 'eu-west-1-1',
    card,
    returned: { count: 2, clearedAt: T0 + 41 },
  });
});

test('state stored before consecutive successes were counted reads as none yet', () => {
  const old: DetectionState = { ...emptyState(), probes: { consecutiveFailures: 3, recent: [] } };
  expect(recordProbe(old, round(true, T0)).probes).toMatchObject({
    consecutiveFailures: 0,
    consecutiveSuccesses: 1,
  });
});

test('a resolved alert never seen firing is not recorded; kept state stays bounded', () => {
  expect(ingestAlerts(emptyState(), [resolved('x')], T0).alerts).toHaveLength(0);
  const many = Array.from({ length: MAX_ALERTS + 50 }, (_, i) => firing(`fp${i}`));
  expect(ingestAlerts(emptyState(), many, T0).alerts).toHaveLength(MAX_ALERTS);
  let s = emptyState();
  for (let i = 0; i < RECENT_PROBES + 3; i += 1) s = recordProbe(s, round(false, T0 + i));
  expect(s.probes.recent).toHaveLength(RECENT_PROBES);
  expect(s.probes.consecutiveFailures).toBe(RECENT_PROBES + 3);
});

test("the payload filter keeps the configured alert name for the primary region, by the alert's own status", () => {
  const parsed = parseAlertmanagerPayload(
    payload([
      alert({ fingerprint: 'a' }),
      alert({ fingerprint: 'b', status: 'resolved' }),
      alert({ fingerprint: 'c', region: 'eu-central-1' }),
      alert({ fingerprint: 'd', alertname: 'DiskFull' }),
    ]),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  expect(relevantAlerts(parsed.payload, S).map((a) => [a.fingerprint, a.status])).toEqual([
    ['a', 'firing'],
    ['b', 'resolved'],
  ]);
  const custom = relevantAlerts(parsed.payload, { ...S, alertName: 'DiskFull' });
  expect(custom.map((a) => a.fingerprint)).toEqual(['d']);
});

test('invalid payloads are refused with the path of the problem', () => {
  expect(parseAlertmanagerPayload([])).toMatchObject({ ok: false });
  const bad = parseAlertmanagerPayload({
    ...payload([alert({ fingerprint: 'a' })]),
    alerts: [{ ...alert({ fingerprint: 'a' }), status: 'pending' }],
  });
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.reason).toContain('alerts.0.status');
});
