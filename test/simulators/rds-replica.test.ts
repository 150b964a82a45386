/**
 * The rds-replica driver through the real @aws-sdk/client-rds against the RDS simulator in front
 * of a real lab primary and standby: planned failover with zero acknowledged writes lost, the
 * refusals RDS makes, failback as a rebuild, and an unplanned failover whose loss is shown first.
 */
import {
  DescribeDBInstancesCommand,
  PromoteReadReplicaCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { labUser, pgStop, type LabInfo } from '../../src/lab/index.js';
import {
  applyRoleFenceGrants,
  BOT_PG_ROLE,
  botPgUrl,
  LAB_APP_ROLE,
} from '../../src/lab/permissions.js';
import { startRdsSimulator, type RdsSim } from '../../src/lab/simulators/rds.js';
import { createPostgresProvider } from '../../src/providers/postgres/index.js';
import { createRdsReplicaProvider } from '../../src/providers/postgres/rds-replica.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import {
  countOrders as count,
  labPostgresOptions,
  orderWriteLoad as writeLoad,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';

const ACCOUNT = '123456789012';
const progress = (): void => undefined;
let lab: LabInfo;
let rds: RdsSim;
let db: DatabaseProvider;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIALAB';
  process.env.AWS_SECRET_ACCESS_KEY = 'lab-secret';
  lab = await startLab();
  rds = await startRdsSimulator({
    labDir: lab.dir,
    accountId: ACCOUNT,
    instances: [
      { id: 'app-db', region: 'eu-west-1', server: 'primary', source: null },
      {
        id: 'app-db-replica',
        region: 'eu-central-1',
        server: 'secondary',
        source: `arn:aws:rds:eu-west-1:${ACCOUNT}:db:app-db`,
      },
    ],
  });
  db = createRdsReplicaProvider(
    labPostgresOptions(lab.postgres.primary.url, lab.postgres.secondary.url, {
      catchUpTimeoutSeconds: 60,
      consistencyTables: ['public.orders'],
    }),
    {
      primary: { instanceIdentifier: 'app-db', region: 'eu-west-1' },
      secondary: { instanceIdentifier: 'app-db-replica', region: 'eu-central-1' },
      accountId: ACCOUNT,
      endpoint: rds.url,
      promoteTimeoutSeconds: 60,
      rebuildTimeoutMinutes: 5,
      pollMs: 100,
    },
  );
  await sql(lab.postgres.primary.url, 'CREATE TABLE orders (id serial PRIMARY KEY, note text)');
}, 120_000);

afterAll(async () => {
  await db?.close();
  await rds?.close();
  await stopLabs();
});

test('refuses what RDS refuses: a non-replica, another region, a replica backing-up', async () => {
  const client = new RDSClient({ region: 'eu-west-1', endpoint: rds.url });
  await expect(
    client.send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: 'app-db' })),
  ).rejects.toMatchObject({ name: 'InvalidDBInstanceStateFault' });
  await expect(
    client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'app-db-replica' })),
  ).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
  client.destroy();

  rds.instances.get('app-db-replica')!.status = 'backing-up';
  const ready = await db.readiness('secondary');
  expect(ready.status).toBe('blocked');
  expect(ready.summary).toMatch(/backing-up/);
  await expect(db.promote({ target: 'secondary', mode: 'planned', progress })).rejects.toThrow(
    /backing-up.*Nothing was changed/,
  );
  // Refused before the fence: the primary still takes writes.
  await sql(lab.postgres.primary.url, "INSERT INTO orders(note) VALUES ('after refusal')");
  rds.instances.get('app-db-replica')!.status = 'available';
});

