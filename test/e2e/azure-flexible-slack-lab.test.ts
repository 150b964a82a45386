/**
 * The Azure data-tier drivers through Slack, one lab for the whole cycle: `dr lab up --cloud azure
 * --postgres azure-flexible --redis azure-cache`, so PostgreSQL is switched by the flexible server
 * simulator (Servers - Update with replica.promoteMode) and Redis by the Azure Cache simulator
 * (LinkedServer delete and create), both checking the lab Entra ID's tokens. The bot runs as `dr
 * start` on the lab's files. Planned failover under the application's writes (as the fenced `app`
 * role) loses no acknowledged write; failback is a switchover back, the cache relinked only after
 * the card named the flush; an unplanned failover with the primary region down shows the loss
 * before approval, and its failback brings the old primary back as the replica.
 */
import { labOutage, labRestore } from '../../src/lab/outage.js';
import { LAB_APP_ROLE } from '../../src/lab/permissions.js';
import { LAB_AZURE_FLEXIBLE } from '../../src/lab/simulators/azure-flexible-part.js';
import { holdPostgresReplication, sql, until } from '../support/lab.js';
import {
  APP_TABLE,
  TEST_TIMEOUT_MS,
  blocksText,
  cardNow,
  expectAllStepsDone,
  expectCompletedCard,
  failoverThroughSlack,
  lostOn,
  operationThroughSlack,
  redisRole,
  seedData,
  startApplication,
  startBotOnLab,
  state,
  stopStarted,
  useSlackLab,
  type Run,
  type Started,
} from '../support/slack-lab.js';

useSlackLab();

