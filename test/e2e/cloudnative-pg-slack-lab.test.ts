/**
 * The cloudnative-pg driver through Slack, one lab for the whole cycle (`dr lab up --postgres
 * cloudnative-pg`): the two CloudNativePG Clusters live in the lab's Kubernetes simulators and
 * their operator acts on the real PostgreSQL pair. A planned failover under the application's
 * writes (demotion token, zero loss, the old primary follows without a rebuild), the failback the
 * same way, then an unplanned failover after the primary crashes, its loss shown before approval
 * and the old primary left to be re-cloned.
 */
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { RegionRole } from '../../src/domain/types.js';
import { crashPostgresPrimary, sql, until } from '../support/lab.js';
import {
  APP_TABLE,
  blocksText,
  expectAllStepsDone,
  expectCompletedCard,
  failoverThroughSlack,
  lostOn,
  operationThroughSlack,
  startApplication,
  startBotOnLab,
  stopStarted,
  TEST_TIMEOUT_MS,
  useSlackLab,
  type Run,
  type Started,
} from '../support/slack-lab.js';

useSlackLab();

interface Cluster {
  spec: { replica: { primary?: string; promotionToken?: string } };
  status: {
    phase: string;
    phaseReason?: string;
    demotionToken?: string;
    lastPromotionToken?: string;
  };
}

describe('CloudNativePG through Slack, one lab for the whole cycle', () => {
  let run: Run;
  let started: Started | undefined;
  let app: ReturnType<typeof startApplication> | undefined;

  /** A Cluster as `kubectl get cluster -o json` shows it, through the bot's own kubeconfig. */
  async function cluster(side: RegionRole): Promise<Cluster> {
    const ref = run.config.components.kubernetes![side];
    const cnpg = run.config.components.postgres!.cloudnativePg![side];
    const kc = new KubeConfig();
    kc.loadFromFile(ref.kubeconfig!);
    kc.setCurrentContext(ref.context!);
    return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'postgresql.cnpg.io',
      version: 'v1',
      namespace: cnpg.namespace,
      plural: 'clusters',
      name: cnpg.name,
    })) as Cluster;
  }

  const inRecovery = async (side: RegionRole): Promise<boolean> =>
    (
      (await sql(run.lab.postgres[side].url, 'SELECT pg_is_in_recovery() AS r'))[0] as {
        r: boolean;
      }
    ).r;

  beforeAll(async () => {
    run = await startBotOnLab('aws', (s) => (started = s), { postgres: 'cloudnative-pg' });
    await sql(
      run.lab.postgres.primary.url,
      `CREATE TABLE ${APP_TABLE} (seq int PRIMARY KEY, side text)`,
    );
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await app?.stop();
    if (started) await stopStarted(started);
  });

  test(
    'planned failover with the application writing: demotion token, zero loss, the old primary follows',
    async () => {
      const { lab } = run;
      expect(run.config.components.postgres!.driver).toBe('cloudnative-pg');
      app = startApplication(lab);
      await until('the application to write', async () => app!.acked.database.length >= 20);

      const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
        run,
        'planned',
        'cnpg drill',
      );
      expect(approvalCard).toMatch(
        /demotes Cluster db\/pg-eu-west and promotes Cluster db\/pg-eu-central with its demotion token/,
      );
      expectCompletedCard(run, ts, opId, summary);
      expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);

      await until(
        'the application to write on the secondary',
        async () => app!.where.database.secondary >= 20,
      );
      expect((await lostOn(lab, 'secondary', app.acked)).database).toBe(0);
      // The operator's own record: the target was promoted with the old primary's demotion token.
      const [p, s] = [await cluster('primary'), await cluster('secondary')];
      expect(p.spec.replica.primary).toBe('pg-eu-central');
      expect(s.status.lastPromotionToken).toBe(p.status.demotionToken);
      // No rebuild: the old primary streams from the new one.
      await until('the old primary to follow', async () => inRecovery('primary'));
      expect(await inRecovery('secondary')).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'failback with the application still writing: the same switch back, no acknowledged write of the cycle lost',
    async () => {
      const { lab } = run;
      const { ts, opId } = await operationThroughSlack(run, 'failback primary is back');
      expectAllStepsDone(run, ts, 'failback', opId);
      const before = app!.where.database.primary;
      await until(
        'the application to write on the primary again',
        async () => app!.where.database.primary >= before + 20,
      );
      await app!.stop();
      const { acked, where } = app!;
      app = undefined;
      expect(where.database.secondary).toBeGreaterThan(0);
      expect((await lostOn(lab, 'primary', acked)).database).toBe(0);
      expect(await inRecovery('secondary')).toBe(true);
      const s = await cluster('secondary');
      expect(s.spec.replica.primary).toBe('pg-eu-west');
      expect((await cluster('primary')).status.lastPromotionToken).toBe(s.status.demotionToken);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'unplanned failover after the primary crashes: the loss is shown before approval, the old primary must be re-cloned',
    async () => {
      const { lab } = run;
      await crashPostgresPrimary(lab);
      const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
        run,
        'unplanned',
        'primary lost',
      );
      expect(approvalCard).toContain('*Mode:* unplanned');
      expect(approvalCard).toMatch(/the standby received WAL up to/);
      expect(approvalCard).toMatch(
        /an unplanned one promotes without a token, and Cluster db\/pg-eu-west must then be re-cloned/,
      );
      expectCompletedCard(run, ts, opId, summary);
      expect(blocksText(summary)).toMatch(/• RPO database: /);
      expect(await inRecovery('secondary')).toBe(false);
      const [p, s] = [await cluster('primary'), await cluster('secondary')];
      expect(s.spec.replica.primary).toBe('pg-eu-central');
      expect(s.spec.replica.promotionToken).toBeUndefined();
      // The old primary's Cluster was demoted through its API: it cannot come back as a writer.
      expect(p.spec.replica.primary).toBe('pg-eu-central');
    },
    TEST_TIMEOUT_MS,
  );
});
