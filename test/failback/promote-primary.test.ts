/**
 * promote-primary on a real lab when the failback's resync and consistency stages were skipped:
 * a writer primary on the timeline the secondary left is not "already promoted", and its
 * read-only fence is not lifted; once resynced, the step promotes it and then counts as done.
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.js';
import type { LabInfo } from '../../src/lab/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { getStep } from '../../src/steps/index.js';
import type { StepContext } from '../../src/steps/types.js';
import { silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';
import { ids, insertRows, range } from './support.js';

let lab: LabInfo;
let providers: Providers;

beforeAll(async () => {
  lab = await startLab();
  providers = createProviders(loadConfig({ path: lab.configPath }), process.env, silentLog);
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)',
  );
}, 120_000);

afterAll(async () => {
  await closeProviders(providers, silentLog);
  await stopLabs();
});

const ctx = (): StepContext => ({
  opId: 'promote-primary-lab',
  kind: 'failback',
  mode: 'planned',
  providers: { database: providers.database! },
  log: silentLog,
  targets: { rtoMinutes: 30, rpoMinutes: 5 },
});
const step = getStep('promote-primary');
const readOnly = async (url: string) =>
  (await sql<{ v: string }>(url, "SELECT current_setting('default_transaction_read_only') AS v"))[0]
    .v === 'on';
const setFence = async (url: string, on: boolean) => {
  await sql(
    url,
    on
      ? 'ALTER SYSTEM SET default_transaction_read_only = on'
      : 'ALTER SYSTEM RESET default_transaction_read_only',
  );
  await sql(url, 'SELECT pg_reload_conf()');
  await until(
    `the fence on ${url} to be ${on ? 'set' : 'lifted'}`,
    async () => (await readOnly(url)) === on,
  );
};

test('after a failover, a fenced old primary next to a fenced secondary: not done, and promote keeps its fence', async () => {
  const db = providers.database!;
  await insertRows(lab.postgres.primary.url, range(1, 10), 'primary');
  await db.promote({ target: 'secondary', mode: 'planned', progress: () => undefined });
  await insertRows(lab.postgres.secondary.url, range(11, 20), 'secondary');
  // Someone fenced the secondary too (a half-done failback by hand), resync and consistency skipped.
  await setFence(lab.postgres.secondary.url, true);

  expect(await step.check(ctx())).toMatchObject({ done: false });
  const attempt = step.run(ctx(), () => undefined);
  await expect(attempt).rejects.toMatchObject({ code: 'wrong-target' });
  await expect(attempt).rejects.toThrow(
    /primary writes timeline 1 and secondary \(fenced read-only\) timeline 2: .*diverged/,
  );
  // The diverged old primary was not handed the writes.
  expect(await readOnly(lab.postgres.primary.url)).toBe(true);
  expect(await ids(lab.postgres.primary.url)).toEqual(range(1, 10));
});

test('the old primary unfenced by hand while the secondary still writes: two writers, not done, promote refuses', async () => {
  await setFence(lab.postgres.secondary.url, false);
  await setFence(lab.postgres.primary.url, false);
  expect(await step.check(ctx())).toMatchObject({ done: false });
  await expect(step.run(ctx(), () => undefined)).rejects.toThrow(/both accept writes/);
  expect(await readOnly(lab.postgres.secondary.url)).toBe(false);
});

test('once resynced, the step promotes the primary and then counts as done (secondary fenced, primary on the later timeline)', async () => {
  const db = providers.database!;
  await setFence(lab.postgres.primary.url, true);
  await db.resync({ standby: 'primary', progress: () => undefined });
  expect(await step.check(ctx())).toMatchObject({ done: false });
  const outcome = await step.run(ctx(), () => undefined);
  expect(outcome.result).toBe('done');
  expect(await step.check(ctx())).toMatchObject({ done: true });
  expect(await readOnly(lab.postgres.secondary.url)).toBe(true);
  expect(await ids(lab.postgres.primary.url)).toEqual(range(1, 20));
  // Promoting again is the no-op that keeps the (already lifted) fence off the primary.
  expect(
    await db.promote({ target: 'primary', mode: 'planned', progress: () => undefined }),
  ).toMatchObject({ noop: true });
  await insertRows(lab.postgres.primary.url, [21], 'primary');
});

test('Redis: the old master still a master beside the promoted secondary (resync skipped) is not done, and promote refuses it', async () => {
  const cache = providers.cache!;
  const cacheCtx = (): StepContext => ({ ...ctx(), providers: { cache } });
  const primary = new Redis(lab.redis.primary.url, { lazyConnect: true });
  const secondary = new Redis(lab.redis.secondary.url, { lazyConnect: true });
  try {
    await primary.set('order:1', 'from the primary');
    await until(
      'the replica to have the write',
      async () => (await secondary.get('order:1')) === 'from the primary',
    );
    // An unplanned failover that could not reach the old master: the secondary promoted alone.
    await secondary.call('REPLICAOF', 'NO', 'ONE');
    await secondary.set('order:2', 'from the secondary');

    expect(await cache.isWriter('primary')).toBe(true);
    expect(await step.check(cacheCtx())).toMatchObject({ done: false });
    await expect(step.run(cacheCtx(), () => undefined)).rejects.toMatchObject({
      code: 'wrong-target',
    });
    // Nothing was handed to the stale side: both still masters, the secondary's write only there.
    expect((await primary.call('ROLE')) as unknown[]).toEqual(expect.arrayContaining(['master']));
    expect(((await secondary.call('ROLE')) as unknown[])[0]).toBe('master');
    expect(await primary.get('order:2')).toBeNull();

    // Once resynced (the old master a replica of the secondary), the step promotes it and is done.
    await cache.resync({ standby: 'primary', progress: () => undefined });
    const outcome = await step.run(cacheCtx(), () => undefined);
    expect(outcome.result).toBe('done');
    await until(
      'the secondary to replicate from the primary',
      async () => (await step.check(cacheCtx())).done,
    );
    expect(await primary.get('order:2')).toBe('from the secondary');
  } finally {
    primary.disconnect();
    secondary.disconnect();
  }
});