async function askAgainWhileReconfiguring<T>(ask: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask();
    } catch (err) {
      if (attempt >= 10 || !/replication is Reconfiguring/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

describe('azure-flexible and azure-cache through Slack, one Azure lab for the whole cycle', () => {
  let run: Run;
  let started: Started | undefined;
  let app: ReturnType<typeof startApplication> | undefined;

  beforeAll(async () => {
    run = await startBotOnLab('azure', (s) => (started = s), {
      postgres: 'azure-flexible',
      redis: 'azure-cache',
    });
    await seedData(run.lab);
    const admin = run.lab.postgres.primary.url;
    await sql(admin, `CREATE TABLE ${APP_TABLE} (seq int PRIMARY KEY, side text)`);
    await sql(admin, `GRANT SELECT, INSERT ON ${APP_TABLE} TO ${LAB_APP_ROLE}`);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await app?.stop();
    if (started) await stopStarted(started);
  });

  test(
    'planned failover with the application writing: a switchover and a cache unlink, no acknowledged write lost',
    async () => {
      const { lab, config } = run;
      expect(config.components.postgres).toMatchObject({
        driver: 'azure-flexible',
        fence: { method: 'role', roles: [LAB_APP_ROLE] },
        azureFlexible: { virtualEndpoint: LAB_AZURE_FLEXIBLE.virtualEndpoint },
      });
      expect(config.components.redis!.driver).toBe('azure-cache');
      app = startApplication(lab, { postgresUser: LAB_APP_ROLE });
      await until('the application to write', async () => app!.acked.database.length >= 20);

      const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
        run,
        'planned',
        'azure data tier drill',
      );
      // Before approval: how Azure promotes, and that the old primary becomes the replica.
      expect(approvalCard).toMatch(/switchover through virtual endpoint lab-pg/);
      expectCompletedCard(run, ts, opId, summary);
      expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);

      await until(
        'the application to write on the secondary',
        async () => app!.where.database.secondary >= 20 && app!.where.cache.secondary >= 20,
      );
      expect(await lostOn(lab, 'secondary', app.acked)).toEqual({ database: 0, cache: 0 });
      // The switchover made the old primary a streaming replica of the new one.
      const [{ in_recovery }] = await sql<{ in_recovery: boolean }>(
        lab.postgres.primary.url,
        'SELECT pg_is_in_recovery() AS in_recovery',
      );
      expect(in_recovery).toBe(true);
      expect((await state(run.cloud)).trafficManager.served).toBe('secondary');
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'failback with the application writing: the card names the cache flush first; a switchover back, nothing lost over the round trip',
    async () => {
      const { lab } = run;
      const { ts, opId, approvalCard } = await operationThroughSlack(
        run,
        'failback primary is back',
      );
      expect(approvalCard).toMatch(
        /linking FLUSHES lab-cache-weu: it becomes the geo-secondary of lab-cache-neu and its \d+ keys are deleted/,
      );
      expectAllStepsDone(run, ts, 'failback', opId);
      const before = { database: app!.where.database.primary, cache: app!.where.cache.primary };
      await until(
        'the application to write on the primary again',
        async () =>
          app!.where.database.primary >= before.database + 20 &&
          app!.where.cache.primary >= before.cache + 20,
      );
      await app!.stop();
      const { acked, where } = app!;
      app = undefined;
      expect(where.database.secondary).toBeGreaterThan(0);
      expect(where.cache.secondary).toBeGreaterThan(0);
      expect(await lostOn(lab, 'primary', acked)).toEqual({ database: 0, cache: 0 });
      const [{ in_recovery }] = await sql<{ in_recovery: boolean }>(
        lab.postgres.secondary.url,
        'SELECT pg_is_in_recovery() AS in_recovery',
      );
      expect(in_recovery).toBe(true);
      expect(await redisRole(lab.redis.primary.url)).toBe('master');
      expect((await state(run.cloud)).trafficManager.served).toBe('primary');
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'unplanned failover with the primary region down: the loss is shown before approval and is real; failback rejoins the old primary',
    async () => {
      const { lab } = run;
      const primaryUrl = lab.postgres.primary.url;
      // Commits the replica never receives before the region goes down: the loss window.
      await holdPostgresReplication(lab);
      for (let i = 10; i < 20; i++)
        await sql(primaryUrl, `INSERT INTO orders VALUES (${i}, 'lost')`);
      expect((await labOutage({ dir: lab.dir })).postgres.stopped).toBe(true);

      const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
        run,
        'unplanned',
        'primary region unreachable',
      );
      expect(approvalCard).toContain('*Mode:* unplanned');
      expect(approvalCard).toMatch(/unplanned, [^"]*the standby received WAL up to/);
      expectCompletedCard(run, ts, opId, summary);
      expect(blocksText(summary)).toMatch(/• RPO database: /);
      const lost = await sql<{ n: number }>(
        lab.postgres.secondary.url,
        "SELECT count(*)::int AS n FROM orders WHERE item = 'lost'",
      );
      expect(lost[0]!.n).toBe(0);

      // The region comes back; Azure makes the old primary the replica; failback switches back.
      await labRestore({ dir: lab.dir });
      await until('Azure to make the old primary the replica', async () => {
        const rows = await sql<{ n: number }>(
          primaryUrl,
          'SELECT count(*)::int AS n FROM pg_stat_wal_receiver WHERE pg_is_in_recovery()',
        ).catch(() => [{ n: 0 }]);
        return rows[0]!.n === 1;
      });
      // Azure reports the rejoined server's replication as Reconfiguring until its resync ends, a
      // moment after it streams: the bot refuses the failback until then, and a person asks again.
      const back = await askAgainWhileReconfiguring(() =>
        operationThroughSlack(run, 'failback primary region restored'),
      );
      expectAllStepsDone(run, back.ts, 'failback', back.opId);
      expect(blocksText(cardNow(run, back.ts))).toContain('🟢 Completed');
      const [{ in_recovery }] = await sql<{ in_recovery: boolean }>(
        lab.postgres.secondary.url,
        'SELECT pg_is_in_recovery() AS in_recovery',
      );
      expect(in_recovery).toBe(true);
      // What the old primary wrote after the replica was cut off is gone: the loss was real.
      const after = await sql<{ n: number }>(
        primaryUrl,
        "SELECT count(*)::int AS n FROM orders WHERE item = 'lost'",
      );
      expect(after[0]!.n).toBe(0);
      expect((await state(run.cloud)).trafficManager.served).toBe('primary');
    },
    TEST_TIMEOUT_MS,
  );
});
