/**
 * The failover time the DNS preflight judges: TTL plus the DNS service's detection. Route 53
 * alias records carry no TTL of their own; the detection alone is then a lower bound, and one
 * that already uses up the RTO target must still be warned about.
 */
import { failoverTime, failoverWarning } from '../../src/providers/dns-resolve.js';

const slowCheck = {
  known: true as const,
  seconds: 10 * 30,
  how: 'health check 10 × 30 s',
  watcher: 'health check hc-1',
};

test('without a TTL (an alias record) the detection alone counts, as a lower bound', () => {
  const time = failoverTime(undefined, slowCheck);
  expect(time.seconds).toBe(300);
  expect(time.text).toBe('TTL ? s + health check 10 × 30 s = at least 300 s');
  expect(failoverWarning(time, 5, 'Lower it.')).toBe(
    'TTL ? s + health check 10 × 30 s = at least 300 s, not under the 5-min RTO target: users are sent to a failed region until health check hc-1 sees it fail, then for up to one TTL while resolvers keep the old answer. Lower it.',
  );
  expect(
    failoverWarning(
      failoverTime(undefined, { ...slowCheck, seconds: 90, how: 'health check 3 × 30 s' }),
      5,
      'Lower it.',
    ),
  ).toBeUndefined();
});

test('with a TTL the two add up; without either nothing is judged', () => {
  expect(failoverTime(60, slowCheck)).toMatchObject({
    seconds: 360,
    text: 'TTL 60 s + health check 10 × 30 s = 360 s',
  });
  expect(failoverTime(undefined, { known: false, why: 'no health check' })).toMatchObject({
    seconds: undefined,
  });
  expect(
    failoverWarning(
      failoverTime(undefined, { known: false, why: 'no health check' }),
      5,
      'Lower it.',
    ),
  ).toBeUndefined();
});
