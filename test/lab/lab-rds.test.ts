/**
 * `dr lab up --postgres rds-replica`: the lab writes a config whose database uses the rds-replica
 * driver against the RDS simulator (its own detached process) in front of the real PostgreSQL
 * pair; the bot, built from that config and lab.env, fails over under the drill's write load with
 * no acknowledged write lost, rebuilds the old primary as RDS does and switches back; after a
 * `dr lab outage` it shows the loss first and promotes anyway; `dr lab down` stops the simulator.
 */
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { labDown, labUp, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { labOutage, labRestore } from '../../src/lab/outage.js';
import { rdsPart } from '../../src/lab/simulators/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { holdPostgresReplication, sql, until } from '../support/lab.js';

const log = pino({ level: 'silent' });
const progress = (): void => undefined;
let lab: LabInfo | undefined;
let providers: Providers | undefined;
let rds: RDSClient | undefined;

afterAll(async () => {
  rds?.destroy();
  if (providers) await closeProviders(providers, log);
  if (lab && existsSync(lab.dir)) await labDown({ dir: lab.dir });
});

/** The primary region's instance as the RDS API shows it. */
async function labDb(): Promise<{ status?: string; source?: string }> {
  const out = await rds!.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'lab-db' }));
  const i = out.DBInstances?.[0];
  return { status: i?.DBInstanceStatus, source: i?.ReadReplicaSourceDBInstanceIdentifier };
}

test('the written config fails the real pair over through RDS under load, rebuilds and switches back', async () => {
  lab = await labUp({ parts: [rdsPart()], walinspect: false });
  const config = loadConfig({ path: lab.configPath });
  const url = lab.simulators.rds!.url;
  expect(config.components.postgres).toMatchObject({
    driver: 'rds-replica',
    rds: {
      endpoint: url,
      primary: { instanceIdentifier: 'lab-db', region: 'eu-west-1' },
      secondary: { instanceIdentifier: 'lab-db-replica', region: 'eu-central-1' },
    },
  });
  expect(config.components.postgres!.resync).toBeUndefined();
  // RDS forbids ALTER SYSTEM: the config fences the application's role, as a real RDS one must.
  expect(config.components.postgres!.fence).toEqual({ method: 'role', roles: ['app'] });
  // The SDK's credential chain reads the lab's dummy AWS keys from the environment, as `dr start` would.
  Object.assign(process.env, readLabEnv(lab.envFile));
  providers = createProviders(config, process.env, log);
  rds = new RDSClient({ region: 'eu-west-1', endpoint: url });
  const db = providers.database!;
  const ready = await db.readiness('secondary');
  expect(ready.status).not.toBe('blocked');
  expect(ready.planFacts).toMatchObject({ rdsInstance: 'lab-db-replica', rdsStatus: 'available' });
  expect(ready.warnings?.join(' ')).toMatch(/Failback is a rebuild/);

  const load = providers.writeLoad!;
  await load.start({ runId: 'LAB-RDS-1', progress });
  const sample = () => load.sample()!.database!;
  await until('writes on the primary', async () => sample().onPrimary >= 10);
  const over = await db.promote({ target: 'secondary', mode: 'planned', progress });
  expect(over.rpo.bytes).toBe(0);
  expect(await db.isWriter('secondary')).toBe(true);
  // The application's new sessions on the old primary are read-only: the fence held.
  const appOnOld = `postgresql://app@127.0.0.1:${lab.postgres.primary.port}/postgres`;
  const [shown] = await sql<{ default_transaction_read_only: string }>(
    appOnOld,
    'SHOW default_transaction_read_only',
  );
  expect(shown.default_transaction_read_only).toBe('on');
  await until('writes on the promoted secondary', async () => sample().onSecondary >= 10);

  // Failback as the driver does it: the old lab-db kept under a new name, a new replica built.
  const rebuilt = await db.resync({ standby: 'primary', progress });
  expect(rebuilt.evidence.keptOldInstance).toMatch(/^lab-db-pre-failback-/);
  expect(await labDb()).toEqual({
    status: 'available',
    source: 'arn:aws:rds:eu-central-1:123456789012:db:lab-db-replica',
  });
  expect(await db.isStreamingStandby('primary')).toBe(true);
  const back = await db.promote({ target: 'primary', mode: 'planned', progress });
  expect(back.rpo.bytes).toBe(0);
  expect(await labDb()).toEqual({ status: 'available', source: undefined });
  const onPrimaryBefore = sample().onPrimary;
  await until('writes on the primary again', async () => sample().onPrimary >= onPrimaryBefore + 5);

  // Every write acknowledged on either side during the round trip is on the final writer.
  const stopped = await load.stop({ runId: 'LAB-RDS-1', progress });
  expect(stopped.evidence.database).toMatchObject({ writer: 'primary', lost: 0 });
  const [{ n }] = await sql<{ n: string }>(
    lab.postgres.primary.url,
    "SELECT count(*) AS n FROM dr_bot.dr_drill_load WHERE run_id = 'LAB-RDS-1' AND side = 'secondary'",
  );
  expect(Number(n)).toBeGreaterThanOrEqual(10);
}, 300_000);

test('an outage of the primary region: the loss is shown first and is real; restore and rebuild', async () => {
  const db = providers!.database!;
  const primaryUrl = lab!.postgres.primary.url;
  const secondaryUrl = lab!.postgres.secondary.url;
  // The drill's switch back left lab-db-replica standalone: make it a replica again, as a failback does.
  await db.resync({ standby: 'secondary', progress });
  await sql(primaryUrl, 'CREATE TABLE orders (id serial PRIMARY KEY)');
  await sql(primaryUrl, 'INSERT INTO orders DEFAULT VALUES');
  await until('the table on the replica', async () => {
    const rows = await sql(secondaryUrl, 'SELECT 1 FROM orders').catch(() => []);
    return rows.length === 1;
  });
  // The loss window: commits the replica never receives before the region goes down.
  await holdPostgresReplication(lab!);
  for (let i = 0; i < 20; i++) await sql(primaryUrl, 'INSERT INTO orders DEFAULT VALUES');
  expect((await labOutage({ dir: lab!.dir })).postgres.stopped).toBe(true);

  const ready = await db.readiness('secondary');
  expect(ready.primaryReachable).toBe(false);
  expect(ready.expectedLoss?.description).toBeTruthy();
  await db.promote({ target: 'secondary', mode: 'unplanned', progress });
  expect(await db.isWriter('secondary')).toBe(true);
  const [{ n }] = await sql<{ n: string }>(secondaryUrl, 'SELECT count(*) AS n FROM orders');
  expect(Number(n)).toBe(1);

  // The old primary comes back as a second writer; the failback rebuilds it from the secondary.
  await labRestore({ dir: lab!.dir });
  const rebuilt = await db.resync({ standby: 'primary', progress });
  expect(rebuilt.noop).toBe(false);
  expect(await labDb()).toEqual({
    status: 'available',
    source: 'arn:aws:rds:eu-central-1:123456789012:db:lab-db-replica',
  });
  expect(await db.isStreamingStandby('primary')).toBe(true);
}, 300_000);

test('dr lab down stops the RDS simulator process', async () => {
  const pid = lab!.simulators.rds!.pid!;
  await labDown({ dir: lab!.dir });
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until('the simulator process to exit', async () => !alive());
});
