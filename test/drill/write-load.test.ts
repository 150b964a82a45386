/**
 * The drill write load on real servers: acknowledged writes that never reached the standby are
 * counted as lost after an unplanned promotion — RPO measured from writes, not assumed.
 */
import { createWriteLoadProvider, DRILL_LOAD_TABLE } from '../../src/providers/write-load.js';
import type { WriteLoadProvider } from '../../src/providers/types.js';
import type { LabInfo } from '../../src/lab/index.js';
import {
  crashPostgresPrimary,
  holdPostgresReplication,
  silentLog,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';

let lab: LabInfo;
let load: WriteLoadProvider | undefined;
beforeAll(async () => {
  lab = await startLab();
}, 120_000);
afterAll(async () => {
  await load?.close();
  await stopLabs();
});

const acked = (l: WriteLoadProvider) => l.sample()?.database?.acknowledged ?? 0;

test('writes acknowledged by a primary that is lost before they replicate are reported missing on the new writer', async () => {
  load = createWriteLoadProvider({
    postgres: { primaryUrl: lab.postgres.primary.url, secondaryUrl: lab.postgres.secondary.url },
    intervalMs: 10,
    log: silentLog,
  });
  const progress = () => undefined;
  const l = load;
  await l.start({ runId: 'LOSS-1', progress });
  expect(l.running('LOSS-1')).toBe(true);
  await until('writes on the primary', async () => acked(l) >= 10);

  await holdPostgresReplication(lab);
  const held = acked(l);
  await until('writes the standby never receives', async () => acked(l) >= held + 15);
  await crashPostgresPrimary(lab);
  await sql(lab.postgres.secondary.url, 'SELECT pg_promote()');
  await until(
    'writes on the promoted secondary',
    async () => (l.sample()?.database?.onSecondary ?? 0) >= 5,
  );

  const res = await l.stop({ runId: 'LOSS-1', progress });
  const ev = res.evidence.database as {
    writer: string;
    acknowledged: number;
    rowsPresent: number;
    lost: number;
  };
  const [{ n }] = await sql<{ n: number }>(
    lab.postgres.secondary.url,
    `SELECT count(*)::int AS n FROM ${DRILL_LOAD_TABLE} WHERE run_id = 'LOSS-1'`,
  );
  expect(ev.writer).toBe('secondary');
  expect(ev.rowsPresent).toBe(n);
  // Every write acknowledged after replication was cut is gone; the ones before may or may not be.
  expect(ev.lost).toBeGreaterThanOrEqual(15);
  expect(ev.lost).toBeLessThanOrEqual(ev.acknowledged - held + 10);
  const [rpo] = res.rpo;
  expect(rpo).toMatchObject({ component: 'database', source: 'write-load', bytes: null });
  expect(rpo.seconds!).toBeGreaterThan(0);
  expect(rpo.description).toMatch(
    new RegExp(`^${ev.lost} of ${ev.acknowledged} acknowledged rows missing on the secondary`),
  );
  expect(l.running('LOSS-1')).toBe(false);
  await expect(l.stop({ runId: 'LOSS-1', progress })).rejects.toThrow(
    /not running in this process .* RPO cannot be measured/,
  );
}, 90_000);
