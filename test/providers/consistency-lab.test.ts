/**
 * The failback's consistency check on one real lab pair, each half on its own servers. PostgreSQL:
 * tables compared chunk by chunk, no false difference while the writer keeps taking writes to the
 * same table, a row changed behind replication found and named by its key (also by PostgreSQL
 * 13's whole-table plan), and a check that ran out of time saying "sampled", never "consistent".
 * Redis: keys sampled at random across the keyspace, large values read in pieces, no false
 * difference while the writer keeps taking writes, and a partial check that says "sampled",
 * never "consistent".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { ConsistencyScope } from '../../src/domain/consistency.js';
import { verdictLabel } from '../../src/domain/consistency.js';
import type { CheckResult } from '../../src/domain/types.js';
import {
  labUser,
  pgStart,
  pgStop,
  readLabInfo,
  writeLabInfo,
  type LabInfo,
} from '../../src/lab/index.js';
import { planTable } from '../../src/providers/postgres/chunks.js';
import {
  consistencySettings,
  PgContext,
  type PgConsistencyOptions,
} from '../../src/providers/postgres/context.js';
import { compareTables } from '../../src/providers/postgres/table-check.js';
import { createRedisProvider } from '../../src/providers/redis/index.js';
import type { RedisConsistencyOptions } from '../../src/providers/redis/connection.js';
import type { CacheProvider, DatabaseProvider } from '../../src/providers/types.js';
import {
  labPostgresOptions,
  labPostgresProvider,
  silentLog,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';
import { labRedisClients } from '../support/redis.js';

let lab: LabInfo;

beforeAll(async () => {
  lab = await startLab();
}, 120_000);

afterAll(async () => {
  await stopLabs();
});

describe('PostgreSQL', () => {
  let primary: string;
  let secondary: string;
  const opened: DatabaseProvider[] = [];

  function provider(
    tables: string[],
    consistency: Partial<PgConsistencyOptions> = {},
    catchUpTimeoutSeconds?: number,
  ) {
    const p = labPostgresProvider(primary, secondary, {
      consistencyTables: tables,
      consistency,
      ...(catchUpTimeoutSeconds ? { catchUpTimeoutSeconds } : {}),
    });
    opened.push(p);
    return p;
  }

  async function check(
    p: DatabaseProvider,
  ): Promise<{ scopes: Map<string, ConsistencyScope>; checks: Map<string, CheckResult> }> {
    const r = await p.consistency({ writer: 'primary', progress: () => undefined });
    return {
      scopes: new Map(r.scopes.map((s) => [s.name, s])),
      checks: new Map(r.checks.map((c) => [c.name, c])),
    };
  }

  async function replayed(): Promise<void> {
    const [{ lsn }] = await sql<{ lsn: string }>(
      primary,
      'SELECT pg_current_wal_lsn()::text AS lsn',
    );
    await until(
      'the standby to replay',
      async () =>
        (
          await sql<{ ok: boolean }>(secondary, 'SELECT pg_last_wal_replay_lsn() >= $1 AS ok', [
            lsn,
          ])
        )[0]!.ok,
    );
  }

  beforeAll(async () => {
    primary = lab.postgres.primary.url;
    secondary = lab.postgres.secondary.url;
    await sql(
      primary,
      `CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL, amount numeric, at timestamptz DEFAULT now());
     INSERT INTO orders (id, note, amount) SELECT g, 'order ' || g, g * 1.5 FROM generate_series(1, 60000) g;
     CREATE TABLE docs (id int PRIMARY KEY, body json);
     INSERT INTO docs SELECT g, json_build_object('n', g) FROM generate_series(1, 3000) g;
     CREATE TABLE log_lines (line text);
     INSERT INTO log_lines SELECT 'line ' || g FROM generate_series(1, 5000) g;`,
    );
    await sql(primary, 'ANALYZE');
    await replayed();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
  });

  test('an idle pair: every chunk of every table equal, every row counted, "consistent"', async () => {
    const { scopes, checks } = await check(
      provider(['orders', 'docs', 'log_lines'], { chunkRows: 5000 }),
    );
    const orders = scopes.get('orders')!;
    expect(orders.total).toBeGreaterThanOrEqual(10);
    expect(orders).toMatchObject({
      equal: orders.total,
      different: 0,
      changing: 0,
      rowsEqual: 60000,
    });
    expect(verdictLabel(orders)).toBe('consistent');
    expect(orders.method).toMatch(/^sum of per-column type hashes over ranges of \d+ blocks/);
    // json has no hash function: that column is hashed by its text form.
    expect(scopes.get('docs')).toMatchObject({ rowsEqual: 3000, different: 0 });
    expect(scopes.get('docs')!.method).toMatch(
      /^sum of per-column type hashes \(1 column\(s\) by text form\)/,
    );
    expect(scopes.get('log_lines')).toMatchObject({ rowsEqual: 5000, different: 0 });
    expect([...checks.values()].every((c) => c.ok)).toBe(true);
  });

  test('`concurrency` chunk queries at a time on each side, on that many connections (one more watches replay)', async () => {
    const watchers = [new pg.Client(primary), new pg.Client(secondary)];
    await Promise.all(watchers.map((c) => c.connect()));
    // Per side: the most dr-bot connections and the most chunk queries running at once, as a DBA sizing max_connections would watch.
    const most = [
      { connections: 0, chunkQueries: 0 },
      { connections: 0, chunkQueries: 0 },
    ];
    let checking = true;
    const watching = Promise.all(
      watchers.map(async (c, side) => {
        while (checking) {
          const { rows } = await c.query<{ conns: number; chunks: number }>(
            `SELECT count(*)::int AS conns,
                    count(*) FILTER (WHERE state = 'active' AND query LIKE '%FROM "orders" t WHERE t.ctid%')::int AS chunks
               FROM pg_stat_activity WHERE application_name = 'dr-bot'`,
          );
          most[side]!.connections = Math.max(most[side]!.connections, rows[0]!.conns);
          most[side]!.chunkQueries = Math.max(most[side]!.chunkQueries, rows[0]!.chunks);
        }
      }),
    );
    try {
      const p = provider(['orders'], { chunkRows: 2000, concurrency: 2, rowHash: 'text' });
      const orders = (await check(p)).scopes.get('orders')!;
      expect(orders).toMatchObject({ equal: orders.total, rowsEqual: 60000 });
    } finally {
      checking = false;
      await watching;
      await Promise.all(watchers.map((c) => c.end()));
    }
    const [writer, standby] = most;
    expect(writer!.connections).toBeLessThanOrEqual(2);
    expect(standby!.connections).toBeLessThanOrEqual(3);
    expect(writer!.chunkQueries).toBeGreaterThanOrEqual(1);
    expect(writer!.chunkQueries).toBeLessThanOrEqual(2);
    expect(standby!.chunkQueries).toBeGreaterThanOrEqual(1);
    expect(standby!.chunkQueries).toBeLessThanOrEqual(2);
  });

  test('a connection lost during the check costs its table, and the other tables are still compared', async () => {
    const standby = new pg.Client(secondary);
    await standby.connect();
    let cut: string | undefined;
    let checking = true;
    // Ends the first chunk query seen on the standby, as a restarting server or a network cut would.
    const cutting = (async () => {
      while (checking && !cut) {
        const { rows } = await standby.query<{ table: string }>(
          `SELECT substring(query FROM 'FROM "([a-z_]+)" t') AS table
             FROM (SELECT pid, query FROM pg_stat_activity
                    WHERE application_name = 'dr-bot' AND state = 'active'
                      AND query LIKE '%count(*)%' AND pid <> pg_backend_pid() OFFSET 0) a
            WHERE pg_terminate_backend(pid)`,
        );
        cut = rows[0]?.table;
      }
    })();
    try {
      const p = provider(['orders', 'log_lines'], {
        chunkRows: 2000,
        concurrency: 1,
        rowHash: 'text',
      });
      const { scopes } = await check(p);
      checking = false;
      await cutting;
      expect(cut).toBeDefined();
      expect(scopes.get(cut!)!.error).toMatch(/^not compared: .*secondary/);
      const rest = cut === 'orders' ? 'log_lines' : 'orders';
      const rows = rest === 'orders' ? 60000 : 5000;
      expect(scopes.get(rest)).toMatchObject({ different: 0, rowsEqual: rows });
      expect(scopes.get(rest)!.error).toBeUndefined();
    } finally {
      checking = false;
      await cutting;
      await standby.end();
    }
  });

  test('a standby that stops replaying during the check: its table is not compared and says why, never "consistent"', async () => {
    let writing = true;
    let next = 300_000;
    const load = (async () => {
      while (writing) await sql(primary, `INSERT INTO orders (id, note) VALUES (${next++}, 'new')`);
    })();
    const standby = new pg.Client(secondary);
    await standby.connect();
    let checking = true;
    let paused = false;
    // Pauses replay once the first chunk is read on the standby, as a stuck replay would stop it.
    const pausing = (async () => {
      while (checking && !paused) {
        const { rows } = await standby.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'dr-bot' AND state = 'active' AND query LIKE '%count(*)%'`,
        );
        if (rows[0]!.n > 0) {
          await standby.query('SELECT pg_wal_replay_pause()');
          paused = true;
        }
      }
    })();
    try {
      await until('the load to be running', async () => next > 300_010);
      const p = provider(['orders'], { chunkRows: 2000, concurrency: 1, rowHash: 'text' }, 1);
      const { scopes, checks } = await check(p);
      checking = false;
      await pausing;
      expect(paused).toBe(true);
      expect(scopes.get('orders')!.error).toMatch(
        /^not compared: postgres: secondary .* did not replay the writer's WAL up to [0-9A-F]+\/[0-9A-F]+ within 1 s .*then Retry$/,
      );
      expect(verdictLabel(scopes.get('orders')!)).not.toBe('consistent');
      expect(checks.get('postgres table orders')!.ok).toBe(false);
    } finally {
      checking = false;
      writing = false;
      await Promise.all([pausing, load]);
      await standby.query('SELECT pg_wal_replay_resume()');
      await standby.end();
      await replayed();
    }
  });

  test('rows inserted and updated in the checked table during the check are no false difference', async () => {
    let writing = true;
    let next = 100_000;
    const load = (async () => {
      while (writing) {
        await sql(
          primary,
          `INSERT INTO orders (id, note) VALUES (${next++}, 'new');
         UPDATE orders SET note = note || '.' WHERE id = ${1 + Math.floor(Math.random() * 60000)}`,
        );
      }
    })();
    try {
      await until('the load to be running', async () => next > 100_010);
      const p = provider(['orders'], { chunkRows: 5000, unproven: 'continue' });
      for (let round = 0; round < 3; round++) {
        const orders = (await check(p)).scopes.get('orders')!;
        expect(orders.different).toBe(0);
        expect(orders.equal + orders.changing).toBe(orders.total);
        expect(orders.rowsEqual).toBeGreaterThan(50_000);
      }
    } finally {
      writing = false;
      await load;
    }
  });

  test('a commit the standby has replayed while the writer still hides it is "changing", never a difference', async () => {
    // A synchronous standby that never answers holds the commit: its WAL is written and streamed
    // (the lab's standby replays it) while the writer's readers do not see it yet.
    await sql(
      primary,
      `CREATE TABLE held AS SELECT g AS id, 'row ' || g AS note FROM generate_series(1, 2000) g;
     ANALYZE held;`,
    );
    await replayed();
    await sql(primary, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
    await sql(primary, 'SELECT pg_reload_conf()');
    const held = new pg.Client({ connectionString: primary });
    try {
      await until('the writer to wait for a synchronous standby', async () => {
        const [{ names }] = await sql<{ names: string }>(
          primary,
          "SELECT current_setting('synchronous_standby_names') AS names",
        );
        return names === 'nobody';
      });
      await held.connect();
      const commit = held.query("INSERT INTO held VALUES (2001, 'held')");
      const count = async (url: string) =>
        Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM held'))[0]!.n);
      await until(
        'the standby to show the held commit',
        async () => (await count(secondary)) === 2001,
      );
      expect(await count(primary)).toBe(2000);

      const p = provider(['held'], { unproven: 'continue' });
      const during = (await check(p)).scopes.get('held')!;
      expect(during).toMatchObject({ different: 0, changing: during.total - during.equal });
      expect(during.changing).toBeGreaterThan(0);

      await sql(primary, 'ALTER SYSTEM RESET synchronous_standby_names');
      await sql(primary, 'SELECT pg_reload_conf()');
      await commit;
      const after = (await check(p)).scopes.get('held')!;
      expect(after).toMatchObject({ equal: after.total, different: 0, rowsEqual: 2001 });
    } finally {
      await sql(primary, 'ALTER SYSTEM RESET synchronous_standby_names');
      await sql(primary, 'SELECT pg_reload_conf()');
      await held.end().catch(() => undefined);
    }
  });

  test('a time budget spent before the table was compared: "sampled", never "consistent", and the check asks a person', async () => {
    await sql(
      primary,
      `CREATE TABLE wide AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 50000) g;
     ANALYZE wide;`,
    );
    await replayed();
    // A budget gone before the first chunk: how long chunks take on this machine does not matter.
    const spent = { chunkRows: 1000, timeBudgetSeconds: 0.001 };
    const { scopes, checks } = await check(provider(['wide'], spent));
    const wide = scopes.get('wide')!;
    expect(wide).toMatchObject({ sampled: true, equal: 0, different: 0, changing: 0 });
    expect(wide.total).toBeGreaterThan(40);
    expect(verdictLabel(wide)).toBe('sampled 0 %');
    expect(checks.get('postgres table wide')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(
        'not proven: Retry to compare again, or Skip to switch back on this evidence',
      ),
    });
    const relaxed = await check(provider(['wide'], { ...spent, unproven: 'continue' }));
    expect(relaxed.checks.get('postgres table wide')?.ok).toBe(true);
    expect(relaxed.checks.get('postgres table wide')?.detail).toMatch(/^sampled 0 %: /);
    // With time enough, the same table is wholly compared.
    const whole = (await check(provider(['wide'], { chunkRows: 1000 }))).scopes.get('wide')!;
    expect(verdictLabel(whole)).toBe('consistent');
    expect(whole.rowsEqual).toBe(50000);
  });

  test('a missing table is not compared, and says so', async () => {
    const { scopes, checks } = await check(provider(['no_such_table']));
    expect(scopes.get('no_such_table')?.error).toMatch(/^not compared: .*no_such_table/);
    expect(checks.get('postgres table no_such_table')?.ok).toBe(false);
  });

  /** Change `from` to `to` (same length) in the standby's heap file of `table`, with it stopped. */
  async function corruptStandby(table: string, from: string, to: string): Promise<void> {
    const server = lab.postgres.secondary;
    const [{ path }] = await sql<{ path: string }>(
      server.url,
      'SELECT pg_relation_filepath($1) AS path',
      [table],
    );
    await sql(primary, `VACUUM (FREEZE) ${table}`);
    await sql(primary, 'CHECKPOINT');
    await replayed();
    // A restartpoint writes the replayed pages; the restart replays nothing that touches them again.
    await sql(server.url, 'CHECKPOINT');
    const ctx = { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' };
    await pgStop(ctx, server.dataDir, 'fast');
    const file = join(server.dataDir, path);
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from(from));
    expect(at).toBeGreaterThan(0);
    bytes.write(to, at);
    writeFileSync(file, bytes);
    const info = readLabInfo(lab.dir);
    info.postgres.secondary.pid = await pgStart(ctx, server);
    writeLabInfo(info);
    await until('the standby to stream again', async () => {
      const [r] = await sql<{ s: string | null }>(
        server.url,
        'SELECT (SELECT status FROM pg_stat_wal_receiver) AS s',
      );
      return r?.s === 'streaming';
    });
    await replayed();
  }

  test('a row changed behind replication is found, its chunk named by key range and the row by its key', async () => {
    await corruptStandby('orders', 'order 43210', 'order 4321X');
    // The byte-exact text hash finds it as well as the per-column one, and a transaction left
    // open on the writer meanwhile does not hold the difference back as "changing".
    const open = new pg.Client({ connectionString: primary });
    await open.connect();
    try {
      await open.query("BEGIN; INSERT INTO log_lines VALUES ('open')");
      const text = (await check(provider(['orders'], { chunkRows: 5000, rowHash: 'text' }))).scopes;
      expect(text.get('orders')).toMatchObject({ different: 1, changing: 0 });
      expect(text.get('orders')!.method).toMatch(/^sum\(hashtextextended\(row text\)\)/);
    } finally {
      await open.query('ROLLBACK').catch(() => undefined);
      await open.end();
    }
    const { scopes, checks } = await check(provider(['orders', 'docs'], { chunkRows: 5000 }));
    const orders = scopes.get('orders')!;
    expect(orders.different).toBe(1);
    expect(orders.equal).toBe(orders.total - 1);
    expect(orders.differences).toEqual([
      expect.stringMatching(/^id \d+\.\.\d+ \(blocks \d+–\d+\): id=43210 differs$/),
    ]);
    expect(verdictLabel(orders)).toBe('DIFFERENT');
    expect(checks.get('postgres table orders')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('id=43210 differs'),
    });
    expect(scopes.get('docs')).toMatchObject({ different: 0 });
  });

  // Runs after the row above was changed behind replication: orders still differs at id=43210.
  test('the PostgreSQL 13 plan (each table one whole chunk, no TID Range Scan) finds the same row', async () => {
    const opts = labPostgresOptions(primary, secondary);
    const [settings, ctx] = [consistencySettings(opts), new PgContext(opts)];
    const planner = new pg.Client({ connectionString: primary });
    await planner.connect();
    try {
      const plans = await Promise.all(
        ['orders', 'docs'].map((t) => planTable(planner, t, 130000, settings)),
      );
      expect(plans.map((p) => p.chunks)).toEqual([
        [{ from: 0, to: null, whole: true }],
        [{ from: 0, to: null, whole: true }],
      ]);
      expect(plans[0]!.method).toBe(
        'sum of per-column type hashes over the whole table (PostgreSQL 13)',
      );
      const [orders, docs] = await compareTables(ctx, {
        writer: 'primary',
        plans,
        settings,
        deadline: Date.now() + 60_000,
        progress: () => undefined,
      });
      expect(orders).toMatchObject({ total: 1, equal: 0, different: 1, changing: 0 });
      expect(orders!.differences).toEqual([
        expect.stringMatching(/^id 1\.\.\d+ \(whole table\): id=43210 differs$/),
      ]);
      expect(docs).toMatchObject({ total: 1, equal: 1, different: 0, rowsEqual: 3000 });
      expect(verdictLabel(docs!)).toBe('consistent');
    } finally {
      await planner.end();
      await ctx.close();
    }
  });
});

