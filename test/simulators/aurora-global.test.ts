/**
 * The aurora-global driver's refusals, fast: the real @aws-sdk/client-rds against the Aurora
 * simulator in front of a real lab pair. What AWS refuses (the wrong region, an unknown global
 * cluster, a failover without AllowDataLoss) and what the driver refuses before any call (engine
 * versions that differ, a headless secondary, a global cluster not available, a failover already
 * under way), each with the primary still taking writes afterwards. The whole cycle (switchover
 * under load, failback, failover with its loss shown first) is test/e2e/aurora-global-slack-lab.
 */
import {
  DescribeDBClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
} from '@aws-sdk/client-rds';
import type { LabInfo } from '../../src/lab/index.js';
import { startAuroraSimulator, type AuroraSim } from '../../src/lab/simulators/aurora.js';
import { createAuroraStatusFunction } from '../../src/lab/simulators/aurora-status.js';
import { createAuroraGlobalProvider } from '../../src/providers/postgres/aurora-global.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import { labPostgresOptions, sql, startLab, stopLabs, until } from '../support/lab.js';

const ACCOUNT = '123456789012';
const GLOBAL = 'app-global';
const arn = (region: string, id: string): string =>
  `arn:aws:rds:${region}:${ACCOUNT}:cluster:${id}`;
const SECONDARY_ARN = arn('eu-central-1', 'app-eu-central');
const progress = (): void => undefined;
let lab: LabInfo;
let aurora: AuroraSim;
let db: DatabaseProvider;
let west: RDSClient;
let central: RDSClient;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIALAB';
  process.env.AWS_SECRET_ACCESS_KEY = 'lab-secret';
  lab = await startLab();
  await createAuroraStatusFunction(lab.postgres.primary.url, [
    { port: lab.postgres.primary.port, region: 'eu-west-1' },
    { port: lab.postgres.secondary.port, region: 'eu-central-1' },
  ]);
  aurora = await startAuroraSimulator({
    labDir: lab.dir,
    accountId: ACCOUNT,
    globalClusterIdentifier: GLOBAL,
    engineVersion: '16.4',
    members: [
      {
        id: 'app-eu-west',
        region: 'eu-west-1',
        server: 'primary',
        engineVersion: '16.4',
        instances: ['app-eu-west-1'],
        isWriter: true,
      },
      {
        id: 'app-eu-central',
        region: 'eu-central-1',
        server: 'secondary',
        engineVersion: '16.4',
        instances: ['app-eu-central-1'],
        isWriter: false,
      },
    ],
  });
  db = createAuroraGlobalProvider(
    labPostgresOptions(lab.postgres.primary.url, lab.postgres.secondary.url),
    {
      globalClusterIdentifier: GLOBAL,
      accountId: ACCOUNT,
      primary: { clusterIdentifier: 'app-eu-west', region: 'eu-west-1' },
      secondary: { clusterIdentifier: 'app-eu-central', region: 'eu-central-1' },
      endpoint: aurora.url,
      switchoverTimeoutMinutes: 1,
      failoverTimeoutMinutes: 1,
      rejoinTimeoutMinutes: 1,
      pollIntervalMs: 50,
    },
  );
  west = new RDSClient({ region: 'eu-west-1', endpoint: aurora.url });
  central = new RDSClient({ region: 'eu-central-1', endpoint: aurora.url });
}, 120_000);

afterAll(async () => {
  west?.destroy();
  central?.destroy();
  await db?.close();
  await aurora?.close();
  await stopLabs();
});

/** After a refusal: nothing changed, the primary still the writer and taking writes. */
async function expectNothingChanged(): Promise<void> {
  expect(aurora.global.failoverState).toBeNull();
  expect(aurora.global.members.map((m) => m.isWriter)).toEqual([true, false]);
  await sql(lab.postgres.primary.url, 'CREATE TABLE IF NOT EXISTS t (n int)');
  await sql(lab.postgres.primary.url, 'INSERT INTO t VALUES (1)');
}

