/**
 * The PostgreSQL half of the failback's consistency check on a real lab pair: tables compared
 * chunk by chunk, no false difference while the writer keeps taking writes to the same table, a
 * row changed behind replication found and named by its key, and a check that ran out of time
 * saying "sampled", never "consistent".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsistencyScope } from '../../src/domain/consistency.js';
import { verdictLabel } from '../../src/domain/consistency.js';
import {
  labUser,
  pgStart,
  pgStop,
  readLabInfo,
  writeLabInfo,
  type LabInfo,
} from '../../src/lab/index.js';
import type { PgConsistencyOptions } from '../../src/providers/postgres/context.js';
import type { CheckResult } from '../../src/domain/types.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import { labPostgresProvider, sql, startLab, stopLabs, until } from '../support/lab.js';

let lab: LabInfo;
let primary: string;
let secondary: string;
const opened: DatabaseProvider[] = [];

function provider(tables: string[], consistency: Partial<PgConsistencyOptions> = {}) {
  const p = labPostgresProvider(primary, secondary, { consistencyTables: tables, consistency });
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
  const [{ lsn }] = await sql<{ lsn: string }>(primary, 'SELECT pg_current_wal_lsn()::text AS lsn');
  await until(
    'the standby to replay',
    async () =>
      (
        await sql<{ ok: boolean }>(secondary, 'SELECT pg_last_wal_replay_lsn() >= $1 AS ok', [lsn])
      )[0]!.ok,
  );
}

beforeAll(async () => {
  lab = await startLab();
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
  await stopLabs();
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
  // The byte-exact text hash finds it as well as the per-column one.
  const text = (await check(provider(['orders'], { chunkRows: 5000, rowHash: 'text' }))).scopes;
  expect(text.get('orders')).toMatchObject({ different: 1 });
  expect(text.get('orders')!.method).toMatch(/^sum\(hashtextextended\(row text\)\)/);
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
