/**
 * The aurora-global driver's whole cycle through Slack on ONE lab (`dr lab up --postgres
 * aurora-global`: the Aurora simulator in front of the real PostgreSQL pair, the bot run as
 * `dr start`): a planned failover (SwitchoverGlobalCluster) under the application's writes with
 * no acknowledged write lost, the failback as a switchover back, then a regional outage whose
 * loss (aurora_global_db_status()) is on the approval card before FailoverGlobalCluster, and the
 * failback after it, which waits until Aurora re-added the old region and names its snapshot.
 */
import { DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { readLabEnv } from '../../src/lab/index.js';
import { labOutage, labRestore } from '../../src/lab/outage.js';
import { holdPostgresReplication, sql, until } from '../support/lab.js';
import {
  APP_TABLE,
  TEST_TIMEOUT_MS,
  blocksText,
  expectAllStepsDone,
  expectCompletedCard,
  failoverThroughSlack,
  lostOn,
  operationThroughSlack,
  seedData,
  startApplication,
  startBotOnLab,
  stopStarted,
  threadReplies,
  useSlackLab,
  type Run,
  type Started,
} from '../support/slack-lab.js';

useSlackLab();

let run: Run;
let started: Started | undefined;
let app: ReturnType<typeof startApplication> | undefined;
let rds: RDSClient | undefined;

beforeAll(async () => {
  run = await startBotOnLab('aws', (s) => (started = s), { postgres: 'aurora-global' });
  await seedData(run.lab);
  await sql(
    run.lab.postgres.primary.url,
    `CREATE TABLE ${APP_TABLE} (seq int PRIMARY KEY, side text)`,
  );
  // The SDK's credential chain reads the lab's dummy keys, as the bot does from lab.env.
  Object.assign(process.env, readLabEnv(run.lab.envFile));
  rds = new RDSClient({ region: 'eu-central-1', endpoint: run.lab.simulators.aurora!.url });
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  rds?.destroy();
  await app?.stop();
  if (started) await stopStarted(started);
});

/** The global cluster's members as Aurora shows them: writer and synchronization per cluster. */
async function members(): Promise<{ failover?: string; clusters: Record<string, string> }> {
  const out = await rds!.send(
    new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: 'lab-global' }),
  );
  const g = out.GlobalClusters![0]!;
  const clusters = Object.fromEntries(
    (g.GlobalClusterMembers ?? []).map((m) => [
      m.DBClusterArn!.split(':').at(-1)!,
      `${m.IsWriter ? 'writer' : 'reader'} ${m.SynchronizationStatus}`,
    ]),
  );
  return { ...(g.FailoverState?.Status ? { failover: g.FailoverState.Status } : {}), clusters };
}

/** The thread's replies with their blocks (a step's summary and evidence). */
const thread = (ts: string): string =>
  threadReplies(run, ts)
    .map((c) => `${String(c.args.text)} ${blocksText(c)}`)
    .join('\n');

const inRecovery = async (url: string): Promise<boolean> =>
  ((await sql(url, 'SELECT pg_is_in_recovery() AS r')) as [{ r: boolean }])[0].r;

test(
  'planned: SwitchoverGlobalCluster under the application writes, no acknowledged write lost',
  async () => {
    const { lab } = run;
    expect(run.config.components.postgres).toMatchObject({ driver: 'aurora-global' });
    app = startApplication(lab);
    await until('the application to write', async () => app!.acked.database.length >= 20);
    const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
      run,
      'planned',
      'aurora drill',
    );
    expect(approvalCard).toMatch(
      /lab-aurora-secondary is an Aurora secondary of lab-global \(connected\), RPO lag \d+ ms[^"]*SwitchoverGlobalCluster, zero loss/,
    );
    expectCompletedCard(run, ts, opId, summary);
    expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);
    // Completion as DescribeGlobalClusters showed it: FailoverState seen, then empty, members synced.
    expect(thread(ts)).toMatch(
      /failoverStatusesSeen: (pending → )?switching-over[^•]*• synchronization: lab-aurora-primary connected, lab-aurora-secondary connected/,
    );
    await until(
      'the application to write on the secondary',
      async () => app!.where.database.secondary >= 20,
    );
    expect((await lostOn(lab, 'secondary', app.acked)).database).toBe(0);
    // Topology kept: the old primary is a secondary of the new writer, no rebuild.
    expect(await members()).toEqual({
      clusters: {
        'lab-aurora-primary': 'reader connected',
        'lab-aurora-secondary': 'writer connected',
      },
    });
    expect(await inRecovery(lab.postgres.primary.url)).toBe(true);
  },
  TEST_TIMEOUT_MS,
);