test('AWS refuses: an unknown global cluster, the wrong region, a failover without AllowDataLoss', async () => {
  const switchover = (client: RDSClient, id = GLOBAL) =>
    client.send(
      new SwitchoverGlobalClusterCommand({
        GlobalClusterIdentifier: id,
        TargetDbClusterIdentifier: SECONDARY_ARN,
      }),
    );
  await expect(switchover(west, 'nope')).rejects.toMatchObject({
    name: 'GlobalClusterNotFoundFault',
  });
  // A switchover goes to the primary's region, a failover to the target's.
  await expect(switchover(central)).rejects.toThrow(/primary cluster's Region \(eu-west-1\)/);
  await expect(
    west.send(
      new FailoverGlobalClusterCommand({
        GlobalClusterIdentifier: GLOBAL,
        TargetDbClusterIdentifier: SECONDARY_ARN,
        AllowDataLoss: true,
      }),
    ),
  ).rejects.toThrow(/target cluster's Region \(eu-central-1\)/);
  await expect(
    central.send(
      new FailoverGlobalClusterCommand({
        GlobalClusterIdentifier: GLOBAL,
        TargetDbClusterIdentifier: SECONDARY_ARN,
      }),
    ),
  ).rejects.toThrow(/AllowDataLoss=true/);
  // A regional API: the other region's cluster is not found here.
  await expect(
    west.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'app-eu-central' })),
  ).rejects.toMatchObject({ name: 'DBClusterNotFoundFault' });
  await expectNothingChanged();
});

test('readiness reads the lag from aurora_global_db_status() on the secondary', async () => {
  const ready = await db.readiness('secondary');
  expect(ready.status).toBe('ready');
  expect(ready.summary).toMatch(
    /app-eu-central is an Aurora secondary of app-global \(connected\), RPO lag \d+ ms, durability lag \d+ ms \(aurora_global_db_status\(\) on eu-central-1\); primary reachable: SwitchoverGlobalCluster, zero loss/,
  );
  expect(ready.planFacts).toEqual({
    globalCluster: GLOBAL,
    auroraCluster: 'app-eu-central',
    operation: 'SwitchoverGlobalCluster',
  });
  expect(ready.warnings?.join(' ')).toMatch(/cannot be dry-run/);
});

test.each([
  [
    'engine versions that differ',
    () => void (aurora.global.members[1]!.engineVersion = '16.6'),
    () => void (aurora.global.members[1]!.engineVersion = '16.4'),
    /different engine versions \(app-eu-central 16\.6, app-eu-west 16\.4\)/,
  ],
  [
    'a headless secondary',
    () => void (aurora.global.members[1]!.instances = []),
    () => void (aurora.global.members[1]!.instances = ['app-eu-central-1']),
    /app-eu-central is headless \(no DB instance\)/,
  ],
  [
    'a global cluster not available',
    () => void (aurora.global.status = 'modifying'),
    () => void (aurora.global.status = 'available'),
    /global cluster app-global is modifying, not available/,
  ],
  [
    'a failover already under way',
    () =>
      void (aurora.global.failoverState = {
        status: 'failing-over',
        from: SECONDARY_ARN,
        to: arn('eu-west-1', 'app-eu-west'),
        dataLossAllowed: true,
      }),
    () => void (aurora.global.failoverState = null),
    /a failover of app-global is already failing-over/,
  ],
])(
  'refuses %s before any change, in readiness and in promote',
  async (_what, set, reset, message) => {
    set();
    try {
      const ready = await db.readiness('secondary');
      expect(ready.status).toBe('blocked');
      expect(ready.summary).toMatch(message);
      for (const mode of ['planned', 'unplanned'] as const)
        await expect(db.promote({ target: 'secondary', mode, progress })).rejects.toThrow(
          new RegExp(`${message.source}.*Nothing was changed`),
        );
    } finally {
      reset();
    }
    await expectNothingChanged();
  },
);

test('without aurora_global_db_status() the lag comes from the streaming views, and says so', async () => {
  await sql(
    lab.postgres.primary.url,
    'ALTER FUNCTION aurora_global_db_status() RENAME TO ags_kept',
  );
  try {
    let summary = '';
    await until('the readiness to fall back', async () => {
      summary = (await db.readiness('secondary')).summary;
      return summary.includes('absent');
    });
    expect(summary).toMatch(
      /aurora_global_db_status\(\) is absent on secondary: the streaming views instead/,
    );
  } finally {
    await sql(
      lab.postgres.primary.url,
      'ALTER FUNCTION ags_kept() RENAME TO aurora_global_db_status',
    );
  }
});

