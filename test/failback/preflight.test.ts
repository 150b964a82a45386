/**
 * Failback preflight with provider fakes: "nothing to fail back" is decided from the real state
 * the providers report, and only a fully served primary counts as nothing to do.
 */
import { runPreflight } from '../../src/engine/index.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';

const now = () => 1_700_000_000_000;

test('with the primary already serving, a failback is blocked before approval and says why', async () => {
  const world = await new FakeWorld().init();
  const report = await runPreflight(
    createFakeProviders(world),
    { kind: 'failback', requestedMode: 'auto' },
    now,
  );
  const blocked = report.components.filter((c) => c.status === 'blocked');
  expect(blocked.map((c) => c.component)).toEqual(['dns']);
  expect(blocked[0].summary).toBe(
    'nothing to fail back: the primary region already serves (the primary database is the writer and the secondary streams from it; the primary cache is the writer and the secondary streams from it; DNS sends users to the primary). Nothing was changed.',
  );
  // Read-only: nothing was asked to change.
  expect(world.calls.filter((c) => /promote|resync|switchTo|scale\(/.test(c))).toEqual([]);
});

test('without DNS configured, the block lands on the database', async () => {
  const world = await new FakeWorld().init();
  const report = await runPreflight(
    createFakeProviders(world, ['database', 'cache']),
    { kind: 'failback', requestedMode: 'auto' },
    now,
  );
  expect(report.components.filter((c) => c.status === 'blocked').map((c) => c.component)).toEqual([
    'database',
  ]);
});

test('after a failover, or half-way back (DNS back, secondary not yet a standby), a failback is not blocked', async () => {
  const failedOver = await new FakeWorld().init({
    'database.writer': 'secondary',
    'database.standby': 'none',
    'cache.writer': 'secondary',
    'cache.standby': 'none',
    'dns.target': 'secondary',
  });
  const a = await runPreflight(
    createFakeProviders(failedOver),
    { kind: 'failback', requestedMode: 'auto' },
    now,
  );
  expect(a.components.filter((c) => c.status === 'blocked')).toEqual([]);

  const halfWay = await new FakeWorld().init({ 'database.standby': 'none' });
  const b = await runPreflight(
    createFakeProviders(halfWay),
    { kind: 'failback', requestedMode: 'auto' },
    now,
  );
  expect(b.components.filter((c) => c.status === 'blocked')).toEqual([]);
});

test('a failover is never "nothing to do" by this rule', async () => {
  const world = await new FakeWorld().init();
  const report = await runPreflight(
    createFakeProviders(world),
    { kind: 'failover', requestedMode: 'auto' },
    now,
  );
  expect(report.components.filter((c) => c.status === 'blocked')).toEqual([]);
});
