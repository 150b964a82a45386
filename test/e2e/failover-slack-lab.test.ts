/**
 * The whole failover, end to end, as an on-call person runs it: a real lab (`labUp`: PostgreSQL
 * and Redis pairs, the cloud simulators, the bot's own state Redis), the bot run as `dr start
 * --config DIR/dr.config.yaml` with DIR/lab.env in its environment (so loadConfig,
 * createProviders, the engine, the Redis store and the Bolt app are all the real ones), driven
 * through its Slack HTTP endpoint with signed requests while a local Web API stand-in records
 * what it posts. After each run the test looks at every component itself, not at what the bot
 * says it did.
 */
import { existsSync } from 'node:fs';
import { ACTION_IDS } from '../../src/bot/render.js';
import type { ApiCall } from '../support/fake-slack.js';
import { setRegionHealth, stopRedis } from '../../src/lab/index.js';
import { createResolver } from '../../src/providers/dns-resolve.js';
import { crashPostgresPrimary, sql, until } from '../support/lab.js';
import { metricValue, scrape } from '../support/metrics.js';
import {
  APP_TABLE,
  OPERATOR,
  TEST_TIMEOUT_MS,
  RUN_TIMEOUT_MS,
  STEPS,
  apiCallsSince,
  buttonValue,
  click,
  command,
  blocksText,
  cardNow,
  expectAllStepsDone,
  expectCompletedCard,
  expectDnsOnSecondary,
  expectProductionScale,
  failoverThroughSlack,
  lostOn,
  operationThroughSlack,
  redisGet,
  redisRole,
  seedData,
  slack,
  startApplication,
  startBotOnLab,
  state,
  statusUntil,
  stopStarted,
  threadReplies,
  useSlackLab,
  type Run,
  type Started,
} from '../support/slack-lab.js';

useSlackLab();

test(
  'planned failover through Slack: one person requests, another approves, every component ends up on the secondary',
  async () => {
    const run = await startBotOnLab();
    const { lab, cloud } = run;
    await seedData(lab);
    const before = await state(cloud);
    expect(before.route53.servedBy).toBe('primary');
    expect(before.kubernetes.secondary.every((w) => w.replicas === 1)).toBe(true);

    // The bot's readiness monitor runs on start-up: the lab never had a drill, said once in the
    // channel. Awaited before the failover: a round that ends while an operation runs posts nothing.
    const readiness = await slack.waitFor(() => {
      const posted = apiCallsSince(run).filter(
        (c) => c.method === 'chat.postMessage' && String(c.args.text).startsWith('Readiness '),
      );
      return posted.length > 0 ? posted : null;
    }, 'the readiness message about the missing drill');
    expect(readiness.map((c) => String(c.args.text))).toEqual([
      expect.stringMatching(/^Readiness degraded: Last drill \(lab\): no drill recorded for lab/),
    ]);
    // What Prometheus scrapes before: the readiness round, no operation yet.
    const scraped = await scrape(Number(new URL(run.url).port));
    expect(metricValue(scraped, 'dr_instance_active', { environment: 'lab' })).toBe(1);
    expect(metricValue(scraped, 'dr_readiness_ok', { check: 'drill' })).toBe(0);
    expect(metricValue(scraped, 'dr_readiness_ok', { check: 'postgres' })).toBe(1);
    expect(metricValue(scraped, 'dr_replication_lag_bytes', { component: 'postgres' })).toEqual(
      expect.any(Number),
    );
    expect(metricValue(scraped, 'dr_operations_total', { kind: 'failover' })).toBeUndefined();

    const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
      run,
      'planned',
      'quarterly drill',
    );
    expect(approvalCard).toContain('*Mode:* planned');
    expectCompletedCard(run, ts, opId, summary);
    expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);
    // ...and after: the operation, its steps, its RTO and its zero-loss RPO.
    const scrapedAfter = await scrape(Number(new URL(run.url).port));
    const failover = { kind: 'failover' };
    expect(
      metricValue(scrapedAfter, 'dr_operations_total', { ...failover, result: 'completed' }),
    ).toBe(1);
    expect(metricValue(scrapedAfter, 'dr_last_rto_seconds', failover)).toBeGreaterThan(0);
    expect(
      metricValue(scrapedAfter, 'dr_last_rpo_bytes', { ...failover, component: 'database' }),
    ).toBe(0);
    expect(
      metricValue(scrapedAfter, 'dr_step_duration_seconds_count', {
        ...failover,
        step: 'promote-database',
        result: 'done',
      }),
    ).toBe(1);
    expect(metricValue(scrapedAfter, 'dr_approvals_pending')).toBe(0);

    // PostgreSQL: the secondary is a writable primary with every row; the old primary refuses writes.
    const [{ in_recovery }] = (await sql(
      lab.postgres.secondary.url,
      'SELECT pg_is_in_recovery() AS in_recovery',
    )) as [{ in_recovery: boolean }];
    expect(in_recovery).toBe(false);
    await sql(lab.postgres.secondary.url, `INSERT INTO orders VALUES (3, 'after failover')`);
    expect(
      (await sql(lab.postgres.secondary.url, 'SELECT item FROM orders ORDER BY id')).map(
        (r) => r.item,
      ),
    ).toEqual(['espresso', 'croissant', 'after failover']);
    await expect(
      sql(lab.postgres.primary.url, `INSERT INTO orders VALUES (4, 'split brain')`),
    ).rejects.toThrow(/read-only/);

    // Redis: the secondary is the master and kept the data; the old primary is no writer.
    expect(await redisRole(lab.redis.secondary.url)).toBe('master');
    expect(await redisRole(lab.redis.primary.url)).not.toBe('master');
    expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');

    const after = await expectDnsOnSecondary(cloud);
    expect(after.route53.primaryHealthCheckInverted).toBe(true);
    expect(after.route53.primaryHealthCheckDisabled).toBe(true);
    expectProductionScale(run, after);
    // The secondary's health endpoint was what verification hit.
    expect((await fetch(cloud.health.secondaryUrl)).status).toBe(200);
    // Still the one readiness message: nothing was posted about the failover's own changes.
    expect(
      apiCallsSince(run).filter(
        (c) => c.method === 'chat.postMessage' && String(c.args.text).startsWith('Readiness '),
      ),
    ).toHaveLength(1);
  },
  TEST_TIMEOUT_MS,
);