test('resync waits, with progress, until Aurora shows the secondary connected again, and names its snapshot', async () => {
  // As after a failover: Aurora re-adding the secondary's region, and the old volume's snapshot kept.
  aurora.global.members[1]!.synchronization = 'pending-resync';
  aurora.global.snapshots.push({
    id: 'rds:unplanned-global-failover-app-eu-central-20261207T120000',
    cluster: 'app-eu-central',
    region: 'eu-central-1',
    createdAt: new Date().toISOString(),
    lsn: null,
  });
  try {
    const ready = await db.readiness('secondary');
    expect(ready.status).toBe('warning');
    expect(ready.summary).toMatch(/Aurora is re-adding app-eu-central as a secondary/);
    expect(ready.warnings?.join(' ')).toMatch(/this may take hours/);
    const said: string[] = [];
    const resync = db.resync({ standby: 'secondary', progress: (m) => void said.push(m) });
    await until('the wait to be reported', async () => said.length > 0);
    expect(said[0]).toMatch(
      /Aurora is re-adding app-eu-central \(eu-central-1\) as a secondary: pending-resync, waited 0 min\. This may take hours\./,
    );
    aurora.global.members[1]!.synchronization = 'connected';
    const done = await resync;
    expect(done.noop).toBe(false);
    expect(done.summary).toMatch(
      /Aurora re-added app-eu-central as a secondary of app-global .*snapshot rds:unplanned-global-failover-app-eu-central-20261207T120000: a system snapshot/,
    );
    // Connected now: the failback's card names the snapshot too.
    expect((await db.readiness('secondary')).warnings?.join(' ')).toMatch(
      /Aurora kept the old volume of app-eu-central as snapshot rds:unplanned-global-failover-app-eu-central-20261207T120000/,
    );
    expect((await db.resync({ standby: 'secondary', progress })).noop).toBe(true);
  } finally {
    aurora.global.members[1]!.synchronization = 'connected';
    aurora.global.snapshots.length = 0;
  }
});

test("preflight asks the bot's role only for what this driver uses: no fence or promote grants", async () => {
  // A role with the probe table's rights only, as on Aurora, where ALTER SYSTEM cannot be granted.
  await sql(lab.postgres.primary.url, 'CREATE ROLE aurora_bot LOGIN');
  await sql(lab.postgres.primary.url, 'CREATE TABLE IF NOT EXISTS dr_probe (id int PRIMARY KEY)');
  await sql(lab.postgres.primary.url, 'GRANT INSERT, UPDATE ON dr_probe TO aurora_bot');
  const as = (port: number): string => `postgresql://aurora_bot@127.0.0.1:${port}/postgres`;
  const narrow = createAuroraGlobalProvider(
    labPostgresOptions(as(lab.postgres.primary.port), as(lab.postgres.secondary.port)),
    {
      globalClusterIdentifier: GLOBAL,
      accountId: ACCOUNT,
      primary: { clusterIdentifier: 'app-eu-west', region: 'eu-west-1' },
      secondary: { clusterIdentifier: 'app-eu-central', region: 'eu-central-1' },
      endpoint: aurora.url,
      switchoverTimeoutMinutes: 1,
      failoverTimeoutMinutes: 1,
      rejoinTimeoutMinutes: 1,
      pollIntervalMs: 50,
    },
  );
  try {
    let ready = await narrow.readiness('secondary');
    for (let i = 0; i < 40 && ready.status === 'blocked'; i++) {
      // The role and grants reach the standby by replication.
      await new Promise((r) => setTimeout(r, 50));
      ready = await narrow.readiness('secondary');
    }
    expect(ready.summary).not.toMatch(/lacks/);
    expect(ready.status).toBe('ready');
    await sql(lab.postgres.primary.url, 'REVOKE INSERT, UPDATE ON dr_probe FROM aurora_bot');
    await until('the revoke to reach the standby', async () =>
      /lacks/.test((await narrow.readiness('secondary')).summary),
    );
    expect((await narrow.readiness('secondary')).summary).toMatch(/write probe table dr_probe/);
  } finally {
    await narrow.close();
  }
});
