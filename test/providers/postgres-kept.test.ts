/**
 * What the PostgreSQL provider keeps per server in the bot's Redis outlives the provider (a restart
 * of the bot, or dr console after it): the fence a planned failover left on the old primary, which
 * lets failback call its uncounted WAL after the split background records, and the last reading of
 * the primary as a writer, which narrows an unplanned failover's loss window. On a real lab without
 * pg_walinspect.
 */
import { Redis } from 'ioredis';
import { labUser, pgStart, readLabInfo, writeLabInfo, type LabInfo } from '../../src/lab/index.js';
import { labResyncCommand } from '../../src/lab/resync-command.js';
import { keyValuePostgresServers } from '../../src/providers/postgres/index.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import {
  crashPostgresPrimary,
  holdPostgresReplication,
  labPostgresProvider,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('pg-kept');
const redis = new Redis(REDIS_URL);
const quiet = () => undefined;
const opened: DatabaseProvider[] = [];

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
  await stopLabs();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

/** A provider as a (re)started bot builds it: everything it knows comes from Redis under `keys`. */
function provider(lab: LabInfo, keys = prefix): DatabaseProvider {
  const p = labPostgresProvider(lab.postgres.primary.url, lab.postgres.secondary.url, {
    servers: keyValuePostgresServers(redis, { prefix: keys, environment: 'test' }),
    resync: { command: labResyncCommand(lab.dir), timeoutSeconds: 300 },
  });
  opened.push(p);
  return p;
}

const fenceKey = (port: number) => `${prefix}pg-fence:test:127.0.0.1:${port}`;
const lossWarning = /^primary has data secondary never received: .*Approving accepts that loss/;

