/**
 * The bot's network to the secondary region's PostgreSQL cut mid-step (issue 21's fault), on a
 * real lab: the bot reaches the standby through a TCP proxy the test controls, which lets
 * pg_promote through and drops the connection before its reply (then refuses connections for a
 * while). The server promoted; the bot cannot know. The step must re-check on its own once the
 * network is back, find the standby promoted and record it as already done, never promote twice.
 *
 * Unlike test/engine/dropped-connection.test.ts and the lost-reply tests (the bot's own state
 * Redis losing a reply), this cuts the connection a step acts through, on the data tier.
 */
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import type { StepOutcome, TimelineEntry } from '../../src/domain/types.js';
import type { LabInfo } from '../../src/lab/index.js';
import { labEngine, APPROVER, OPERATOR, type LabEngine } from '../failback/support.js';
import { sql, startLab, stopLabs, until } from '../support/lab.js';
import { startLossyProxy, type LossyProxy } from '../support/lossy-proxy.js';

/** The start of the provider's promote query; rights checks name pg_promote( too, never this. */
const PROMOTE = 'SELECT pg_promote(true';

let lab: LabInfo;
let proxy: LossyProxy;
let h: LabEngine;

beforeAll(async () => {
  lab = await startLab();
  proxy = await startLossyProxy({ port: lab.postgres.secondary.port });
  const base = loadConfig({ path: lab.configPath });
  const viaProxy = new URL(base.components.postgres!.secondary.url!);
  viaProxy.port = String(proxy.port);
  h = await labEngine(lab, 'pg-connection-cut', [], { secondaryPgUrl: viaProxy.toString() });
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders (id bigserial PRIMARY KEY, note text NOT NULL)',
  );
}, 120_000);

afterAll(async () => {
  await h?.close();
  await proxy?.close();
  await stopLabs();
});

/** The timeline a writer writes, from the WAL file name of its current position. */
async function timelineOf(url: string): Promise<number> {
  const [r] = await sql<{ tli: string }>(
    url,
    'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli',
  );
  return parseInt(r!.tli, 16);
}

/** The application: one insert at a time on the primary, reconnecting when refused. */
function startWriter(url: string) {
  const acknowledged: number[] = [];
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        while (!stop) {
          const { rows } = await client.query<{ id: string }>(
            `INSERT INTO orders (note) VALUES ('during') RETURNING id`,
          );
          acknowledged.push(Number(rows[0]!.id));
        }
      } catch {
        // Fenced (read-only) or its session ended: the application retries.
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  })();
  return {
    acknowledged,
    async stop() {
      stop = true;
      await done;
    },
  };
}

test('pg_promote ran but its reply was lost: the step re-checks on its own, records "already done", promoted once, no acknowledged write lost', async () => {
  const primary = lab.postgres.primary.url;
  const standby = lab.postgres.secondary.url;
  const timelineBefore = await timelineOf(primary);
  const writer = startWriter(primary);
  await until('the writer to get going', async () => writer.acknowledged.length >= 50);

  const entries: TimelineEntry[] = [];
  h.engine.subscribe((n) => entries.push(...n.entries));
  const promotes = proxy.count(PROMOTE);
  // The reply to pg_promote is lost; the bot then cannot reach the standby for 3 s.
  const cut = proxy.loseReplyTo(PROMOTE, { outageMs: 3000 });
  const req = await h.engine.request({
    kind: 'failover',
    mode: 'planned',
    requester: OPERATOR,
    reason: 'network to the standby cut mid-promote',
  });
  if (!req.ok) throw new Error(req.message);
  let view = await h.engine.get(req.op.id);
  await until('the approval card', async () => {
    view = await h.engine.get(req.op.id);
    return view?.phase === 'awaitingApproval';
  });
  const approved = await h.engine.approve({
    opId: req.op.id,
    userId: APPROVER,
    planHash: view!.planHash!,
  });
  if (!approved.ok) throw new Error(approved.message);

  await cut;
  let end = await h.engine.get(req.op.id);
  await until(
    'the failover to finish or stop',
    async () => {
      end = await h.engine.get(req.op.id);
      return ['completed', 'paused', 'failed'].includes(end?.phase ?? '');
    },
    120_000,
  );
  await writer.stop();
  expect([end?.phase, end?.lastError?.message]).toEqual(['completed', undefined]);

  // The step: started once, re-checked after the lost connection, recorded as already done.
  const ofPromote = entries.filter((e) => 'stepId' in e && e.stepId === 'promote-database');
  expect(ofPromote.filter((e) => e.type !== 'StepProgress').map((e) => e.type)).toEqual([
    'StepStarted',
    'StepSucceeded',
  ]);
  expect(
    ofPromote.some(
      (e) => e.type === 'StepProgress' && /connection lost.*re-checking/i.test(e.message),
    ),
  ).toBe(true);
  const succeeded = ofPromote.find((e) => e.type === 'StepSucceeded') as { outcome: StepOutcome };
  expect(succeeded.outcome.result).toBe('already-done');

  // Promoted once: one pg_promote reached the server, the standby is one timeline on.
  expect(promotes()).toBe(1);
  expect((await sql(standby, 'SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(false);
  expect(await timelineOf(standby)).toBe(timelineBefore + 1);

  // Every acknowledged write is on the new writer, which takes writes; the old one refuses them.
  const [present] = await sql<{ n: string }>(
    standby,
    'SELECT count(*) AS n FROM orders WHERE id = ANY($1::bigint[])',
    [writer.acknowledged],
  );
  expect(Number(present!.n)).toBe(writer.acknowledged.length);
  await sql(standby, `INSERT INTO orders (note) VALUES ('after')`);
  await expect(sql(primary, `INSERT INTO orders (note) VALUES ('split')`)).rejects.toThrow(
    /read-only/,
  );

  // The re-check kept the fence record the lost reply would have left, from the fence read
  // before pg_promote: the failback calls the old primary's WAL after the split background
  // records (no pg_walinspect here to count commits), not a possible loss.
  const finalLsn = ofPromote
    .map((e) => (e.type === 'StepProgress' ? e.data?.finalLsn : undefined))
    .find((lsn) => lsn !== undefined);
  expect(succeeded.outcome.evidence.fenceRecord).toBe(
    `fence record kept for primary: fenced at ${String(finalLsn)} (read before the promotion)`,
  );
  await sql(primary, 'CHECKPOINT');
  const failback = await h.providers.database!.readiness('primary');
  expect(failback.planFacts).toMatchObject({ targetRole: 'stale-writer', lostTransactions: null });
  expect(failback.summary).toContain(
    `it was fenced at LSN ${String(finalLsn)} before the split (planned failover at `,
  );
  expect(failback.summary).toMatch(/are background records, no committed transaction is lost/);
  expect(failback.warnings ?? []).not.toContainEqual(
    expect.stringMatching(/primary has data secondary never received/),
  );
  expect(failback.expectedLoss).toBeUndefined();
}, 240_000);
