/**
 * The lab's GlobalDatastoreReplicationLag: seconds since the primary first wrote past what the
 * secondary has applied, from offset samples (no servers: the sampling of the real pair is
 * exercised by test/providers/redis-elasticache.test.ts).
 */
import { LagSeries } from '../../src/lab/simulators/cloudwatch.js';

const node = 'lab-cache-secondary-001';

test('a secondary that keeps up reports 0 s; one that stops applying reports the age of its gap', () => {
  const series = new LagSeries();
  const t0 = 1_800_000_000_000;
  series.add({ primaryOffset: 100, secondaryOffset: 100, cacheClusterId: node }, t0);
  series.add({ primaryOffset: 200, secondaryOffset: 200, cacheClusterId: node }, t0 + 1000);
  // The secondary stops at 200 while the primary goes on: the oldest unapplied write is from t0+2s.
  series.add({ primaryOffset: 300, secondaryOffset: 200, cacheClusterId: node }, t0 + 2000);
  series.add({ primaryOffset: 400, secondaryOffset: 200, cacheClusterId: node }, t0 + 5000);
  // It catches up: 0 again.
  series.add({ primaryOffset: 400, secondaryOffset: 400, cacheClusterId: node }, t0 + 6000);
  expect(series.points.map((p) => p.seconds)).toEqual([0, 0, 0, 3, 0]);
});

test('a failover resets the history: offsets of the old pair say nothing about the new one', () => {
  const series = new LagSeries();
  const t0 = 1_800_000_000_000;
  series.add({ primaryOffset: 500, secondaryOffset: 100, cacheClusterId: node }, t0);
  series.reset();
  series.add({ primaryOffset: 900, secondaryOffset: 800, cacheClusterId: node }, t0 + 4000);
  // No older sample of the new pair: the gap is as old as the first sample, 0 s.
  expect(series.points.at(-1)!.seconds).toBe(0);
});
