import { createServer, connect, type Socket } from 'node:net';
import pg from 'pg';
import { PreconditionFailed } from '../../src/errors.js';
import type { LabInfo } from '../../src/lab/index.js';
import { lsnDiff } from '../../src/providers/postgres/index.js';
import type { DatabaseProvider, Progress } from '../../src/providers/types.js';
import { getStep } from '../../src/steps/index.js';
import type { StepContext } from '../../src/steps/types.js';
import {
  crashPostgresPrimary,
  holdPostgresReplication,
  labPostgresProvider,
  silentLog,
  sql,
  startLab,
  stopLabs,
  until,
} from '../support/lab.js';

const provider = labPostgresProvider;

const progressLog: string[] = [];
const progress: Progress = (message) => {
  progressLog.push(message);
};

async function createOrders(lab: LabInfo): Promise<void> {
  await sql(
    lab.postgres.primary.url,
    'CREATE TABLE orders (id bigserial PRIMARY KEY, note text NOT NULL)',
  );
}

async function insertOrders(url: string, n: number, note: string): Promise<void> {
  await sql(url, `INSERT INTO orders (note) SELECT $1 FROM generate_series(1, $2)`, [note, n]);
}

async function count(url: string, where = 'true'): Promise<number> {
  return Number(
    (await sql<{ n: string }>(url, `SELECT count(*) AS n FROM orders WHERE ${where}`))[0].n,
  );
}

/**
 * A TCP hop between the standby's WAL receiver and the primary whose primary→standby direction
 * can pass, trickle (8 kB per 10 ms) or hold: replication held back without cutting it.
 */
