import { runPreflight } from '../../src/engine/index.js';
import { terraformStateCard } from '../../src/readiness/terraform-card.js';
import { terraformStateCheck } from '../../src/readiness/terraform-check.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';

const now = () => 1_700_000_000_000;

describe('preflight', () => {
  test('every configured component is asked about the target side; absent ones are not configured', async () => {
    const world = await new FakeWorld().init();
    const report = await runPreflight(
      createFakeProviders(world, ['database', 'dns']),
      { kind: 'failover', requestedMode: 'auto' },
      now,
    );
    expect(report.mode).toBe('planned');
    expect(report.checkedAt).toBe(now());
    expect(report.components.map((c) => [c.component, c.status])).toEqual([
      ['database', 'ready'],
      ['cache', 'not-configured'],
      ['dns', 'ready'],
      ['cluster', 'not-configured'],
      ['verification', 'not-configured'],
      ['health', 'not-configured'],
    ]);
    // Read-only: the readiness of each, and beside it whether the secondary already serves (it does not).
    expect(world.calls).toEqual([
      'database.isWriter(secondary)',
      'database.readiness(secondary)',
      'dns.readiness(secondary)',
    ]);
  });

  test('failback asks about the primary', async () => {
    const world = await new FakeWorld().init();
    await runPreflight(
      createFakeProviders(world, ['cluster']),
      { kind: 'failback', requestedMode: 'auto' },
      now,
    );
    expect(world.calls).toEqual(['cluster.readiness(primary)']);
  });

  test('a component whose readiness check fails blocks the operation with the reason', async () => {
    const world = await new FakeWorld().init();
    world.fail('dns.readiness');
    const report = await runPreflight(
      createFakeProviders(world),
      { kind: 'failover', requestedMode: 'auto' },
      now,
    );
    expect(report.components.find((c) => c.component === 'dns')).toMatchObject({
      status: 'blocked',
      summary: 'readiness check failed: fake-dns: dns.readiness failed (injected)',
    });
  });

  test('auto with the writer gone is unplanned and carries the expected loss', async () => {
    const world = await new FakeWorld().init({
      'cache.primaryReachable': 'false',
      'cache.lagBytes': '512',
    });
    const report = await runPreflight(
      createFakeProviders(world),
      { kind: 'failover', requestedMode: 'auto' },
      now,
    );
    expect(report.mode).toBe('unplanned');
    const cache = report.components.find((c) => c.component === 'cache');
    expect(cache).toMatchObject({ status: 'ready', expectedLoss: { bytes: 512 } });
  });

  test('planned with the writer gone is blocked and says to use unplanned', async () => {
    const world = await new FakeWorld().init({ 'database.primaryReachable': 'false' });
    const report = await runPreflight(
      createFakeProviders(world),
      { kind: 'failover', requestedMode: 'planned' },
      now,
    );
    expect(report.mode).toBe('planned');
    const db = report.components.find((c) => c.component === 'database');
    expect(db?.status).toBe('blocked');
    expect(db?.summary).toContain('request `unplanned`');
    expect(report.components.find((c) => c.component === 'cache')?.status).toBe('ready');
  });

  test('unplanned with the writer reachable is a warning to read before approving', async () => {
    const world = await new FakeWorld().init();
    const report = await runPreflight(
      createFakeProviders(world),
      { kind: 'failover', requestedMode: 'unplanned' },
      now,
    );
    expect(report.mode).toBe('unplanned');
    const db = report.components.find((c) => c.component === 'database');
    expect(db?.status).toBe('warning');
    expect(db?.warnings).toEqual([expect.stringContaining('`planned` would lose nothing')]);
  });
});

