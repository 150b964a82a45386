/**
 * A readiness message names the slash command the workspace actually has: with `slack.command:
 * /dr-e2e` it points to `/dr-e2e status`, and the drill check's advice names no command at all
 * (it is shown in Slack, in `dr readiness` and in the console alike).
 */
import { Redis } from 'ioredis';
import { renderReadinessTransition } from '../../src/bot/readiness.js';
import { drillCheck } from '../../src/readiness/index.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';

const redis = new Redis(REDIS_URL);
const prefix = uniquePrefix('readiness-render');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

test('a degraded drill check: the advice names no command, the footer names the configured one', async () => {
  const finding = await drillCheck({ redis, prefix }, 'staging', 90).run();
  expect(finding.detail).toBe(
    'no drill recorded for staging: run a drill to rehearse failover and failback',
  );
  const result = { ...finding, id: 'drill' as const, title: 'Last drill', checkedAt: Date.now() };
  const degraded = JSON.stringify(
    renderReadinessTransition(
      { kind: 'degraded', env: 'staging', result, degradedSince: Date.now() },
      Date.now(),
      '/dr-e2e',
    ),
  );
  expect(degraded).toContain(
    'One message now and one when it recovers; `/dr-e2e status` shows every check.',
  );
  expect(degraded).not.toMatch(/\/dr[ `]/);
  const recovered = JSON.stringify(
    renderReadinessTransition(
      { kind: 'recovered', env: 'staging', result, degradedSince: Date.now() - 60_000 },
      Date.now(),
      '/dr-e2e',
    ),
  );
  expect(recovered).toContain('`/dr-e2e status` shows every check.');
});