describe('Redis', () => {
  const { connect, closeAll } = labRedisClients();
  const opened: CacheProvider[] = [];

  function provider(consistency: Partial<RedisConsistencyOptions> = {}): CacheProvider {
    const p = createRedisProvider({
      primaryUrl: lab.redis.primary.url,
      secondaryUrl: lab.redis.secondary.url,
      promoteTimeoutSeconds: 10,
      useFailoverCommand: true,
      log: silentLog,
      consistency,
    });
    opened.push(p);
    return p;
  }

  async function check(p: CacheProvider): Promise<{ scope: ConsistencyScope; ok: boolean }> {
    const { checks, scopes } = await p.consistency({
      writer: 'primary',
      progress: () => undefined,
    });
    return { scope: scopes[0]!, ok: checks.every((c) => c.ok) };
  }

  async function replicated(): Promise<void> {
    const info = async (url: string, f: string) =>
      Number(new RegExp(`^${f}:(\\d+)`, 'm').exec(await connect(url).info('replication'))?.[1]);
    await until(
      'the replica to apply the whole stream',
      async () =>
        (await info(lab.redis.secondary.url, 'slave_repl_offset')) ===
        (await info(lab.redis.primary.url, 'master_repl_offset')),
    );
  }

  /** A write only a replica someone made writable takes: a difference behind replication. */
  async function onReplicaOnly(write: (r: ReturnType<typeof connect>) => Promise<unknown>) {
    const replica = connect(lab.redis.secondary.url);
    await replica.config('SET', 'replica-read-only', 'no');
    try {
      await write(replica);
    } finally {
      await replica.config('SET', 'replica-read-only', 'yes');
    }
  }

  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await closeAll();
  });

  beforeEach(async () => {
    await connect(lab.redis.primary.url).flushall();
    await replicated();
  });

  test('large values are read in pieces, never whole, and a byte changed in the middle of one is found by key', async () => {
    const w = connect(lab.redis.primary.url);
    await w.set('big:string', 'x'.repeat(3 * 1024 * 1024));
    const fields: string[] = [];
    for (let i = 0; i < 20_000; i++) fields.push(`f${i}`, `value ${i}`);
    await w.hset('big:hash', ...fields);
    await w.rpush('big:list', ...fields);
    await w.sadd('big:set', ...fields);
    await w.zadd('big:zset', ...fields.flatMap((f, i) => [i, f]));
    const stream = w.pipeline();
    for (let i = 0; i < 3000; i++) stream.xadd('big:stream', '*', 'n', String(i));
    await stream.exec();
    await replicated();
    await w.config('RESETSTAT');

    const p = provider({ pieceBytes: 64 * 1024 });
    const equal = await check(p);
    expect(equal.ok).toBe(true);
    expect(equal.scope).toMatchObject({ total: 6, equal: 6, different: 0, sampled: false });
    expect(verdictLabel(equal.scope)).toBe('consistent');
    // What the writer served: pieces (GETRANGE, HSCAN, ...), no command that copies a value whole.
    const stats = await w.info('commandstats');
    const calls = (cmd: string) =>
      Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
    expect(calls('getrange')).toBeGreaterThanOrEqual(48);
    expect(calls('hscan')).toBeGreaterThan(1);
    expect(calls('sscan')).toBeGreaterThan(1);
    expect(calls('lrange')).toBeGreaterThan(1);
    expect(calls('zrange')).toBeGreaterThan(1);
    expect(calls('xrange')).toBeGreaterThan(1);
    expect([calls('get'), calls('hgetall'), calls('smembers'), calls('dump')]).toEqual([
      0, 0, 0, 0,
    ]);

    await onReplicaOnly((r) => r.setrange('big:string', 2_000_000, 'y'));
    const changed = await check(p);
    expect(changed.ok).toBe(false);
    expect(changed.scope).toMatchObject({ different: 1, differences: ['big:string'], equal: 5 });
  });

  test('a keyspace larger than the sample is sampled at random across it and says "sampled N %", never "consistent"', async () => {
    const w = connect(lab.redis.primary.url);
    for (let i = 0; i < 5000; i += 500)
      await w.mset(...Array.from({ length: 500 }, (_, j) => [`k:${i + j}`, 'v']).flat());
    await replicated();
    // Every tenth key differs on the replica: a sample of 200 finds some, and two samples find others.
    await onReplicaOnly(async (r) => {
      for (let i = 0; i < 5000; i += 10) await r.set(`k:${i}`, 'stale');
    });

    const p = provider({ sampleKeys: 200 });
    const a = await check(p);
    const b = await check(p);
    expect(a.ok).toBe(false);
    expect(a.scope).toMatchObject({ total: 5000, sampled: true });
    expect(a.scope.equal + a.scope.different).toBe(200);
    expect(a.scope.different).toBeGreaterThan(0);
    expect(a.scope.differences.every((k) => Number(k.slice(2)) % 10 === 0)).toBe(true);
    expect(a.scope.differences).not.toEqual(b.scope.differences);

    await onReplicaOnly(async (r) => {
      for (let i = 0; i < 5000; i += 10) await r.set(`k:${i}`, 'v');
    });
    const clean = await check(p);
    expect(clean.ok).toBe(true);
    expect(verdictLabel(clean.scope)).toBe('sampled 4 %');
  });

  test('keys the writer keeps changing during the check are no false difference', async () => {
    const w = connect(lab.redis.primary.url);
    await w.mset(...Array.from({ length: 50 }, (_, i) => [`hot:${i}`, '0']).flat());
    await w.mset(...Array.from({ length: 50 }, (_, i) => [`cold:${i}`, 'v']).flat());
    await replicated();
    const writer = connect(lab.redis.primary.url);
    let writing = true;
    let writes = 0;
    const load = (async () => {
      while (writing) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => writer.incr(`hot:${i}`)));
        await writer.set(`new:${writes++}`, 'x');
      }
    })();
    try {
      await until('the load to be running', async () => writes > 5);
      const p = provider();
      for (let round = 0; round < 3; round++) {
        const { scope, ok } = await check(p);
        expect(ok).toBe(true);
        expect(scope.different).toBe(0);
        expect(scope.equal + scope.changing).toBe(scope.total);
        expect(scope.equal).toBeGreaterThanOrEqual(50);
      }
    } finally {
      writing = false;
      await load;
    }
  });

  test('a time budget spent before the keys were compared: "sampled", never "consistent"', async () => {
    const w = connect(lab.redis.primary.url);
    await w.mset(...Array.from({ length: 1000 }, (_, j) => [`b:${j}`, 'v']).flat());
    await replicated();
    // A budget gone before the first batch: how fast keys compare on this machine does not matter.
    const spent = await check(provider({ timeBudgetSeconds: 0.001 }));
    expect(spent.ok).toBe(true);
    expect(spent.scope).toMatchObject({ sampled: true, equal: 0, total: 1000 });
    expect(verdictLabel(spent.scope)).toBe('sampled 0 %');
    const whole = await check(provider());
    expect(verdictLabel(whole.scope)).toBe('consistent');
  });
});
