/**
 * The cluster's system identifier kept in the bot's Redis outlives the provider (a restart of the
 * bot): a provider built after the primary went down still refuses a secondary of another cluster.
 */
import { Redis } from 'ioredis';
import type { LabInfo } from '../../src/lab/index.js';
import { keptPostgresFacts, keyValueSystemIdentifier } from '../../src/providers/postgres/index.js';
import {
  crashPostgresPrimary,
  labPostgresProvider,
  sql,
  startLab,
  stopLabs,
} from '../support/lab.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('pg-identity');
const redis = new Redis(REDIS_URL);
let a: LabInfo;
let b: LabInfo;

beforeAll(async () => {
  [a, b] = await Promise.all([startLab(), startLab()]);
});

afterAll(async () => {
  await stopLabs();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const provider = (primaryUrl: string, secondaryUrl: string) =>
  labPostgresProvider(primaryUrl, secondaryUrl, {
    identity: keyValueSystemIdentifier(redis, `${prefix}pg-system-identifier:`),
  });

test("remembered in Redis while both sides answer; a later provider with the primary down refuses another cluster's standby", async () => {
  const before = provider(a.postgres.primary.url, a.postgres.secondary.url);
  expect((await before.readiness('secondary')).status).toBe('ready');
  await before.close();
  const [{ id }] = await sql<{ id: string }>(
    a.postgres.primary.url,
    'SELECT system_identifier::text AS id FROM pg_control_system()',
  );
  // Keyed by the primary's address: a cluster created afresh elsewhere never meets this one's identifier.
  expect(
    await redis.get(`${prefix}pg-system-identifier:127.0.0.1:${a.postgres.primary.port}`),
  ).toBe(id);

  // The primary goes down; a provider built afterwards (the bot restarted) finds the identifier in Redis.
  await crashPostgresPrimary(a);
  const after = provider(a.postgres.primary.url, b.postgres.secondary.url);
  const r = await after.readiness('secondary');
  expect(r.status).toBe('blocked');
  expect(r.summary).toContain(
    `this cluster's is ${id} (remembered when both sides were last seen together)`,
  );
  // Its own standby still passes: in recovery, the identifier matches.
  const own = provider(a.postgres.primary.url, a.postgres.secondary.url);
  const ownReadiness = await own.readiness('secondary');
  expect(ownReadiness.status).toBe('warning');
  expect(ownReadiness.warnings?.join(' ')).not.toContain('cannot be checked');
  // Promoted with the primary down, then asked again (a retried step): "already promoted" on that evidence.
  expect(
    (await own.promote({ target: 'secondary', mode: 'unplanned', progress: () => undefined })).noop,
  ).toBe(false);
  const again = provider(a.postgres.primary.url, a.postgres.secondary.url);
  expect(
    await again.promote({ target: 'secondary', mode: 'unplanned', progress: () => undefined }),
  ).toMatchObject({ noop: true, summary: expect.stringMatching(/already promoted/) });
  for (const p of [after, own, again]) await p.close();
});

test('dr start and dr console keep the identifier under one key per environment, so either reads what the other remembered', async () => {
  const bot = keptPostgresFacts(redis, { environment: 'prod', prefix });
  await bot.postgresIdentity.remember('db1.internal:5432', '7312345678901234567');
  expect(await redis.get(`${prefix}pg-system-identifier:prod:db1.internal:5432`)).toBe(
    '7312345678901234567',
  );
  // The console, started after the bot stopped (the primary down meanwhile), builds its own.
  const console = keptPostgresFacts(redis, { environment: 'prod', prefix });
  expect(await console.postgresIdentity.recall('db1.internal:5432')).toBe('7312345678901234567');
  // Another environment on the same state Redis keeps its own.
  expect(
    await keptPostgresFacts(redis, { environment: 'staging', prefix }).postgresIdentity.recall(
      'db1.internal:5432',
    ),
  ).toBeNull();
});