test(
  'unplanned failover through Slack after the primary region is lost: the expected loss is shown before approval and recorded as RPO',
  async () => {
    const run = await startBotOnLab();
    const { lab, cloud } = run;
    await seedData(lab);

    // The primary region goes away: its database and cache die, its public health endpoint fails.
    await crashPostgresPrimary(lab);
    await stopRedis(lab.redis.primary);
    await setRegionHealth(cloud, 'primary', 'down');

    const { ts, opId, approvalCard, summary } = await failoverThroughSlack(
      run,
      'unplanned',
      'primary region unreachable',
    );
    expect(approvalCard).toContain('*Mode:* unplanned');
    // The expected loss is shown before approval, once: the unplanned summary ends with it.
    const once = (text: string, phrase: string) => text.split(phrase).length - 1;
    expect(once(approvalCard, 'the standby received WAL up to')).toBe(1);
    expect(once(approvalCard, "the replica applied the master's stream up to offset")).toBe(1);
    expect(approvalCard).toMatch(/unplanned, [^"]*the standby received WAL up to/);
    expectCompletedCard(run, ts, opId, summary);
    const text = blocksText(summary);
    expect(text).toMatch(/• RPO database: /);
    expect(text).toMatch(/• RPO cache: /);
    expect(text).not.toContain('RPO not measured');

    const [{ in_recovery }] = (await sql(
      lab.postgres.secondary.url,
      'SELECT pg_is_in_recovery() AS in_recovery',
    )) as [{ in_recovery: boolean }];
    expect(in_recovery).toBe(false);
    await sql(lab.postgres.secondary.url, `INSERT INTO orders VALUES (3, 'after failover')`);
    expect(
      (await sql(lab.postgres.secondary.url, 'SELECT count(*)::int AS n FROM orders'))[0]!.n,
    ).toBe(3);
    expect(await redisRole(lab.redis.secondary.url)).toBe('master');
    expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');

    const after = await expectDnsOnSecondary(cloud);
    expect(after.health.primary.healthy).toBe(false);
    expectProductionScale(run, after);
  },
  TEST_TIMEOUT_MS,
);

test(
  "a failover with the team's own steps through Slack: a command, an HTTP call and a checklist item confirmed with Done",
  async () => {
    const run = await startBotOnLab('aws', undefined, { customSteps: true });
    const { cloud } = run;
    const steps = run.config.runbook.steps;
    expect(steps.map((st) => st.id)).toEqual(['pause-consumers', 'status-page', 'tell-support']);
    // The command's marker, by the path its check tests.
    const marker = steps[0]!.command!.check!.argv.at(-1)!;
    expect(existsSync(marker)).toBe(false);
    const statusPage = async () =>
      (await (await fetch(`${cloud.controlUrl}/status-page`)).json()) as {
        count: number;
        posts: { body: string }[];
      };
    expect((await statusPage()).count).toBe(0);

    let item: ApiCall | undefined;
    const { ts, opId, summary } = await operationThroughSlack(
      run,
      'failover planned custom steps',
      async (cardTs) => {
        // The checklist item waits in the thread with Done and Skip, and /dr status says who acts.
        item = await slack.waitFor(
          () => threadReplies(run, cardTs).find((c) => String(c.args.text).startsWith('✋')),
          'the checklist item in the thread',
          RUN_TIMEOUT_MS,
        );
        expect(blocksText(item)).toContain('Tell customer support the site now serves');
        const done = buttonValue(item, ACTION_IDS.done)!;
        expect(buttonValue(item, ACTION_IDS.skip)).toBe(done);
        expect(await command(run, 'status', OPERATOR)).toContain(
          '*Waiting:* ✋ Tell customer support (custom)',
        );
        // The requester may confirm a checklist item (it is not an approval).
        await click(run, 'done', done, OPERATOR);
      },
    );
    expect(blocksText(summary)).toContain(`${opId} completed`);

    // The command ran once: its marker exists, one thread reply says it ran (not "already done").
    expect(existsSync(marker)).toBe(true);
    const replies = threadReplies(run, ts).map((c) => String(c.args.text));
    expect(replies.filter((t) => t.startsWith('✅ Pause the queue consumers (custom) '))).toEqual([
      expect.stringMatching(/succeeded in /),
    ]);
    // The status page was posted once, with the step's body.
    const page = await statusPage();
    expect(page.count).toBe(1);
    expect(page.posts[0]!.body).toContain('Serving from the secondary region');
    expect(replies.filter((t) => t.startsWith('✅ Update the status page (custom) '))).toHaveLength(
      1,
    );
    // Who confirmed the checklist item: in the thread, and on its own message, now without buttons.
    expect(replies).toContainEqual(
      expect.stringMatching(
        new RegExp(`^☑️ Tell customer support \\(custom\\) done, confirmed by <@${OPERATOR}>`),
      ),
    );
    const settled = await slack.waitFor(
      () =>
        apiCallsSince(run).find((c) => c.method === 'chat.update' && c.args.ts === item!.result.ts),
      'the checklist item edited',
    );
    expect(buttonValue(settled, ACTION_IDS.done)).toBeUndefined();
    expect(blocksText(settled)).toContain(`confirmed by <@${OPERATOR}>`);
    const card = blocksText(cardNow(run, ts));
    for (const title of [...STEPS, 'Pause the queue consumers', 'Update the status page'])
      expect(card).toMatch(new RegExp(`✅ \\*${title}\\*`));
    expect(card).toContain('✅ *Tell customer support* _(custom)_');
    expect(card).not.toMatch(/⬜|⏳|❌|⏭|✋/);
    expectProductionScale(run, await expectDnsOnSecondary(cloud));
  },
  TEST_TIMEOUT_MS,
);

describe('the Azure lab through Slack, one lab for the whole cycle', () => {
  let run: Run;
  let started: Started | undefined;
  let app: ReturnType<typeof startApplication> | undefined;

  beforeAll(async () => {
    // Readiness rounds every 3 s, so `/dr status` shows what each operation left.
    run = await startBotOnLab('azure', (s) => (started = s), { readinessIntervalMinutes: 0.05 });
    await seedData(run.lab);
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
    '/dr failover planned with the application writing: Traffic Manager routes to the secondary through Entra ID tokens, no acknowledged write lost',
    async () => {
      const { lab, cloud } = run;
      expect(run.config.components.dns!.provider).toBe('traffic-manager');
      expect(run.config.components.objectStorage!.provider).toBe('azure-blob');
      expect((await state(cloud)).trafficManager.served).toBe('primary');
      app = startApplication(lab);
      await until('the application to write', async () => app!.acked.database.length >= 20);

      const { ts, opId, summary } = await failoverThroughSlack(run, 'planned', 'azure drill');
      expectCompletedCard(run, ts, opId, summary);
      expect(blocksText(summary)).toMatch(/RPO database: 0 B[^•]*zero loss/);
      expect(blocksText(cardNow(run, ts))).toContain('Traffic Manager profile');

      // The application moved to the new primary, and nothing it was told was written is gone.
      await until(
        'the application to write on the secondary',
        async () => app!.where.database.secondary >= 20 && app!.where.cache.secondary >= 20,
      );
      expect(await lostOn(lab, 'secondary', app.acked)).toEqual({ database: 0, cache: 0 });
      expect(
        (await sql(lab.postgres.secondary.url, 'SELECT item FROM orders ORDER BY id')).map(
          (r) => r.item,
        ),
      ).toEqual(['espresso', 'croissant']);
      expect(await redisGet(lab.redis.secondary.url, 'cart:42')).toBe('espresso');
      // Traffic Manager serves the secondary endpoint, and its DNS answers it.
      expect((await state(cloud)).trafficManager.served).toBe('secondary');
      const resolve = createResolver({ servers: [cloud.trafficManager.dnsServer] });
      const answer = await resolve(cloud.trafficManager.fqdn, 'CNAME').catch(() =>
        resolve(cloud.trafficManager.fqdn, 'A'),
      );
      expect(answer.join(' ')).toMatch(/secondary/);
    },
    TEST_TIMEOUT_MS,
  );

  test('/dr status after the failover: the failover last finished, DNS held on the secondary by Traffic Manager', async () => {
    const text = await statusUntil(run, (t) => t.includes('*DNS routing* degraded'), 'a DNS row');
    expect(text).toMatch(/\*Last finished:\* .*\* failover of lab — 🟢 Completed/);
    expect(text).toMatch(
      /• ⚠️ \*DNS routing\* degraded: DNS is switched to the secondary \(failed over\)[^\n]*app-tm\.trafficmanager\.net[^\n]*users go to the secondary/,
    );
    // Blob replication still meets its RPO: named among the green rows, not among the others.
    expect(text).not.toContain('*Object storage replication*');
    expect(text).toMatch(/• ✅ ok: [^\n]*Object storage replication/);
  });

  test(
    '/dr failback with the application still writing: Traffic Manager back on the primary, no acknowledged write of the whole cycle lost',
    async () => {
      const { lab, cloud } = run;
      const { ts, opId } = await operationThroughSlack(run, 'failback primary is back');
      expectAllStepsDone(run, ts, 'failback', opId);
      await until(
        'the application to write on the primary again',
        async () => app!.where.database.primary > 0 && app!.where.cache.primary > 0,
      );
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
      // Writes landed on both sides over the cycle, and every one acknowledged is on the primary.
      expect(where.database.secondary).toBeGreaterThan(0);
      expect(where.cache.secondary).toBeGreaterThan(0);
      expect(await lostOn(lab, 'primary', acked)).toEqual({ database: 0, cache: 0 });
      const [{ in_recovery }] = (await sql(
        lab.postgres.secondary.url,
        'SELECT pg_is_in_recovery() AS in_recovery',
      )) as [{ in_recovery: boolean }];
      expect(in_recovery).toBe(true);
      expect(await redisRole(lab.redis.primary.url)).toBe('master');
      expect(await redisRole(lab.redis.secondary.url)).not.toBe('master');
      expect((await state(cloud)).trafficManager.served).toBe('primary');
    },
    TEST_TIMEOUT_MS,
  );

  test(
    '/dr drill: failover and failback as one operation; the report names Traffic Manager and Blob in its rows',
    async () => {
      const { ts, opId } = await operationThroughSlack(run, 'drill azure quarterly drill');
      expectAllStepsDone(run, ts, 'drill', opId);
      const upload = await slack.waitFor(
        (f) => f.uploads().find((u) => u.filename === `${opId}-drill-report.md` && u.channel),
        'the drill report file',
        RUN_TIMEOUT_MS,
      );
      expect(upload.threadTs).toBe(ts);
      expect(upload.content).toContain(`# Drill report ${opId} — PASSED`);
      const rows = upload.content
        .split('\n')
        .filter((l) => l.startsWith('|') || l.startsWith('- '));
      expect(rows.find((l) => /Traffic Manager|trafficmanager\.net/.test(l))).toBeDefined();
      expect(rows.find((l) => /azure-blob:\/\//.test(l))).toBeDefined();
      expect((await state(run.cloud)).trafficManager.served).toBe('primary');
    },
    TEST_TIMEOUT_MS,
  );

  test('/dr status after the drill: the drill last finished, every check ok again', async () => {
    const text = await statusUntil(
      run,
      (t) => /\*Readiness:\* 10 ok, checked/.test(t),
      'a readiness round after the drill',
    );
    expect(text).toMatch(/\*Last finished:\* .*\* drill of lab — 🟢 Completed/);
    expect(text).not.toMatch(/\*(DNS routing|Last drill|Object storage replication)\*/);
    expect(text).toMatch(
      /• ✅ ok: [^\n]*DNS routing[^\n]*Object storage replication[^\n]*Last drill/,
    );
  });

  test('/dr status while Blob replication is stalled: a Blob row naming both containers', async () => {
    const blob = (action: string) =>
      fetch(`${run.cloud.controlUrl}/blob/replication/${action}`, { method: 'POST' });
    expect((await blob('stall')).status).toBe(200);
    try {
      const text = await statusUntil(
        run,
        (t) => t.includes('*Object storage replication* degraded'),
        'the stalled Blob replication',
      );
      expect(text).toMatch(
        /• ⚠️ \*Object storage replication\* degraded: canary \S+ written to azure-blob:\/\/\w+\/lab-primary-assets has not appeared in azure-blob:\/\/\w+\/lab-secondary-assets within the RPO of 10 s/,
      );
    } finally {
      expect((await blob('resume')).status).toBe(200);
    }
    const back = await statusUntil(
      run,
      (t) => /\*Readiness:\* 10 ok, checked/.test(t),
      'Blob replication caught up',
    );
    expect(back).not.toContain('*Object storage replication*');
  });
});
