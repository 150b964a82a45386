/**
 * A failback whose consistency check finds the resynced primary at the writer's LSN but with
 * different rows (a page changed on disk behind replication: bit rot, a restore gone wrong) stops
 * at verify-consistency, before writes or DNS move back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  labUser,
  pgStart,
  pgStop,
  readLabInfo,
  writeLabInfo,
  type LabInfo,
} from '../../src/lab/index.js';
import { sql, startLab, stopLabs, until } from '../support/lab.js';
import {
  insertRows,
  labEngine,
  OPERATOR,
  range,
  requestAndApprove,
  standbyState,
  type LabEngine,
} from './support.js';

let lab: LabInfo;
let h: LabEngine;

beforeAll(async () => {
  lab = await startLab({ cloud: true });
  h = await labEngine(lab, 'failback-mismatch', ['orders']);
}, 120_000);

afterAll(async () => {
  await h?.close();
  await stopLabs();
});

/** Change the first `from` in the standby's heap file of `table` to `to` (same length), with the server stopped. */
async function corruptStandbyRow(table: string, from: string, to: string): Promise<void> {
  const server = lab.postgres.primary;
  const [{ path }] = await sql<{ path: string }>(
    server.url,
    'SELECT pg_relation_filepath($1) AS path',
    [table],
  );
  // The page as replayed is on disk, and the restart replays nothing that touches it again.
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
  info.postgres.primary.pid = await pgStart(ctx, server);
  writeLabInfo(info);
}

test('equal LSNs but a row that differs: the failback stops at verify-consistency and DNS stays on the secondary', async () => {
  const primary = lab.postgres.primary.url;
  const secondary = lab.postgres.secondary.url;
  await sql(primary, 'CREATE TABLE orders (id int PRIMARY KEY, side text NOT NULL)');
  await insertRows(primary, range(1, 20), 'primary');
  const failover = await requestAndApprove(h.engine, 'failover');
  expect(failover.after.phase).toBe('completed');
  await insertRows(secondary, range(21, 40), 'secondary');

  // The old primary resynced as a standby; the writer's rows frozen and checkpointed, so no later WAL rewrites their page.
  await h.providers.database!.resync({ standby: 'primary', progress: () => undefined });
  await sql(secondary, 'VACUUM (FREEZE) orders');
  await sql(secondary, 'CHECKPOINT');
  await until(
    'the primary to replay the checkpoint',
    async () => (await standbyState(primary, secondary)).lagBytes === 0,
  );
  await corruptStandbyRow('orders', 'secondary', 'SECONDARY');
  await until('the primary to stream again at lag 0', async () => {
    const s = await standbyState(primary, secondary);
    return s.receiver === 'streaming' && s.lagBytes === 0;
  });
  expect(
    (
      await sql<{ n: string }>(primary, `SELECT count(*) AS n FROM orders WHERE side = 'SECONDARY'`)
    )[0].n,
  ).toBe('1');

  const stopped = await requestAndApprove(h.engine, 'failback', { until: 'paused' });
  const view = stopped.after;
  expect(view.currentSteps).toEqual(['verify-consistency']);
  expect(view.lastError).toMatchObject({ code: 'verification-failed' });
  const step = view.steps.find((s) => s.id === 'verify-consistency');
  const checks = step?.checks ?? [];
  expect(checks.find((c) => c.name === "postgres primary replayed secondary's WAL")).toMatchObject({
    ok: true,
    detail: expect.stringContaining('LSNs equal'),
  });
  // The one chunk of this small table differs; the row whose bytes changed is named by its key.
  const differs =
    /^DIFFERENT: 0\/1 chunk equal, 0 rows, 1 different — different: id 1\.\.40 \(blocks 0–end\): id=(2\d|3\d|40) differs$/;
  expect(checks.find((c) => c.name === 'postgres table orders')).toMatchObject({
    ok: false,
    detail: expect.stringMatching(differs),
  });
  expect(view.lastError?.message).toMatch(/postgres table orders \(DIFFERENT: .* differs\)/);
  // What was proven stays on the failed step, for the card's consistency table.
  expect(step?.consistency).toEqual([
    expect.objectContaining({ component: 'database', name: 'orders', different: 1, equal: 0 }),
    expect.objectContaining({ component: 'cache', name: 'keyspace', different: 0 }),
  ]);
  // Nothing after the check happened: the secondary still takes writes and users still go there.
  expect((await sql(primary, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(true);
  expect((await sql(secondary, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(false);
  expect(await h.providers.dns!.currentTarget()).toBe('secondary');
  await h.engine.abort({ opId: view.id, userId: OPERATOR, reason: 'test over' });
});
