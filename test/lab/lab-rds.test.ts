/**
 * `dr lab up --postgres rds-replica`: the lab writes a config whose database uses the rds-replica
 * driver against the RDS simulator (its own detached process) in front of the real PostgreSQL
 * pair; the bot, built from that config and lab.env, fails over under the drill's write load with
 * no acknowledged write lost, rebuilds the old primary as RDS does, switches back, and
 * `dr lab down` stops the simulator process.
 */
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { labDown, labUp, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { rdsPart } from '../../src/lab/simulators/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { sql, until } from '../support/lab.js';

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

  const pid = lab.simulators.rds!.pid!;
  await labDown({ dir: lab.dir });
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until('the simulator process to exit', async () => !alive());
}, 300_000);