test("preflight asks the bot's role for the fence's rights, not pg_promote or the rewind's: RDS does those", async () => {
  // On RDS the master user cannot grant EXECUTE on pg_promote (owned by rdsadmin): a role without
  // it, and without the rewind's file reads, must still pass preflight with this driver.
  const admin = lab.postgres.primary.url;
  await sql(admin, `CREATE ROLE ${LAB_APP_ROLE} LOGIN`);
  await applyRoleFenceGrants(admin);
  for (const f of ['pg_promote(boolean, integer)', 'pg_read_file(text)', 'pg_ls_waldir()'])
    await sql(admin, `REVOKE EXECUTE ON FUNCTION ${f} FROM ${BOT_PG_ROLE}`);
  const pg = labPostgresOptions(
    botPgUrl(lab.postgres.primary.port),
    botPgUrl(lab.postgres.secondary.port),
    { fence: { method: 'role', roles: [LAB_APP_ROLE] } },
  );
  const narrow = createRdsReplicaProvider(pg, {
    primary: { instanceIdentifier: 'app-db', region: 'eu-west-1' },
    secondary: { instanceIdentifier: 'app-db-replica', region: 'eu-central-1' },
    accountId: ACCOUNT,
    endpoint: rds.url,
    promoteTimeoutSeconds: 60,
    rebuildTimeoutMinutes: 5,
  });
  // The same role with the streaming driver, which promotes and rewinds itself.
  const streaming = createPostgresProvider(pg);
  try {
    await until('the revokes to reach the standby', async () =>
      /pg_promote/.test((await streaming.readiness('secondary')).summary),
    );
    const ready = await narrow.readiness('secondary');
    expect(ready.summary).not.toMatch(/lacks/);
    expect(ready.status).not.toBe('blocked');
    // What the fence itself needs is still asked for.
    await sql(admin, `REVOKE pg_signal_backend FROM ${BOT_PG_ROLE}`);
    await until('the revoke to reach the standby', async () =>
      /pg_signal_backend/.test((await narrow.readiness('secondary')).summary),
    );
  } finally {
    await sql(admin, `GRANT pg_signal_backend TO ${BOT_PG_ROLE}`);
    for (const f of ['pg_promote(boolean, integer)', 'pg_read_file(text)', 'pg_ls_waldir()'])
      await sql(admin, `GRANT EXECUTE ON FUNCTION ${f} TO ${BOT_PG_ROLE}`);
    await narrow.close();
    await streaming.close();
  }
});

test('planned failover: fence, catch up, PromoteReadReplica; 0 acknowledged writes lost', async () => {
  const ready = await db.readiness('secondary');
  expect(ready.warnings?.join(' ')).toMatch(/Failback is a rebuild/);
  const load = writeLoad(lab.postgres.primary.url);
  await until('some writes', async () => (await count(lab.postgres.primary.url)) > 20);
  const result = await db.promote({ target: 'secondary', mode: 'planned', progress });
  const acked = await load.stop();
  expect(result.rpo.bytes).toBe(0);
  expect(await db.isWriter('secondary')).toBe(true);
  expect(rds.instances.get('app-db-replica')).toMatchObject({ status: 'available', source: null });
  // Every acknowledged commit (plus the one before the load) is on the new writer.
  expect(await count(lab.postgres.secondary.url)).toBeGreaterThanOrEqual(acked + 1);
  expect(await count(lab.postgres.secondary.url)).toBe(await count(lab.postgres.primary.url));
}, 120_000);

test('failback rebuilds the old primary as a new replica, then switches back with zero loss', async () => {
  await sql(lab.postgres.secondary.url, "INSERT INTO orders(note) VALUES ('written in secondary')");
  const rebuilt = await db.resync({ standby: 'primary', progress });
  expect(rebuilt.noop).toBe(false);
  expect(rebuilt.evidence.keptOldInstance).toMatch(/^app-db-pre-failback-/);
  expect(rds.instances.get('app-db')).toMatchObject({
    status: 'available',
    source: `arn:aws:rds:eu-central-1:${ACCOUNT}:db:app-db-replica`,
  });
  expect(await db.isStreamingStandby('primary')).toBe(true);
  const back = await db.promote({ target: 'primary', mode: 'planned', progress });
  expect(back.rpo.bytes).toBe(0);
  const rows = await sql(
    lab.postgres.primary.url,
    "SELECT 1 FROM orders WHERE note = 'written in secondary'",
  );
  expect(rows).toHaveLength(1);
  expect((await db.readiness('secondary')).warnings?.join(' ')).toMatch(/last rebuild took/);
}, 300_000);

test('unplanned: the loss is shown before approval and is real after PromoteReadReplica', async () => {
  // The replica of the switch back: rebuild the secondary from the primary.
  await db.resync({ standby: 'secondary', progress });
  // Cut replication, write what the replica never gets, lose the primary.
  await sql(lab.postgres.secondary.url, "ALTER SYSTEM SET primary_conninfo = ''");
  await sql(lab.postgres.secondary.url, 'SELECT pg_reload_conf()');
  await until(
    'the receiver to stop',
    async () =>
      (await sql(lab.postgres.secondary.url, 'SELECT 1 FROM pg_stat_wal_receiver')).length === 0,
  );
  for (let i = 0; i < 50; i++)
    await sql(lab.postgres.primary.url, "INSERT INTO orders(note) VALUES ('lost')");
  const before = await count(lab.postgres.primary.url);
  await pgStop(
    { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' },
    lab.postgres.primary.dataDir,
  );

  const ready = await db.readiness('secondary');
  expect(ready.primaryReachable).toBe(false);
  expect(ready.expectedLoss?.description).toBeTruthy();
  const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });
  expect(await db.isWriter('secondary')).toBe(true);
  expect(await count(lab.postgres.secondary.url)).toBe(before - 50);
  expect(result.rpo.description).toBeTruthy();
}, 300_000);