describe('already failed over', () => {
  const failedOver = {
    'database.writer': 'secondary',
    'database.standby': 'none',
    'database.primaryReachable': 'true',
    'cache.writer': 'secondary',
    'cache.standby': 'none',
    // After a planned switch the old Redis master is a replica: not reachable as a writer.
    'cache.primaryReachable': 'false',
    'dns.target': 'secondary',
    'cluster.secondary': 'production',
  } as const;

  test('a failover while the secondary already serves is refused before approval and says to fail back', async () => {
    const world = await new FakeWorld().init(failedOver);
    const report = await runPreflight(
      createFakeProviders(world),
      { kind: 'failover', requestedMode: 'auto' },
      now,
    );
    const blocked = report.components.filter((c) => c.status === 'blocked');
    expect(blocked.map((c) => c.component)).toEqual(['dns']);
    expect(blocked[0].summary).toBe(
      "already failed over: the secondary region is serving (the secondary database is the writer; the secondary cache is the writer; DNS sends users to the secondary; the secondary's workloads run at production size): nothing to fail over. Request a failback to return to the primary. Nothing was changed.",
    );
    expect(blocked[0].planFacts).toMatchObject({ alreadyFailedOver: true });
    expect(world.calls.filter((c) => /promote|resync|switchTo|scale\(/.test(c))).toEqual([]);
  });

  test('so is a drill, which starts with a failover; a failback is not', async () => {
    const world = await new FakeWorld().init(failedOver);
    const drill = await runPreflight(
      createFakeProviders(world),
      { kind: 'drill', requestedMode: 'planned' },
      now,
    );
    expect(drill.components.find((c) => c.component === 'dns')).toMatchObject({
      status: 'blocked',
      summary: expect.stringMatching(
        /^already failed over: .*a drill starts with a failover\. Request a failback/,
      ),
    });
    const failback = await runPreflight(
      createFakeProviders(world),
      { kind: 'failback', requestedMode: 'auto' },
      now,
    );
    expect(failback.components.filter((c) => c.status === 'blocked')).toEqual([]);
  });

  test('without DNS configured, the block lands on the database', async () => {
    const world = await new FakeWorld().init(failedOver);
    const report = await runPreflight(
      createFakeProviders(world, ['database', 'cache']),
      { kind: 'failover', requestedMode: 'auto' },
      now,
    );
    expect(report.components.filter((c) => c.status === 'blocked').map((c) => c.component)).toEqual(
      ['database'],
    );
  });

  test.each([
    [
      'the database promoted but DNS still on the primary',
      { 'dns.target': 'primary', 'cluster.secondary': 'standby' },
    ],
    [
      'the data tier and DNS switched, the workloads still at standby counts',
      { 'cluster.secondary': 'standby' },
    ],
    [
      'DNS switched but the cache not promoted',
      { 'cache.writer': 'primary', 'cache.standby': 'secondary' },
    ],
  ] as const)(
    'a half-done failover (%s) is not refused: its steps finish it',
    async (_what, state) => {
      const world = await new FakeWorld().init({ ...failedOver, ...state });
      const report = await runPreflight(
        createFakeProviders(world),
        { kind: 'failover', requestedMode: 'auto' },
        now,
      );
      expect(report.components.filter((c) => c.status === 'blocked')).toEqual([]);
    },
  );

  test('a component that cannot say is no proof of "already failed over"', async () => {
    const world = await new FakeWorld().init(failedOver);
    world.fail('dns.currentTarget');
    const report = await runPreflight(
      createFakeProviders(world),
      { kind: 'failover', requestedMode: 'auto' },
      now,
    );
    expect(report.components.filter((c) => c.status === 'blocked')).toEqual([]);
  });
});

test("the target region's health endpoint is asked about too: for a failover the secondary's, a warning when it does not answer", async () => {
  const world = await new FakeWorld().init({ 'health.secondary': 'false' });
  const report = await runPreflight(
    createFakeProviders(world, ['database', 'health']),
    { kind: 'failover', requestedMode: 'auto' },
    now,
  );
  expect(world.calls).toContain('health.readiness(secondary)');
  expect(report.components.find((c) => c.component === 'health')).toMatchObject({
    status: 'warning',
  });
  expect(report.components.filter((c) => c.status === 'blocked')).toEqual([]);
});

test('with components.terraformState the card has a Terraform state row: ready when the copies agree, a warning naming the difference when not', async () => {
  const lineages = { primary: 'lin-a', secondary: 'lin-a' };
  const copy = (side: 'primary' | 'secondary') => ({
    where: `s3://state-${side}/prod.tfstate`,
    read: async () => ({
      found: true as const,
      header: { lineage: lineages[side], serial: 7 },
      modifiedAt: now() - 60_000,
    }),
    readLock: async () => ({ held: false, since: null }),
    close: async () => undefined,
  });
  const check = terraformStateCheck({
    primary: copy('primary'),
    secondary: copy('secondary'),
    maxSerialLag: 0,
    staleLockMinutes: 60,
    now,
  });
  const world = await new FakeWorld().init();
  const providers = {
    ...createFakeProviders(world, ['database']),
    terraformState: terraformStateCard(check, async () => undefined),
  };
  const ask = () => runPreflight(providers, { kind: 'failover', requestedMode: 'auto' }, now);
  const green = (await ask()).components.find((c) => c.component === 'terraform-state');
  expect(green).toMatchObject({ status: 'ready', planFacts: { status: 'ok' } });
  expect(green?.summary).toMatch(/^primary serial 7 .*secondary serial 7/);

  lineages.secondary = 'lin-b';
  const red = (await ask()).components.find((c) => c.component === 'terraform-state')!;
  expect(red.status).toBe('warning');
  expect(red.warnings?.[0]).toMatch(
    /^Terraform state: the copies differ in lineage \(primary lin-a, secondary lin-b/,
  );
  // Without it configured there is no row at all.
  const none = await runPreflight(
    createFakeProviders(world, ['database']),
    { kind: 'failover', requestedMode: 'auto' },
    now,
  );
  expect(none.components.map((c) => c.component)).not.toContain('terraform-state');
});