async function replicationProxy(
  upstreamPort: number,
): Promise<{ port: number; throttle(): void; hold(): void; close(): void }> {
  let mode: 'pass' | 'throttle' | 'hold' = 'pass';
  const sockets = new Set<Socket>();
  const pipes: { queue: Buffer[]; up: Socket; down: Socket }[] = [];
  const server = createServer((down) => {
    const up = connect(upstreamPort, '127.0.0.1');
    const pipe = { queue: [] as Buffer[], up, down };
    pipes.push(pipe);
    for (const s of [up, down]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        up.destroy();
        down.destroy();
      });
    }
    down.pipe(up);
    up.on('data', (chunk: Buffer) => {
      pipe.queue.push(chunk);
      if (pipe.queue.length > 64) up.pause();
    });
  });
  const timer = setInterval(() => {
    for (const p of pipes) {
      let budget = mode === 'pass' ? Infinity : mode === 'throttle' ? 8 * 1024 : 0;
      while (budget > 0 && p.queue.length) {
        const chunk = p.queue.shift()!;
        const part = chunk.subarray(0, Math.min(chunk.length, budget));
        if (part.length < chunk.length) p.queue.unshift(chunk.subarray(part.length));
        p.down.write(part);
        budget -= part.length;
      }
      if (p.queue.length <= 64) p.up.resume();
    }
  }, 10);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    throttle: () => void (mode = 'throttle'),
    hold: () => void (mode = 'hold'),
    close: () => {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Point the standby's WAL receiver at `port` and wait until it streams through it. */
async function routeReplicationThrough(lab: LabInfo, port: number): Promise<void> {
  const url = lab.postgres.secondary.url;
  await sql(url, `ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=${port} user=postgres'`);
  await sql(url, 'SELECT pg_reload_conf()');
  await until(
    'the standby to stream through the proxy',
    async () =>
      (
        await sql(
          url,
          `SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming' AND sender_port = $1`,
          [port],
        )
      ).length === 1,
  );
}

async function replayed(lab: LabInfo, rows: number): Promise<void> {
  await until(
    `the standby to replay ${rows} rows`,
    async () => (await count(lab.postgres.secondary.url)) === rows,
  );
}

afterAll(async () => {
  await stopLabs();
});

/** A lab and its provider, with `rows` orders written on the primary and replayed on the standby. */
async function replicatedLab(rows: number): Promise<{ lab: LabInfo; db: DatabaseProvider }> {
  const lab = await startLab();
  const db = provider(lab.postgres.primary.url, lab.postgres.secondary.url);
  await createOrders(lab);
  await insertOrders(lab.postgres.primary.url, rows, 'replicated');
  await replayed(lab, rows);
  return { lab, db };
}

describe('wrong targets are refused before any change', () => {
  let a: LabInfo;
  let b: LabInfo;
  beforeAll(async () => {
    [a, b] = await Promise.all([startLab(), startLab()]);
  });

  test('a standby of another cluster (different system identifier)', async () => {
    const db = provider(a.postgres.primary.url, b.postgres.secondary.url);
    const readiness = await db.readiness('secondary');
    expect(readiness.status).toBe('blocked');
    expect(readiness.summary).toMatch(/system identifier/);

    const attempt = db.promote({ target: 'secondary', mode: 'planned', progress });
    await expect(attempt).rejects.toBeInstanceOf(PreconditionFailed);
    await expect(attempt).rejects.toMatchObject({ code: 'wrong-target' });
    // Nothing was touched: B's standby is still in recovery and A's primary still takes writes.
    expect((await sql(b.postgres.secondary.url, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(
      true,
    );
    expect(await db.isWriter('primary')).toBe(true);
    await db.close();
  });

  test('a "standby" that is not in recovery while the primary also accepts writes', async () => {
    await sql(b.postgres.secondary.url, 'SELECT pg_promote(true, 30)');
    const db = provider(b.postgres.primary.url, b.postgres.secondary.url);
    const readiness = await db.readiness('secondary');
    expect(readiness.status).toBe('blocked');
    expect(readiness.summary).toMatch(/two writers/);
    await expect(
      db.promote({ target: 'secondary', mode: 'unplanned', progress }),
    ).rejects.toMatchObject({ code: 'wrong-target' });
    // The primary was not fenced by the refused promotion.
    await expectStillWritable(b.postgres.primary.url);
    await db.close();
  });

  async function expectStillWritable(url: string): Promise<void> {
    await sql(url, 'CREATE TABLE still_writable (id int)');
    await sql(url, 'INSERT INTO still_writable VALUES (1)');
  }

  test('readiness of a healthy pair: standby streaming, planned, zero lag once idle', async () => {
    const db = provider(a.postgres.primary.url, a.postgres.secondary.url);
    await createOrders(a);
    await insertOrders(a.postgres.primary.url, 10, 'before');
    await replayed(a, 10);
    const r = await db.readiness('secondary');
    expect(r.status).toBe('ready');
    expect(r.primaryReachable).toBe(true);
    expect(r.planFacts).toMatchObject({ targetRole: 'standby', primaryReachable: true });
    expect(r.details.receiverStatus).toBe('streaming');
    expect(r.details.systemId).toBe(r.details.otherSystemId);
    expect(r.expectedLoss).toBeUndefined();
    expect(await db.isStreamingStandby('secondary')).toBe(true);
    expect(await db.isWriter('secondary')).toBe(false);
    await db.close();
  });

  test('consistency compares LSNs and table contents; resync of a streaming standby is a no-op', async () => {
    const db = provider(a.postgres.primary.url, a.postgres.secondary.url, {
      consistencyTables: ['orders'],
    });
    const { checks, scopes } = await db.consistency({ writer: 'primary', progress });
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['postgres same cluster', true],
      ["postgres secondary replayed primary's WAL", true],
      ['postgres table orders', true],
    ]);
    expect(checks[2].detail).toBe('consistent: 1/1 chunk equal, 10 rows');
    expect(scopes).toEqual([
      expect.objectContaining({ name: 'orders', equal: 1, total: 1, rowsEqual: 10 }),
    ]);
    const resync = await db.resync({ standby: 'secondary', progress });
    expect(resync.noop).toBe(true);
    await db.close();
  });

  test('planned failover while a writer inserts continuously: every acknowledged insert survives', async () => {
    const db = provider(a.postgres.primary.url, a.postgres.secondary.url);
    const acknowledged: number[] = [];
    let stop = false;
    let refusals = 0;
    // The application: inserts one row at a time, reconnecting when its session is ended.
    const writer = (async () => {
      while (!stop) {
        const client = new pg.Client({
          connectionString: a.postgres.primary.url,
          connectionTimeoutMillis: 2000,
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          while (!stop) {
            const { rows } = await client.query<{ id: string }>(
              `INSERT INTO orders (note) VALUES ('during') RETURNING id`,
            );
            acknowledged.push(Number(rows[0].id));
          }
        } catch {
          refusals += 1;
          await new Promise((r) => setTimeout(r, 20));
        } finally {
          await client.end().catch(() => undefined);
        }
      }
    })();
    await until('the writer to get going', async () => acknowledged.length >= 100);
    const result = await db.promote({ target: 'secondary', mode: 'planned', progress });
    const ackedAtPromotion = acknowledged.length;
    await until('the writer to be refused by the fenced primary', async () => refusals >= 2);
    stop = true;
    await writer;

    expect(result.noop).toBe(false);
    expect(result.mode).toBe('planned');
    expect(result.rpo).toMatchObject({ component: 'database', bytes: 0, seconds: 0 });
    expect(
      lsnDiff(String(result.evidence.replayLsn), String(result.evidence.finalLsn)),
    ).toBeGreaterThanOrEqual(0);
    // Nothing was acknowledged after the fence; everything acknowledged is on the new primary.
    expect(acknowledged.length).toBe(ackedAtPromotion);
    const newPrimary = a.postgres.secondary.url;
    const present = await sql<{ n: string }>(
      newPrimary,
      'SELECT count(*) AS n FROM orders WHERE id = ANY($1::bigint[])',
      [acknowledged],
    );
    expect(Number(present[0].n)).toBe(acknowledged.length);
    expect(await count(newPrimary)).toBe(await count(a.postgres.primary.url));
    expect(await count(newPrimary, `note = 'during'`)).toBe(acknowledged.length);

    // The new primary takes writes, the old one refuses them.
    await insertOrders(newPrimary, 1, 'after');
    await expect(insertOrders(a.postgres.primary.url, 1, 'split-brain')).rejects.toThrow(
      /read-only/,
    );
    expect(await db.isWriter('secondary')).toBe(true);
    expect(await db.isWriter('primary')).toBe(false);
    const checks = await db.verifyWriter('secondary');
    expect(checks.map((c) => c.ok)).toEqual([true, true]);
    const oldSide = await db.verifyWriter('primary');
    expect(oldSide.every((c) => c.ok)).toBe(false);
    expect(progressLog.some((m) => m.startsWith('fencing primary'))).toBe(true);
    await db.close();
  });

  test('promoting again is a no-op that says so', async () => {
    const db = provider(a.postgres.primary.url, a.postgres.secondary.url);
    const before = await count(a.postgres.secondary.url);
    const again = await db.promote({ target: 'secondary', mode: 'planned', progress });
    expect(again.noop).toBe(true);
    expect(again.summary).toMatch(/already promoted/);
    expect(await count(a.postgres.secondary.url)).toBe(before);
    const r = await db.readiness('secondary');
    expect(r.status).toBe('ready');
    expect(r.summary).toMatch(/already the writer/);
    // The fenced old primary is not a standby yet; without a resync command that is said, not guessed.
    expect(await db.isStreamingStandby('primary')).toBe(false);
    await expect(db.resync({ standby: 'primary', progress })).rejects.toThrow(
      /postgres\.resync\.command is not configured/,
    );
    await db.close();
  });

  describe('with the primary unreachable, the system identifier decides', () => {
    // Nothing listens on port 1: the primary region is down.
    const DEAD = 'postgresql://postgres@127.0.0.1:1/postgres';
    const systemId = async (url: string) =>
      (
        await sql<{ id: string }>(
          url,
          'SELECT system_identifier::text AS id FROM pg_control_system()',
        )
      )[0].id;

    test('an unrelated writer and nothing known: readiness blocks and promotion refuses, saying what to set', async () => {
      // b's secondary was promoted above: a writer on timeline 2, but of another cluster than the config means.
      const db = provider(DEAD, b.postgres.secondary.url);
      const r = await db.readiness('secondary');
      expect(r.status).toBe('blocked');
      expect(r.summary).toMatch(
        /no system identifier is configured or remembered.*set components\.postgres\.systemIdentifier/,
      );
      const attempt = db.promote({ target: 'secondary', mode: 'unplanned', progress });
      await expect(attempt).rejects.toMatchObject({ code: 'wrong-target' });
      await expect(attempt).rejects.toThrow(/already promoted/);
      // The failover step does not take "accepts writes" for "already promoted" either: it runs, and promote refuses.
      const ctx: StepContext = {
        opId: 'wrong-target',
        kind: 'failover',
        mode: 'unplanned',
        providers: { database: db },
        log: silentLog,
        targets: { rtoMinutes: 30, rpoMinutes: 5 },
      };
      expect(await getStep('promote-database').check(ctx)).toMatchObject({ done: false });
      // The step passes the refusal on with the roles it read (for the split-tier card).
      await expect(getStep('promote-database').run(ctx, () => undefined)).rejects.toMatchObject({
        error: { code: 'wrong-target' },
      });
      await db.close();
    });

    test('a configured identifier: a promoted standby of this cluster is "already promoted", another cluster or a never-promoted writer is not', async () => {
      const id = await systemId(a.postgres.primary.url);
      const wrong = provider(DEAD, b.postgres.secondary.url, { systemIdentifier: id });
      expect((await wrong.readiness('secondary')).summary).toContain(
        `but components.postgres.systemIdentifier is ${id}`,
      );
      await expect(
        wrong.promote({ target: 'secondary', mode: 'unplanned', progress }),
      ).rejects.toMatchObject({ code: 'wrong-target' });

      const right = provider(DEAD, a.postgres.secondary.url, { systemIdentifier: id });
      const r = await right.readiness('secondary');
      expect(r.status).toBe('ready');
      expect(r.summary).toMatch(/already the writer \(not in recovery, timeline 2\)/);
      const again = await right.promote({ target: 'secondary', mode: 'unplanned', progress });
      expect(again).toMatchObject({
        noop: true,
        summary: expect.stringMatching(/already promoted/),
      });

      // a's old primary has the right identifier but never left timeline 1: not a promoted standby.
      const original = provider(DEAD, a.postgres.primary.url, { systemIdentifier: id });
      expect((await original.readiness('secondary')).summary).toMatch(
        /timeline 1: it was never promoted from a standby/,
      );
      await expect(
        original.promote({ target: 'secondary', mode: 'unplanned', progress }),
      ).rejects.toMatchObject({ code: 'wrong-target' });
      for (const p of [wrong, right, original]) await p.close();
    });

    test('with both sides seen and agreeing, a configured identifier that differs still refuses', async () => {
      const db = provider(a.postgres.primary.url, a.postgres.secondary.url, {
        systemIdentifier: await systemId(b.postgres.primary.url),
      });
      const r = await db.readiness('secondary');
      expect(r.status).toBe('blocked');
      expect(r.summary).toMatch(
        /components\.postgres\.systemIdentifier is \d+: it is not a server of this cluster/,
      );
      await db.close();
    });
  });
});

test('planned failover with a fence command that shuts the primary down: final LSN read from the standby', async () => {
  const lab = await startLab();
  const pgCtl = `${lab.postgres.bindir}/pg_ctl stop -m fast -w -D "${lab.postgres.primary.dataDir}"`;
  const command = process.getuid?.() === 0 ? `runuser -u ${lab.user} -- ${pgCtl}` : pgCtl;
  const db = provider(lab.postgres.primary.url, lab.postgres.secondary.url, {
    fence: { method: 'command', command },
  });
  await createOrders(lab);
  await insertOrders(lab.postgres.primary.url, 300, 'before');

  const result = await db.promote({ target: 'secondary', mode: 'planned', progress });

  expect(result.rpo.bytes).toBe(0);
  expect(result.evidence.fenceMethod).toBe('command');
  expect(await count(lab.postgres.secondary.url)).toBe(300);
  await expect(sql(lab.postgres.primary.url, 'SELECT 1')).rejects.toThrow();
  const [{ lsn }] = await sql<{ lsn: string }>(
    lab.postgres.secondary.url,
    'SELECT pg_last_wal_replay_lsn()::text AS lsn',
  );
  expect(lsnDiff(lsn, String(result.evidence.finalLsn))).toBeGreaterThanOrEqual(0);
  await insertOrders(lab.postgres.secondary.url, 1, 'after');
  await db.close();
});

test('planned failover with WAL replay paused on the standby: refused before fencing, then done once resumed', async () => {
  const lab = await startLab();
  const db = provider(lab.postgres.primary.url, lab.postgres.secondary.url);
  await createOrders(lab);
  await sql(lab.postgres.secondary.url, 'SELECT pg_wal_replay_pause()');
  await insertOrders(lab.postgres.primary.url, 10, 'waiting');
  const readiness = await db.readiness('secondary');
  expect(readiness.status).toBe('warning');
  expect(readiness.warnings?.join(' ')).toMatch(/replay is paused/);

  await expect(
    db.promote({ target: 'secondary', mode: 'planned', progress }),
  ).rejects.toMatchObject({ code: 'precondition-failed', retryable: true });
  expect(await db.isWriter('primary')).toBe(true);

  await sql(lab.postgres.secondary.url, 'SELECT pg_wal_replay_resume()');
  const result = await db.promote({ target: 'secondary', mode: 'planned', progress });
  expect(result.rpo.bytes).toBe(0);
  expect(await count(lab.postgres.secondary.url)).toBe(10);
  await db.close();
});

test('planned catch-up that does not finish in time: the step fails retryably, the primary stays fenced, a retry completes', async () => {
  const lab = await startLab();
  const db = provider(lab.postgres.primary.url, lab.postgres.secondary.url, {
    catchUpTimeoutSeconds: 1,
  });
  await createOrders(lab);
  // A standby that applies commits an hour late: streaming, but never caught up.
  await sql(lab.postgres.secondary.url, `ALTER SYSTEM SET recovery_min_apply_delay = '1h'`);
  await sql(lab.postgres.secondary.url, 'SELECT pg_reload_conf()');
  await insertOrders(lab.postgres.primary.url, 10, 'delayed');

  const attempt = db.promote({ target: 'secondary', mode: 'planned', progress });
  await expect(attempt).rejects.toMatchObject({ code: 'timeout', retryable: true });
  await expect(attempt).rejects.toThrow(/stays fenced read-only/);
  expect(await db.isWriter('primary')).toBe(false);
  expect(await db.isWriter('secondary')).toBe(false);
  await expect(insertOrders(lab.postgres.primary.url, 1, 'x')).rejects.toThrow(/read-only/);

  await sql(lab.postgres.secondary.url, 'ALTER SYSTEM RESET recovery_min_apply_delay');
  await sql(lab.postgres.secondary.url, 'SELECT pg_reload_conf()');
  const retry = await db.promote({ target: 'secondary', mode: 'planned', progress });
  expect(retry.rpo.bytes).toBe(0);
  expect(await count(lab.postgres.secondary.url)).toBe(10);
  await db.close();
});

test('fencing waits until every ended session has exited: one that will not fails the step retryably, fenced and unpromoted; a retry completes once it is gone', async () => {
  const lab = await startLab();
  const db = provider(lab.postgres.primary.url, lab.postgres.secondary.url, {
    sessionExitTimeoutMs: 1500,
  });
  await createOrders(lab);
  // An application session in the middle of a write transaction, its process stopped (stuck in I/O, say).
  const stuck = new pg.Client({ connectionString: lab.postgres.primary.url });
  stuck.on('error', () => undefined);
  await stuck.connect();
  await stuck.query('BEGIN');
  await stuck.query(`INSERT INTO orders (note) VALUES ('open transaction')`);
  const pid = Number(
    (await stuck.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid,
  );
  process.kill(pid, 'SIGSTOP');
  try {
    const attempt = db.promote({ target: 'secondary', mode: 'planned', progress });
    await expect(attempt).rejects.toMatchObject({ code: 'timeout', retryable: true });
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `1 client session did not exit within 2 s of pg_terminate_backend \\(pid ${pid}\\).*primary stays fenced read-only`,
      ),
    );
    expect(await db.isWriter('secondary')).toBe(false);
    expect(await db.isWriter('primary')).toBe(false);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await until(
    'the ended session to exit',
    async () =>
      (await sql(lab.postgres.primary.url, 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]))
        .length === 0,
  );
  const retry = await db.promote({ target: 'secondary', mode: 'planned', progress });
  expect(retry.rpo.bytes).toBe(0);
  expect(await count(lab.postgres.secondary.url)).toBe(0);
  await stuck.end().catch(() => undefined);
  await db.close();
});

describe('unplanned failover', () => {
  test('primary still reachable but replication broken: fenced first, RPO is the measured WAL gap', async () => {
    const { lab, db } = await replicatedLab(20);
    await holdPostgresReplication(lab);
    const [{ lsn: received }] = await sql<{ lsn: string }>(
      lab.postgres.secondary.url,
      'SELECT pg_last_wal_receive_lsn()::text AS lsn',
    );
    await insertOrders(lab.postgres.primary.url, 7, 'lost');
    // A planned (zero-loss) failover is impossible now: refused before the application is fenced.
    await expect(
      db.promote({ target: 'secondary', mode: 'planned', progress }),
    ).rejects.toMatchObject({ code: 'precondition-failed', retryable: true });
    expect(await db.isWriter('primary')).toBe(true);
    const [{ lsn: primaryAfterWrites }] = await sql<{ lsn: string }>(
      lab.postgres.primary.url,
      'SELECT pg_current_wal_lsn()::text AS lsn',
    );

    const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });

    expect(result.mode).toBe('unplanned');
    expect(result.evidence).toMatchObject({ fenced: true, receivedLsn: received });
    const gap = lsnDiff(String(result.evidence.finalLsn), received);
    expect(result.rpo.bytes).toBe(gap);
    expect(gap).toBeGreaterThanOrEqual(lsnDiff(primaryAfterWrites, received));
    expect(gap).toBeGreaterThan(0);
    // The loss is real and exactly the rows written after the hold.
    expect(await count(lab.postgres.secondary.url)).toBe(20);
    expect(await count(lab.postgres.primary.url, `note = 'lost'`)).toBe(7);
    await expect(insertOrders(lab.postgres.primary.url, 1, 'x')).rejects.toThrow(/read-only/);
    await insertOrders(lab.postgres.secondary.url, 1, 'after');
    await db.close();
  });

  test('primary crashed with replication held back: expected loss shown first, fixed while approvers wait, promotion succeeds, RPO recorded', async () => {
    const { lab, db } = await replicatedLab(15);
    // The bot's periodic readiness saw the standby streaming before the trouble began.
    expect((await db.readiness('secondary')).details.receiverStatus).toBe('streaming');
    await holdPostgresReplication(lab);
    const [standby] = await sql<{ lsn: string; at: Date }>(
      lab.postgres.secondary.url,
      'SELECT pg_last_wal_receive_lsn()::text AS lsn, pg_last_xact_replay_timestamp() AS at',
    );
    const lostAt = Date.now();
    await insertOrders(lab.postgres.primary.url, 5, 'lost');
    const [{ lsn: primaryEnd }] = await sql<{ lsn: string }>(
      lab.postgres.primary.url,
      'SELECT pg_current_wal_lsn()::text AS lsn',
    );
    await crashPostgresPrimary(lab);

    const readiness = await db.readiness('secondary');
    expect(readiness.status).toBe('warning');
    expect(readiness.primaryReachable).toBe(false);
    expect(readiness.planFacts).toMatchObject({
      primaryReachable: false,
      receivedLsn: standby.lsn,
    });
    expect(readiness.expectedLoss?.description).toContain(standby.lsn);
    expect(readiness.expectedLoss?.description).toContain(standby.at.toISOString());
    // Real loss (the primary wrote past what the standby has), but nothing the standby saw measures it: unknown, never 0.
    expect(lsnDiff(primaryEnd, standby.lsn)).toBeGreaterThan(0);
    expect(readiness.expectedLoss?.bytes).toBeNull();
    expect(readiness.expectedLoss?.description).toMatch(
      /WAL lost in bytes unknown: none was missing at \S+; what the primary wrote after cannot be measured/,
    );
    // The window runs from the last moment nothing was missing to when contact was lost (by this
    // check at the latest): here the readiness before the hold, which found the standby holding all
    // of the primary's flushed WAL, later than the last replayed commit. The lost rows came after it.
    const lostBy = Date.parse(String(readiness.details.contactLostBy));
    expect(lostBy).toBeGreaterThanOrEqual(Date.parse(String(readiness.details.lastContactAt)));
    const inSyncAt = Date.parse(String(readiness.details.inSyncAt));
    expect(inSyncAt).toBeGreaterThanOrEqual(standby.at.getTime());
    expect(inSyncAt).toBeLessThanOrEqual(lostAt);
    expect(readiness.details.lossWindowFrom).toBe(readiness.details.inSyncAt);
    expect(readiness.expectedLoss?.seconds).toBe(Math.round((lostBy - inSyncAt) / 100) / 10);
    expect(readiness.expectedLoss?.description).toContain(
      `0 B behind the last primary position seen, so no transaction committed before ${readiness.details.inSyncAt} is lost`,
    );
    expect(readiness.warnings?.join(' ')).toMatch(/cannot be fenced/);

    // Approvers take their time; the loss they approved does not grow meanwhile (0.5 s is five
    // times the 0.1 s the loss is rounded to).
    await new Promise((r) => setTimeout(r, 500));
    const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(result.noop).toBe(false);
    expect(result.evidence).toMatchObject({
      fenced: false,
      receivedLsn: standby.lsn,
      lastReplayAt: standby.at.toISOString(),
      contactLostBy: readiness.details.contactLostBy,
    });
    expect(result.summary).toMatch(/NOT fenced/);
    expect(result.rpo.bytes).toBeNull();
    expect(result.rpo.description).toContain(standby.lsn);
    expect(result.rpo.seconds).toBe(readiness.expectedLoss?.seconds);
    expect(await count(lab.postgres.secondary.url)).toBe(15);
    expect(await db.isWriter('secondary')).toBe(true);
    expect((await db.verifyWriter('secondary')).every((c) => c.ok)).toBe(true);
    await db.close();
  });

  test('an idle primary crashed after a readiness round saw the standby in sync: the window starts at that reading, not at the long-ago last commit', async () => {
    const { lab, db } = await replicatedLab(3);
    const [standby] = await sql<{ at: Date }>(
      lab.postgres.secondary.url,
      'SELECT pg_last_xact_replay_timestamp() AS at',
    );
    // Idle for a while: the last replayed commit ages, nothing is written.
    await new Promise((r) => setTimeout(r, 1000));
    // A readiness round reads the primary's flushed WAL while both answer.
    const before = await db.readiness('secondary');
    expect(before.primaryReachable).toBe(true);
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
    await crashPostgresPrimary(lab);

    const readiness = await db.readiness('secondary');
    const loss = readiness.expectedLoss!;
    const inSyncAt = Date.parse(String(readiness.details.inSyncAt));
    const lostBy = Date.parse(String(readiness.details.contactLostBy));
    expect(inSyncAt - standby.at.getTime()).toBeGreaterThanOrEqual(1000);
    expect(loss.seconds).toBe(Math.round((lostBy - inSyncAt) / 100) / 10);
    // Old reading: at least the 1 s idle since the last commit were counted as lost writes.
    expect(loss.seconds!).toBeLessThan((lostBy - standby.at.getTime()) / 1000 - 0.6);
    expect(loss.bytes).toBeNull();
    expect(loss.description).toContain(
      `0 B behind the last primary position seen, so no transaction committed before ${readiness.details.inSyncAt} is lost`,
    );
    expect(loss.description).toMatch(
      /transactions the primary committed in the at most [\d.]+ s from \S+ to \S+, if any, are lost/,
    );
    expect(loss.description).toContain(
      `WAL lost in bytes unknown: none was missing at ${readiness.details.inSyncAt}`,
    );

    const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(result.rpo.seconds).toBe(loss.seconds);
    expect(result.evidence).toMatchObject({
      inSyncAt: readiness.details.inSyncAt,
      lossWindowFrom: readiness.details.inSyncAt,
    });
    expect(await count(lab.postgres.secondary.url)).toBe(3);
    await db.close();
  });

  test('a readiness round that saw the primary ahead of the standby: that gap is a certain loss, reported as a lower bound', async () => {
    const { lab, db } = await replicatedLab(10);
    await holdPostgresReplication(lab);
    const [{ lsn: received }] = await sql<{ lsn: string }>(
      lab.postgres.secondary.url,
      'SELECT pg_last_wal_receive_lsn()::text AS lsn',
    );
    await insertOrders(lab.postgres.primary.url, 50, 'lost');
    // The bot reads both sides while replication is cut: the primary has flushed WAL the standby lacks.
    const before = await db.readiness('secondary');
    expect(before.primaryReachable).toBe(true);
    const [{ lsn: primaryEnd }] = await sql<{ lsn: string }>(
      lab.postgres.primary.url,
      'SELECT pg_current_wal_lsn()::text AS lsn',
    );
    await crashPostgresPrimary(lab);

    const readiness = await db.readiness('secondary');
    const loss = readiness.expectedLoss!;
    expect(loss.bytes).toBeGreaterThan(0);
    expect(loss.bytes).toBeLessThanOrEqual(lsnDiff(primaryEnd, received));
    expect(loss.description).toMatch(
      /at least \S+ \S+ of WAL lost: the primary had flushed WAL up to \S+ when this bot read it at \S+, the standby received up to \S+ \(a lower bound/,
    );
    // Nothing says the standby was in sync after its last commit: the window starts there.
    expect(readiness.details.inSyncAt).toBeNull();
    expect(readiness.details.lossWindowFrom).toBe(readiness.details.lastReplayAt);
    await db.close();
  });

  test('replication cut, then the primary kept writing for a while before it crashed: the window reaches the last reading that saw it ahead, not only the lost contact', async () => {
    const { lab, db } = await replicatedLab(10);
    // The link between the regions goes first; the bot's next readiness round sees the standby without contact.
    await holdPostgresReplication(lab);
    const first = await db.readiness('secondary');
    expect(first.primaryReachable).toBe(true);
    // The primary region keeps taking writes for a while, and the bot keeps reading it.
    await insertOrders(lab.postgres.primary.url, 5, 'lost');
    await new Promise((r) => setTimeout(r, 1000));
    await insertOrders(lab.postgres.primary.url, 5, 'lost');
    const second = await db.readiness('secondary');
    expect(second.primaryReachable).toBe(true);
    await crashPostgresPrimary(lab);

    const readiness = await db.readiness('secondary');
    const loss = readiness.expectedLoss!;
    const seenAt = Date.parse(String(readiness.details.primarySeenAt));
    const lastReplay = Date.parse(String(readiness.details.lastReplayAt));
    const lostBy = Date.parse(String(readiness.details.contactLostBy));
    // The last reading of the primary, with WAL the standby lacks, came after the contact was lost.
    expect(seenAt - lostBy).toBeGreaterThanOrEqual(800);
    expect(readiness.details.lossWindowFrom).toBe(readiness.details.lastReplayAt);
    expect(readiness.details.lossWindowUntil).toBe(readiness.details.primarySeenAt);
    // Commits of those seconds are lost: they count, instead of the window ending at the lost contact.
    expect(loss.seconds).toBe(Math.round((seenAt - lastReplay) / 100) / 10);
    expect(loss.description).toContain(
      `transactions the primary committed in the at least ${loss.seconds} s from ${String(readiness.details.lastReplayAt)} to ${String(readiness.details.primarySeenAt)}, if any, are lost: this bot read the primary then, after the standby's last contact, with WAL the standby does not have`,
    );
    const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });
    expect(result.rpo.seconds).toBe(loss.seconds);
    expect(await count(lab.postgres.secondary.url)).toBe(10);
    await db.close();
  });

  test('primary crashed while the standby was behind what it had been told: RPO bytes is a lower bound, never above the real loss', async () => {
    const lab = await startLab();
    const db = provider(lab.postgres.primary.url, lab.postgres.secondary.url);
    const proxy = await replicationProxy(lab.postgres.primary.port);
    try {
      await createOrders(lab);
      await routeReplicationThrough(lab, proxy.port);
      // Replication held back to a trickle: the primary's messages report its WAL end, far past the data they carry.
      proxy.throttle();
      await insertOrders(lab.postgres.primary.url, 20_000, 'x'.repeat(200));
      await until('the standby to be told of WAL it has not received (1 MB or more)', async () => {
        const [w] = await sql<{ behind: string | null }>(
          lab.postgres.secondary.url,
          'SELECT pg_wal_lsn_diff(latest_end_lsn, flushed_lsn)::text AS behind FROM pg_stat_wal_receiver',
        );
        return Number(w?.behind ?? 0) >= 1024 * 1024;
      });
      proxy.hold();
      const readiness = await db.readiness('secondary');
      expect(readiness.details.receiverStatus).toBe('streaming');
      const [{ lsn: primaryEnd }] = await sql<{ lsn: string }>(
        lab.postgres.primary.url,
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      await crashPostgresPrimary(lab);
      proxy.close();
      await until(
        'the standby to see its WAL receiver go',
        async () =>
          (
            await sql(
              lab.postgres.secondary.url,
              `SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'`,
            )
          ).length === 0,
      );
      const [{ lsn: received }] = await sql<{ lsn: string }>(
        lab.postgres.secondary.url,
        'SELECT pg_last_wal_receive_lsn()::text AS lsn',
      );

      const result = await db.promote({ target: 'secondary', mode: 'unplanned', progress });
      expect(result.rpo.bytes).toBeGreaterThanOrEqual(1024 * 1024);
      expect(result.rpo.bytes).toBeLessThanOrEqual(lsnDiff(primaryEnd, received));
      expect(result.rpo.description).toMatch(/at least \S+ \S+ of WAL lost: .*\(a lower bound/);
      expect(result.evidence).toMatchObject({ lostBytesIsLowerBound: true, receivedLsn: received });
    } finally {
      proxy.close();
      await db.close();
    }
  });
});