describe('failback of a fenced old primary without pg_walinspect', () => {
  let lab: LabInfo;
  beforeAll(async () => {
    lab = await startLab();
    await sql(lab.postgres.primary.url, 'CREATE TABLE orders (id int PRIMARY KEY)');
    await sql(lab.postgres.primary.url, 'INSERT INTO orders SELECT generate_series(1, 10)');
  }, 120_000);

  test('after a planned failover the recorded fence makes the WAL after the split a note; without the record it stays a warning', async () => {
    const failover = provider(lab);
    const promoted = await failover.promote({
      target: 'secondary',
      mode: 'planned',
      progress: quiet,
    });
    await failover.close();
    const finalLsn = String(promoted.evidence.finalLsn);
    const kept = JSON.parse((await redis.get(fenceKey(lab.postgres.primary.port))) ?? 'null') as {
      finalLsn: string;
      splitLsn: string;
      timeline: number;
      at: string;
    };
    expect(kept).toMatchObject({ finalLsn, timeline: 1 });
    const [history] = await sql<{ text: string }>(
      lab.postgres.secondary.url,
      `SELECT pg_read_file('pg_wal/00000002.history') AS text`,
    );
    expect(kept.splitLsn).toBe(history.text.trim().split(/\s+/)[1]);
    // Background WAL on the fenced old primary after the split.
    await sql(lab.postgres.primary.url, 'CHECKPOINT');

    // A bot restarted since (a new provider): the record is in Redis.
    const failback = await provider(lab).readiness('primary');
    expect(failback.planFacts).toMatchObject({
      targetRole: 'stale-writer',
      lostTransactions: null,
    });
    expect(
      Number((failback.details.divergence as { lostBytes: number }).lostBytes),
    ).toBeGreaterThan(0);
    expect(failback.summary).toContain(
      `fenced at LSN ${finalLsn} before the split (planned failover at ${kept.at})`,
    );
    expect(failback.summary).toMatch(
      /the \d+ B after the split are background records, no committed transaction is lost/,
    );
    expect(failback.warnings ?? []).not.toContainEqual(expect.stringMatching(lossWarning));
    expect(failback.expectedLoss).toBeUndefined();

    // Fresh keys (no record): the same WAL stays a possible loss.
    const unrecorded = await provider(lab, uniquePrefix('pg-kept-none')).readiness('primary');
    expect(unrecorded.summary).not.toContain('are background records');
    expect(unrecorded.warnings).toContainEqual(expect.stringMatching(lossWarning));
    expect(unrecorded.expectedLoss).toBeDefined();
  });

  test('the fence lifted, a commit, the fence set again by hand: same split, still fenced, but a transaction id was taken: a possible loss', async () => {
    const url = lab.postgres.primary.url;
    const fenced = async (on: boolean) =>
      until(
        `the fence ${on ? 'set' : 'lifted'}`,
        async () =>
          (await sql(url, 'SHOW default_transaction_read_only'))[0]
            .default_transaction_read_only === (on ? 'on' : 'off'),
      );
    await sql(url, 'ALTER SYSTEM RESET default_transaction_read_only');
    await sql(url, 'SELECT pg_reload_conf()');
    await fenced(false);
    await sql(url, 'INSERT INTO orders VALUES (100)');
    await sql(url, 'ALTER SYSTEM SET default_transaction_read_only = on');
    await sql(url, 'SELECT pg_reload_conf()');
    await fenced(true);

    const r = await provider(lab).readiness('primary');
    expect(r.summary).toContain('primary is the old primary (fenced read-only)');
    expect(r.summary).not.toContain('are background records');
    expect(r.warnings).toContainEqual(expect.stringMatching(lossWarning));
    expect(r.expectedLoss).toBeDefined();
  });

  test('an unplanned failover whose old primary came back and was fenced by hand: a possible loss, though a fence record of an earlier split is kept for it', async () => {
    // Failback first: the primary rewound, promoted again (it fences the secondary), the secondary resynced.
    const back = provider(lab);
    await back.resync({ standby: 'primary', progress: quiet });
    await back.promote({ target: 'primary', mode: 'planned', progress: quiet });
    await back.resync({ standby: 'secondary', progress: quiet });
    await back.close();
    const earlier = await redis.get(fenceKey(lab.postgres.primary.port));
    expect(earlier).not.toBeNull();

    // Commits that never replicate, then the primary crashes and the secondary is promoted.
    await holdPostgresReplication(lab);
    await sql(lab.postgres.primary.url, 'INSERT INTO orders SELECT generate_series(11, 15)');
    await crashPostgresPrimary(lab);
    await provider(lab).promote({ target: 'secondary', mode: 'unplanned', progress: quiet });

    // The old primary comes back and someone fences it read-only by hand.
    const ctx = { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' };
    const info = readLabInfo(lab.dir);
    info.postgres.primary.pid = await pgStart(ctx, lab.postgres.primary);
    writeLabInfo(info);
    await sql(lab.postgres.primary.url, 'ALTER SYSTEM SET default_transaction_read_only = on');
    await sql(lab.postgres.primary.url, 'SELECT pg_reload_conf()');
    await until(
      'the hand-made fence',
      async () =>
        (await sql(lab.postgres.primary.url, 'SHOW default_transaction_read_only'))[0]
          .default_transaction_read_only === 'on',
    );

    const r = await provider(lab).readiness('primary');
    expect(r.summary).toContain('primary is the old primary (fenced read-only)');
    expect(r.summary).not.toContain('are background records');
    expect(r.warnings).toContainEqual(expect.stringMatching(lossWarning));
    expect(r.expectedLoss?.bytes).toBeGreaterThan(0);
    // The record of the earlier planned failover is still there, untouched: it was not this split's.
    expect(await redis.get(fenceKey(lab.postgres.primary.port))).toBe(earlier);
  });
});

test('a provider built after the primary crashed (a restarted bot) still narrows the loss window with the writer reading kept in Redis', async () => {
  const lab = await startLab();
  await sql(lab.postgres.primary.url, 'CREATE TABLE orders (id int PRIMARY KEY)');
  await sql(lab.postgres.primary.url, 'INSERT INTO orders SELECT generate_series(1, 3)');
  await until(
    'the standby to replay the inserts',
    async () =>
      Number(
        (
          await sql<{ n: string }>(lab.postgres.secondary.url, 'SELECT count(*) AS n FROM orders')
        )[0].n,
      ) === 3,
  );
  const [standby] = await sql<{ at: Date }>(
    lab.postgres.secondary.url,
    'SELECT pg_last_xact_replay_timestamp() AS at',
  );
  // Idle: the last replayed commit ages (a second, ten times the loss's 0.1 s rounding); then a
  // readiness round reads the primary.
  await new Promise((r) => setTimeout(r, 1000));
  const before = provider(lab);
  expect((await before.readiness('secondary')).primaryReachable).toBe(true);
  await before.close();
  const [{ lsn: flushed }] = await sql<{ lsn: string }>(
    lab.postgres.primary.url,
    'SELECT pg_current_wal_flush_lsn()::text AS lsn',
  );
  await until('the standby to hold all the flushed WAL', async () => {
    const [r] = await sql<{ d: string }>(
      lab.postgres.secondary.url,
      'SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), $1)::text AS d',
      [flushed],
    );
    return Number(r.d) >= 0;
  });
  const key = `${prefix}pg-writer-seen:test:127.0.0.1:${lab.postgres.primary.port}`;
  const ttl = await redis.pttl(key);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(3 * 24 * 3600 * 1000);
  await crashPostgresPrimary(lab);

  // The bot restarted: a new provider, nothing in memory.
  const after = provider(lab);
  const readiness = await after.readiness('secondary');
  const kept = JSON.parse((await redis.get(key))!) as { at: string; flushLsn: string };
  expect(readiness.details.inSyncAt).toBe(kept.at);
  expect(readiness.details.lossWindowFrom).toBe(kept.at);
  expect(Date.parse(kept.at) - standby.at.getTime()).toBeGreaterThanOrEqual(1000);
  expect(readiness.expectedLoss?.description).toContain(
    `0 B behind the last primary position seen, so no transaction committed before ${kept.at} is lost`,
  );

  // Without the kept reading (fresh keys) the window starts at the long-ago last commit.
  const unkept = await provider(lab, uniquePrefix('pg-kept-none')).readiness('secondary');
  expect(unkept.details.inSyncAt).toBeNull();
  expect(unkept.details.lossWindowFrom).toBe(standby.at.toISOString());

  const result = await after.promote({ target: 'secondary', mode: 'unplanned', progress: quiet });
  expect(result.evidence).toMatchObject({ inSyncAt: kept.at, lossWindowFrom: kept.at });
});
