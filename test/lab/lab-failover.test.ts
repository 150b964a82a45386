/**
 * The lab's own bot config, through the real config loader, provider factory and failover steps:
 * what `dr lab up` then a failover does, minus Slack and the engine.
 */
import { loadConfig } from '../../src/config/index.js';
import {
  ensureExtension,
  labStatus,
  labUser,
  resyncAsStandby,
  type LabInfo,
} from '../../src/lab/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { getStep } from '../../src/steps/index.js';
import type { StepContext } from '../../src/steps/types.js';
import { runDr } from '../support/dr-cli.js';
import { silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';

let lab: LabInfo;
let providers: Providers;

beforeAll(async () => {
  // pg_walinspect as `dr lab up` creates it.
  lab = await startLab({ walinspect: true });
  providers = createProviders(loadConfig({ path: lab.configPath }), process.env, silentLog);
});

afterAll(async () => {
  if (providers) await closeProviders(providers, silentLog);
  await stopLabs();
});

function ctx(): StepContext {
  return {
    opId: 'lab-test',
    kind: 'failover',
    mode: 'planned',
    providers,
    log: silentLog,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
  };
}

test('the lab config yields a database and a cache that are ready for a planned failover', async () => {
  const [db, cache] = await Promise.all([
    providers.database!.readiness('secondary'),
    providers.cache!.readiness('secondary'),
  ]);
  expect([db.status, db.primaryReachable]).toEqual(['ready', true]);
  expect([cache.status, cache.primaryReachable]).toEqual(['ready', true]);
});

test('promote-database and promote-cache run for real, then check() says they are done', async () => {
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 500) g',
  );
  for (const id of ['promote-database', 'promote-cache'] as const) {
    const step = getStep(id);
    expect((await step.check(ctx())).done).toBe(false);
    const outcome = await step.run(ctx(), () => undefined);
    expect(outcome.result).toBe('done');
    expect(outcome.rpo?.map((r) => r.bytes)).toEqual([0]);
    expect(outcome.evidence.mode).toBe('planned');
    expect((await step.check(ctx())).done).toBe(true);
  }
  expect(
    (await sql<{ n: string }>(lab.postgres.secondary.url, 'SELECT count(*) AS n FROM orders'))[0].n,
  ).toBe('500');
  expect(await providers.database!.isWriter('primary')).toBe(false);
  await until('the old Redis master to follow the new one', () =>
    providers.cache!.isStreamingStandby('primary'),
  );
});

test('after the planned failover, dr lab status shows the old primary fenced and warns of no second writer', async () => {
  const status = await labStatus({ dir: lab.dir });
  expect(status.postgres.map((s) => [s.name, s.role, s.readOnly])).toEqual([
    ['lab-primary', 'primary', true],
    ['lab-secondary', 'primary', false],
  ]);
  expect(status.warnings).toEqual([]);
  const out = await runDr(['lab', 'status', '--dir', lab.dir], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  expect(out.stdout).toMatch(/postgres lab-primary +up, primary, fenced \(read-only\)/);
  expect(out.stdout).toMatch(/postgres lab-secondary +up, primary(, lag \d+ B)?\n/);
  expect(out.stdout).toMatch(/redis {4}lab-primary +up, replica/);
  expect(out.stdout).not.toContain('WARNING');
});

test("the failback preflight counts the transactions the fenced old primary would lose with the lab's pg_walinspect: none after a planned failover", async () => {
  expect(lab.postgres.walinspect).toBe(true);
  for (const url of [lab.postgres.primary.url, lab.postgres.secondary.url]) {
    // In the database the lab's URLs (and so the provider) use; the standby has it from the clone.
    expect(
      await sql(url, "SELECT extname FROM pg_extension WHERE extname = 'pg_walinspect'"),
    ).toEqual([{ extname: 'pg_walinspect' }]);
  }
  // Where a PostgreSQL does not ship an extension, the lab goes on without it.
  expect(await ensureExtension(lab.postgres.secondary.url, 'dr_lab_no_such_extension')).toBe(false);
  const ready = await providers.database!.readiness('primary');
  expect(ready.planFacts).toMatchObject({
    targetRole: 'stale-writer',
    resyncMethod: 'rewind',
    lostTransactions: 0,
  });
  expect(ready.summary).toContain('primary is the old primary (fenced read-only)');
  expect(ready.expectedLoss).toBeUndefined();
});

test('failback: the old primary is rewound into a standby of the new one, then promoted again with zero loss', async () => {
  await sql(
    lab.postgres.secondary.url,
    'INSERT INTO orders SELECT g FROM generate_series(501, 600) g',
  );
  const ctxPg = { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' };
  const resync = await resyncAsStandby(ctxPg, {
    server: lab.postgres.primary,
    source: lab.postgres.secondary,
    slot: 'lab_primary',
  });
  // The lab keeps the WAL and hint bits pg_rewind needs: no fallback to a full copy.
  expect(resync).toMatchObject({ method: 'pg_rewind' });
  expect(await providers.database!.isStreamingStandby('primary')).toBe(true);

  const db = await providers.database!.promote({
    target: 'primary',
    mode: 'planned',
    progress: () => undefined,
  });
  const cache = await providers.cache!.promote({
    target: 'primary',
    mode: 'planned',
    progress: () => undefined,
  });
  expect([db.noop, db.rpo.bytes, cache.noop, cache.rpo.bytes]).toEqual([false, 0, false, 0]);
  expect(
    (await sql<{ n: string }>(lab.postgres.primary.url, 'SELECT count(*) AS n FROM orders'))[0].n,
  ).toBe('600');
  expect(await providers.database!.isWriter('primary')).toBe(true);
  expect(await providers.database!.isWriter('secondary')).toBe(false);
  expect(await providers.cache!.isWriter('primary')).toBe(true);
});
