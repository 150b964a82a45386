/**
 * The AWS managed drivers through Slack, one lab for the whole cycle: PostgreSQL on RDS read
 * replicas (`rds-replica`) and Redis on an ElastiCache Global Datastore (`elasticache-global`),
 * each control plane a simulator in its own process in front of the lab's real servers. The
 * application writes through it all (as the `app` role RDS fences), and the test counts what it
 * was told was written and is gone: nothing in a planned failover and its failback (the RDS
 * rebuild); after a regional outage, the loss the approval card showed before approval.
 */
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { labOutage, labRestore } from '../../src/lab/outage.js';
import { holdPostgresReplication, sql, until } from '../support/lab.js';
import {
  APP_TABLE,
  TEST_TIMEOUT_MS,
  blocksText,
  cardNow,
  expectAllStepsDone,
  expectCompletedCard,
  expectDnsOnSecondary,
  failoverThroughSlack,
  lostOn,
  operationThroughSlack,
  redisGet,
  redisRole,
  seedData,
  startApplication,
  startBotOnLab,
  stopStarted,
  useSlackLab,
  type Run,
  type Started,
} from '../support/slack-lab.js';
import type { LabInfo } from '../../src/lab/index.js';

useSlackLab();

describe('the AWS managed drivers through Slack, one lab for the whole cycle', () => {
  let run: Run;
  let started: Started | undefined;
  let app: ReturnType<typeof startApplication> | undefined;
  let rds: RDSClient | undefined;
  let lostInOutage = { database: 0, cache: 0 };

  /** The application connects as `app`, the role the RDS config fences (RDS forbids ALTER SYSTEM). */
  const asApp = (lab: LabInfo): LabInfo => {
    const url = (port: number) => `postgresql://app@127.0.0.1:${port}/postgres`;
    return {
      ...lab,
      postgres: {
        ...lab.postgres,
        primary: { ...lab.postgres.primary, url: url(lab.postgres.primary.port) },
        secondary: { ...lab.postgres.secondary, url: url(lab.postgres.secondary.port) },
      },
    };
  };

  /** lab-db as the RDS API shows it: its status and the instance it replicates, if any. */
  async function labDb(): Promise<{ status?: string; source?: string }> {
    const out = await rds!.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'lab-db' }));
    const i = out.DBInstances?.[0];
    return { status: i?.DBInstanceStatus, source: i?.ReadReplicaSourceDBInstanceIdentifier };
  }

  beforeAll(async () => {
    run = await startBotOnLab('aws', (s) => (started = s), {
      postgres: 'rds-replica',
      redis: 'elasticache-global',
    });
    const { lab } = run;
    await seedData(lab);
    await sql(
      lab.postgres.primary.url,
      `CREATE TABLE ${APP_TABLE} (seq int PRIMARY KEY, side text)`,
    );
    await sql(lab.postgres.primary.url, `GRANT SELECT, INSERT ON ${APP_TABLE} TO app`);
    rds = new RDSClient({
      region: 'eu-west-1',
      endpoint: lab.simulators.rds!.url,
      credentials: { accessKeyId: 'AKIDLABSIMULATOR', secretAccessKey: 'lab-simulator' },
    });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    rds?.destroy();
    await app?.stop();
    if (started) await stopStarted(started);
  });

  test(
    '/dr failover planned under the write load: RDS promotes, ElastiCache fails over with writes paused, nothing acknowledged lost',
    async () => {
      const { lab, config } = run;
      expect(config.components.postgres).toMatchObject({
        driver: 'rds-replica',
        fence: { method: 'role', roles: ['app'] },
        rds: {
          endpoint: lab.simulators.rds!.url,
          primary: { instanceIdentifier: 'lab-db', region: 'eu-west-1' },
          secondary: { instanceIdentifier: 'lab-db-replica', region: 'eu-central-1' },
        },
      });
      expect(config.components.postgres!.resync).toBeUndefined();
      expect(config.components.redis).toMatchObject({
        driver: 'elasticache-global',
        elasticache: { globalReplicationGroupId: 'ldgnf-lab-cache', pauseWrites: true },
      });
      app = startApplication(asApp(lab));
      await until(
        'the application to write',
        async () => app!.acked.database.length >= 20 && app!.acked.cache.length >= 20,
      );

      const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
        run,
        'planned',
        'aws managed drill',
      );
      expect(approvalCard).toContain('*Mode:* planned');
      expect(approvalCard).toMatch(/PromoteReadReplica is one-way\. Failback is a rebuild/);
      // The cache row: the datastore's members, and the lag from both sources with its age.
      expect(approvalCard).toContain('lab-cache-secondary@eu-central-1: SECONDARY associated');
      expect(approvalCard).toMatch(
        /lag \d+ B \(INFO replication offsets, now\); \d+(\.\d)? s \(CloudWatch GlobalDatastoreReplicationLag of lab-cache-secondary-001, Maximum per minute, datapoint \d+ s old\)/,
      );
      expectCompletedCard(run, ts, opId, summary);
      const text = blocksText(summary);
      expect(text).toMatch(/RPO database: 0 B[^•]*zero loss/);
      expect(text).toMatch(/RPO cache: 0 B[^•]*zero loss: writes were paused/);
      expect(blocksText(cardNow(run, ts))).toContain('FailoverGlobalReplicationGroup');

      await until(
        'the application to write on the secondary',
        async () => app!.where.database.secondary >= 20 && app!.where.cache.secondary >= 20,
      );
      expect(await lostOn(lab, 'secondary', app.acked)).toEqual({ database: 0, cache: 0 });
      // The old primary's new sessions of the application are read-only: the role fence held.
      const [shown] = await sql<{ default_transaction_read_only: string }>(
        asApp(lab).postgres.primary.url,
        'SHOW default_transaction_read_only',
      );
      expect(shown.default_transaction_read_only).toBe('on');
      expect(await redisRole(lab.redis.secondary.url)).toBe('master');
      expect(await redisRole(lab.redis.primary.url)).toBe('slave');
      expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');
      await expectDnsOnSecondary(run.cloud);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    '/dr failback under the write load: RDS rebuilds lab-db as a replica and switches back, nothing acknowledged lost',
    async () => {
      const { lab } = run;
      const { ts, opId } = await operationThroughSlack(run, 'failback primary is back');
      expectAllStepsDone(run, ts, 'failback', opId);
      const card = blocksText(cardNow(run, ts));
      // The old lab-db was kept under another name; a new one replicated lab-db-replica, then was promoted.
      expect(card).toMatch(/lab-db-pre-failback-/);
      expect(await labDb()).toEqual({ status: 'available', source: undefined });
      const before = { database: app!.where.database.primary, cache: app!.where.cache.primary };
      await until(
        'the application to write on the primary again',
        async () =>
          app!.where.database.primary >= before.database + 20 &&
          app!.where.cache.primary >= before.cache + 20,
      );
      // Writes landed on both sides, and every one acknowledged over the round trip is on the primary.
      expect(app!.where.database.secondary).toBeGreaterThan(0);
      expect(app!.where.cache.secondary).toBeGreaterThan(0);
      expect(await lostOn(lab, 'primary', app!.acked)).toEqual({ database: 0, cache: 0 });
      expect(await redisRole(lab.redis.primary.url)).toBe('master');
      const [{ in_recovery }] = await sql<{ in_recovery: boolean }>(
        lab.postgres.secondary.url,
        'SELECT pg_is_in_recovery() AS in_recovery',
      );
      expect(in_recovery).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    '/dr failover unplanned after a regional outage: both loss windows on the card before approval, the write load measures the RPO',
    async () => {
      const { lab } = run;
      // A real loss window: the replica stops receiving WAL while the application keeps writing.
      await holdPostgresReplication(lab);
      const held = app!.acked.database.length;
      await until(
        'writes the replica never gets',
        async () => app!.acked.database.length >= held + 20,
      );
      expect((await labOutage({ dir: lab.dir })).redis.stopped).toBe(true);

      const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
        run,
        'unplanned',
        'primary region lost',
      );
      expect(approvalCard).toContain('*Mode:* unplanned');
      // Before approval: the database's loss, and the cache's lag from CloudWatch with its age,
      // since INFO replication cannot answer on a dead primary.
      expect(approvalCard).toMatch(
        /\*database\* \(warning\) — [^"]*primary unreachable: unplanned, the standby received WAL up to/,
      );
      expect(approvalCard).toMatch(
        /writes cannot be paused \(primary is unreachable\): the switch may lose up to the measured lag \(\d+(\.\d)? s \(CloudWatch GlobalDatastoreReplicationLag of lab-cache-secondary-001, Maximum per minute, datapoint \d+ s old\)\)/,
      );
      expectCompletedCard(run, ts, opId, summary);
      const text = blocksText(summary);

      await until(
        'the application to write on the secondary',
        async () => app!.where.database.secondary >= 40 && app!.where.cache.secondary >= 40,
      );
      lostInOutage = await lostOn(lab, 'secondary', app!.acked);
      // The write load measures what the summary's RPO reports: the held writes are gone.
      expect(lostInOutage.database).toBeGreaterThanOrEqual(20);
      expect(text).toMatch(/• RPO database: (?!0 B|0 ms)\d/);
      expect(text).toMatch(/• RPO cache: [^•]*CloudWatch GlobalDatastoreReplicationLag/);
      if (lostInOutage.cache > 0) expect(text).not.toMatch(/RPO cache: 0 B/);
      expect(await redisRole(lab.redis.secondary.url)).toBe('master');
      await expectDnsOnSecondary(run.cloud);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    '/dr failback once the region is back: RDS rebuilds the old writer, AWS re-attaches the cache, nothing more lost',
    async () => {
      const { lab } = run;
      await labRestore({ dir: lab.dir });
      const { ts, opId } = await operationThroughSlack(run, 'failback region restored');
      expectAllStepsDone(run, ts, 'failback', opId);
      expect(await labDb()).toEqual({ status: 'available', source: undefined });
      const before = { database: app!.where.database.primary, cache: app!.where.cache.primary };
      await until(
        'the application to write on the primary again',
        async () =>
          app!.where.database.primary >= before.database + 20 &&
          app!.where.cache.primary >= before.cache + 20,
      );
      await app!.stop();
      const { acked } = app!;
      app = undefined;
      // What the outage lost stays lost; the failback itself lost nothing more.
      expect(await lostOn(lab, 'primary', acked)).toEqual(lostInOutage);
      expect(await redisRole(lab.redis.primary.url)).toBe('master');
      expect(await redisRole(lab.redis.secondary.url)).toBe('slave');
    },
    TEST_TIMEOUT_MS,
  );

  test('dr lab down stops both control-plane simulators', async () => {
    const pids = [run.lab.simulators.rds!.pid!, run.lab.simulators.elasticache!.pid!];
    await stopStarted(started!);
    started = undefined;
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until('the simulator processes to exit', async () => !pids.some(alive));
  });
});