test(
  'failback: a switchover back, the application still writing, nothing of the cycle lost',
  async () => {
    const { lab } = run;
    const { ts, opId } = await operationThroughSlack(run, 'failback primary is back');
    expectAllStepsDone(run, ts, 'failback', opId);
    expect(thread(ts)).toMatch(
      /Aurora switched lab-global over to lab-aurora-primary in \d+ s: zero loss; lab-aurora-secondary is now a secondary/,
    );
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
    expect((await members()).clusters['lab-aurora-primary']).toBe('writer connected');
    expect(await inRecovery(lab.postgres.secondary.url)).toBe(true);
  },
  TEST_TIMEOUT_MS,
);

test(
  'unplanned: the loss from aurora_global_db_status() is on the card before FailoverGlobalCluster, and real',
  async () => {
    const { lab } = run;
    await sql(lab.postgres.primary.url, 'CREATE TABLE late (n int)');
    await until('the table on the secondary', async () => {
      await sql(lab.postgres.secondary.url, 'SELECT 1 FROM late');
      return true;
    });
    // Writes the secondary never receives, then the primary region is lost.
    await holdPostgresReplication(lab);
    await sql(lab.postgres.primary.url, 'INSERT INTO late SELECT generate_series(1, 20)');
    await labOutage({ dir: lab.dir });

    const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
      run,
      'unplanned',
      'primary region lost',
    );
    expect(approvalCard).toContain('*Mode:* unplanned');
    expect(approvalCard).toMatch(
      /FailoverGlobalCluster with AllowDataLoss to lab-aurora-secondary, up to \d+ ms of commits: RPO lag \d+ ms, durability lag \d+ ms \(aurora_global_db_status\(\) on eu-central-1\)/,
    );
    expectCompletedCard(run, ts, opId, summary);
    expect(blocksText(summary)).toMatch(/RPO database: [^•]*aurora_global_db_status/);
    expect(thread(ts)).toMatch(
      /Aurora failed lab-global over to lab-aurora-secondary \(AllowDataLoss\)/,
    );
    // The loss is real: what the secondary never received is not there.
    const [{ n }] = (await sql(
      lab.postgres.secondary.url,
      'SELECT count(*)::int AS n FROM late',
    )) as [{ n: number }];
    expect(n).toBe(0);
    expect((await members()).clusters['lab-aurora-primary']).toBe('reader pending-resync');
  },
  TEST_TIMEOUT_MS,
);

test(
  'failback after the failover: once Aurora re-added the old region, the card names the snapshot it kept; a switchover returns',
  async () => {
    const { lab } = run;
    await labRestore({ dir: lab.dir });
    // Aurora re-adds the region once it is back: a new volume, copied from the new primary.
    await until(
      'Aurora to re-add the old region',
      async () => (await members()).clusters['lab-aurora-primary'] === 'reader connected',
      60_000,
    );
    const { ts, opId, approvalCard } = await operationThroughSlack(
      run,
      'failback primary region is back',
    );
    // The failback's card names the snapshot Aurora kept of the old volume.
    expect(approvalCard).toMatch(
      /Aurora kept the old volume of lab-aurora-primary as snapshot rds:unplanned-global-failover-lab-aurora-primary-\d{8}T\d{6}/,
    );
    expectAllStepsDone(run, ts, 'failback', opId);
    expect(thread(ts)).toMatch(/Aurora switched lab-global over to lab-aurora-primary/);
    expect(await members()).toEqual({
      clusters: {
        'lab-aurora-primary': 'writer connected',
        'lab-aurora-secondary': 'reader connected',
      },
    });
    // The old volume was replaced by a copy of the new primary: its unreplicated rows are gone.
    const [{ n }] = (await sql(
      lab.postgres.primary.url,
      'SELECT count(*)::int AS n FROM late',
    )) as [{ n: number }];
    expect(n).toBe(0);
    expect(await inRecovery(lab.postgres.secondary.url)).toBe(true);
  },
  TEST_TIMEOUT_MS,
);
