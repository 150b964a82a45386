import { runPreflight } from '../../src/engine/index.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';

const now = () => 1_700_000_000_000;

describe('preflight', () => {
  test('every configured component is asked about the target side; absent ones are not configured', async () => {
    const world = await new FakeWorld().init();
    const report = await runPreflight(createFakeProviders(world, ['database', 'dns']), { kind: 'failover', requestedMode: 'auto' }, now);
    expect(report.mode).toBe('planned');
    expect(report.checkedAt).toBe(now());
    expect(report.components.map((c) => [c.component, c.status])).toEqual([
      ['database', 'ready'],
      ['cache', 'not-configured'],
      ['dns', 'ready'],
      ['cluster', 'not-configured'],
      ['verification', 'not-configured'],
    ]);
    expect(world.calls).toEqual(['database.readiness(secondary)', 'dns.readiness(secondary)']);
  });

  test('failback asks about the primary', async () => {
    const world = await new FakeWorld().init();
    await runPreflight(createFakeProviders(world, ['cluster']), { kind: 'failback', requestedMode: 'auto' }, now);
    expect(world.calls).toEqual(['cluster.readiness(primary)']);
  });

  test('a component whose readiness check fails blocks the operation with the reason', async () => {
    const world = await new FakeWorld().init();
    world.fail('dns.readiness');
    const report = await runPreflight(createFakeProviders(world), { kind: 'failover', requestedMode: 'auto' }, now);
    expect(report.components.find((c) => c.component === 'dns')).toMatchObject({
      status: 'blocked',
      summary: 'readiness check failed: fake-dns: dns.readiness failed (injected)',
    });
  });

  test('auto with the writer gone is unplanned and carries the expected loss', async () => {
    const world = await new FakeWorld().init({ 'cache.primaryReachable': 'false', 'cache.lagBytes': '512' });
    const report = await runPreflight(createFakeProviders(world), { kind: 'failover', requestedMode: 'auto' }, now);
    expect(report.mode).toBe('unplanned');
    const cache = report.components.find((c) => c.component === 'cache');
    expect(cache).toMatchObject({ status: 'ready', expectedLoss: { bytes: 512 } });
  });

  test('planned with the writer gone is blocked and says to use unplanned', async () => {
    const world = await new FakeWorld().init({ 'database.primaryReachable': 'false' });
    const report = await runPreflight(createFakeProviders(world), { kind: 'failover', requestedMode: 'planned' }, now);
    expect(report.mode).toBe('planned');
    const db = report.components.find((c) => c.component === 'database');
    expect(db?.status).toBe('blocked');
    expect(db?.summary).toContain('request `unplanned`');
    expect(report.components.find((c) => c.component === 'cache')?.status).toBe('ready');
  });

  test('unplanned with the writer reachable is a warning to read before approving', async () => {
    const world = await new FakeWorld().init();
    const report = await runPreflight(createFakeProviders(world), { kind: 'failover', requestedMode: 'unplanned' }, now);
    expect(report.mode).toBe('unplanned');
    const db = report.components.find((c) => c.component === 'database');
    expect(db?.status).toBe('warning');
    expect(db?.warnings).toEqual([expect.stringContaining('`planned` would lose nothing')]);
  });
});
