/**
 * The chunk comparison of the PostgreSQL consistency check: every chunk of every configured table
 * in one queue, in random order, with `concurrency` queries at a time on each side. Each chunk is
 * compared at one point of the WAL (live-compare.ts): the writer's digest, its LSN, the standby's
 * digest once it has replayed that LSN. Chunks are pipelined: while some are read on the writer,
 * others are read on the standby, so neither side waits for the other. A chunk written during its
 * comparison is split in halves (down to 16 blocks, which get `attempts` rounds), so what stays
 * unproven under a steady write load is a few blocks, not a table.
 *
 * Random order makes the time budget honest: when it runs out, the chunks compared so far are a
 * uniform random sample of every table, and the rest is reported as not compared ("sampled N %").
 */
import type pg from 'pg';
import type { ConsistencyScope } from '../../domain/consistency.js';
import type { RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import { compareLive, type LiveSides } from '../live-compare.js';
import type { Progress } from '../types.js';
import {
  chunkDigest,
  chunkLabel,
  describeDifference,
  prepareSession,
  rowsOf,
  splitChunk,
  writerDigest,
  type Chunk,
  type TablePlan,
} from './chunks.js';
import { NAME, other, type PgConsistencyOptions, type PgContext } from './context.js';

interface Item {
  plan: TablePlan;
  chunk: Chunk;
}

interface Tally {
  total: number;
  equal: number;
  rowsEqual: number;
  different: { chunk: Chunk; rows: number }[];
  changing: Chunk[];
  error?: string;
}

/** Longest a chunk query may run (a chunk is bounded, but a busy server is slow). */
const CHUNK_QUERY_TIMEOUT_MS = 300_000;
/** Differing chunks described by key range and rows, per table. */
const NAMED = 5;

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** A hot standby may cancel a query that conflicts with replay (SQLSTATE 40001): read it again. */
async function standbyDigest(c: pg.Client, item: Item): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chunkDigest(c, item.plan, item.chunk);
    } catch (err) {
      if ((err as { code?: string }).code !== '40001' || attempt >= 3) throw err;
    }
  }
}

/**
 * Up to `size` connections to one side, each lent to one query at a time: the check's
 * concurrency on that side, whichever chunks the queries are for. A connection whose query failed
 * is closed and opened again for the next, so one lost connection costs one chunk.
 */
class Connections {
  private readonly free: pg.Client[] = [];
  private readonly wakers: (() => void)[] = [];
  private opened = 0;

  constructor(
    private readonly ctx: PgContext,
    private readonly side: RegionRole,
    private readonly size: number,
  ) {}

  async use<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = await this.take();
    try {
      const out = await fn(c);
      this.free.push(c);
      return out;
    } catch (err) {
      this.opened--;
      void this.ctx.release(c);
      throw this.ctx.wrap(this.side, 'comparing chunks', err);
    } finally {
      this.wakers.shift()?.();
    }
  }

  private async take(): Promise<pg.Client> {
    for (;;) {
      const c = this.free.pop();
      if (c) return c;
      if (this.opened < this.size) {
        this.opened++;
        try {
          const fresh = await this.ctx.connect(
            this.side,
            'comparing chunks',
            CHUNK_QUERY_TIMEOUT_MS,
          );
          await prepareSession(fresh);
          return fresh;
        } catch (err) {
          this.opened--;
          this.wakers.shift()?.();
          throw this.ctx.wrap(this.side, 'comparing chunks', err);
        }
      }
      await new Promise<void>((wake) => this.wakers.push(wake));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.free.splice(0).map((c) => this.ctx.release(c)));
  }
}

/** "16/B374D848" as a number, to compare positions without asking the server. */
const lsnValue = (lsn: string): bigint => {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

interface ReplayWaiter {
  lsn: string;
  at: bigint;
  deadline: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Waits for the standby to replay writer positions, for every chunk in flight at once: one
 * connection of its own polls the replay position and releases each waiter it has passed, so
 * no chunk query waits behind a poll and no poll waits behind a chunk query.
 */
class ReplayWatch {
  private readonly waiters: ReplayWaiter[] = [];
  private client: pg.Client | null = null;
  private polling = false;

  constructor(
    private readonly ctx: PgContext,
    private readonly standby: RegionRole,
  ) {}

  wait(lsn: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + this.ctx.opts.catchUpTimeoutSeconds * 1000;
      this.waiters.push({ lsn, at: lsnValue(lsn), deadline, resolve, reject });
      if (!this.polling) void this.poll();
    });
  }

  private async poll(): Promise<void> {
    this.polling = true;
    // Replay is usually milliseconds behind: poll fast while it moves, back off while it does not.
    for (let pause = 1; this.waiters.length > 0;) {
      let replayed: string | null;
      try {
        this.client ??= await this.ctx.connect(this.standby, 'waiting for replay');
        const { rows } = await this.client.query<{ at: string | null }>(
          'SELECT pg_last_wal_replay_lsn()::text AS at',
        );
        replayed = rows[0]!.at;
      } catch (err) {
        if (this.client) void this.ctx.release(this.client);
        this.client = null;
        const e = this.ctx.wrap(this.standby, 'waiting for replay', err);
        for (const w of this.waiters.splice(0)) w.reject(e);
        break;
      }
      const at = replayed === null ? -1n : lsnValue(replayed);
      const before = this.waiters.length;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.at <= at) w.resolve();
        else if (Date.now() > w.deadline)
          w.reject(
            new ProviderError(
              NAME,
              `${this.ctx.where(this.standby)} did not replay the writer's WAL up to ${w.lsn} within ${this.ctx.opts.catchUpTimeoutSeconds} s (at ${replayed ?? 'nothing'}): check its replication, then Retry`,
              { code: 'timeout', retryable: true },
            ),
          );
        else continue;
        this.waiters.splice(i, 1);
      }
      if (this.waiters.length === 0) break;
      pause = this.waiters.length < before ? 1 : Math.min(pause * 2, 16);
      await new Promise((r) => setTimeout(r, pause));
    }
    this.polling = false;
  }

  async close(): Promise<void> {
    if (this.client) await this.ctx.release(this.client);
    this.client = null;
  }
}

/**
 * Longest a suspect waits for the transactions in progress on the writer. A commit between its
 * WAL and its visibility takes microseconds unless its backend is descheduled or waits for a
 * synchronous standby; after this, the open ones are asked of the standby instead.
 */
const IN_FLIGHT_WAIT_MS = 250;

/** Whether the standby has replayed the commit of `xid` (false for one it has not seen at all). */
async function committedOn(s: pg.Client, xid: string): Promise<boolean> {
  try {
    const { rows } = await s.query<{ st: string | null }>('SELECT pg_xact_status($1::xid8) AS st', [
      xid,
    ]);
    return rows[0]!.st === 'committed';
  } catch (err) {
    // "transaction ID is in the future": it has written no WAL the standby replayed.
    if ((err as { code?: string }).code === '22023') return false;
    throw err;
  }
}

/** Both sides' connections and the replay watch, shared by every chunk in flight. */
interface Sides {
  writer: Connections;
  standby: Connections;
  replay: ReplayWatch;
}

/**
 * Waits for the transactions in progress on the writer now to end. True once they have, or the
 * open ones are still running there and on the standby; false while one is a commit the standby
 * has replayed and the writer's readers do not see yet.
 */
async function waitInFlight(sides: Sides): Promise<boolean> {
  // Every transaction in progress now has an ID below a new one, and a snapshot taken after that
  // new one ended lists each of them still in progress (PostgreSQL 13+ functions).
  const mark = await sides.writer.use(
    async (w) =>
      (await w.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x,
  );
  const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
  for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
    const { open, lsn } = await sides.writer.use(
      async (w) =>
        (
          await w.query<{ open: string[]; lsn: string }>(
            `SELECT coalesce(array_agg(x::text), '{}') AS open, pg_current_wal_lsn()::text AS lsn
               FROM pg_snapshot_xip(pg_current_snapshot()) x WHERE x < $1::xid8`,
            [mark],
          )
        ).rows[0]!,
    );
    if (open.length === 0) return true;
    if (Date.now() > deadline) {
      // Long transactions, or commits held back: the standby, once it has all the writer wrote, tells.
      await sides.replay.wait(lsn);
      for (const xid of open) if (await sides.standby.use((s) => committedOn(s, xid))) return false;
      return true;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

function chunkSides(sides: Sides): LiveSides<Item, string> {
  return {
    async readWriter(items) {
      const digests: string[] = [];
      let position = '0/0';
      for (const it of items) {
        const r = await sides.writer.use((w) => writerDigest(w, it.plan, it.chunk));
        digests.push(r.digest);
        position = r.lsn;
      }
      return { digests, position };
    },
    waitForStandby: (lsn) => sides.replay.wait(lsn),
    waitForInFlight: () => waitInFlight(sides),
    async readStandby(items) {
      const digests: string[] = [];
      for (const it of items) digests.push(await sides.standby.use((s) => standbyDigest(s, it)));
      return digests;
    },
  };
}

interface Run {
  queue: Item[];
  tallies: Map<string, Tally>;
  settings: PgConsistencyOptions;
  deadline: number;
  /** Called after each chunk, for progress. */
  done: () => void;
}

/** Settle one chunk into its table's tally; a chunk still changing is split while it can be. */
async function compareOne(sides: LiveSides<Item, string>, item: Item, run: Run): Promise<void> {
  const tally = run.tallies.get(item.plan.table)!;
  // A chunk that can still be split gets one round: changed once, it is halved rather than
  // re-read whole, so a hot spot is narrowed at the cost of about one more read of the chunk.
  const halves = splitChunk(item.chunk, item.plan.blocks);
  const r = await compareLive([item], sides, halves ? 1 : run.settings.attempts);
  if (r.equal.length) {
    tally.equal++;
    tally.rowsEqual += rowsOf(r.equal[0]!.digest);
  } else if (r.different.length) {
    tally.different.push({ chunk: item.chunk, rows: rowsOf(r.different[0]!.writer) });
  } else {
    if (halves && Date.now() < run.deadline) {
      tally.total += 1;
      // Next for this worker: the halves are compared while the writes that moved them are fresh.
      run.queue.push(...halves.map((chunk) => ({ plan: item.plan, chunk })));
    } else tally.changing.push(item.chunk);
  }
}

/** Takes chunks from the queue until it is empty or the budget is spent. */
async function runner(sides: LiveSides<Item, string>, run: Run): Promise<void> {
  for (let item = run.queue.pop(); item; item = run.queue.pop()) {
    if (Date.now() > run.deadline) {
      run.queue.push(item);
      return;
    }
    const tally = run.tallies.get(item.plan.table)!;
    if (tally.error !== undefined) continue;
    try {
      await compareOne(sides, item, run);
    } catch (err) {
      // The rest of this table is not compared; the other tables go on.
      tally.error = `not compared: ${(err as Error).message}`;
      continue;
    }
    run.done();
  }
}

/** Key ranges and rows of the first differing chunks of each table, read with fresh connections. */
async function describe(
  ctx: PgContext,
  writer: RegionRole,
  plans: readonly TablePlan[],
  tallies: Map<string, Tally>,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const wanted = plans.filter((p) => (tallies.get(p.table)?.different.length ?? 0) > 0);
  if (wanted.length === 0) return out;
  await ctx.withClient(writer, 'naming the differing rows', (w) =>
    ctx.withClient(other(writer), 'naming the differing rows', async (s) => {
      await Promise.all([prepareSession(w), prepareSession(s)]);
      for (const plan of wanted) {
        const names: string[] = [];
        for (const d of tallies.get(plan.table)!.different.slice(0, NAMED))
          names.push(
            await describeDifference(w, s, plan, d.chunk, d.rows).catch(
              () => `${chunkLabel(d.chunk)} (${d.rows} rows on the writer)`,
            ),
          );
        out.set(plan.table, names);
      }
    }),
  );
  return out;
}

function scopeOf(plan: TablePlan, t: Tally, sampled: boolean, named: string[]): ConsistencyScope {
  return {
    component: 'database',
    name: plan.table,
    method: plan.method,
    unit: 'chunk',
    total: t.total,
    equal: t.equal,
    different: t.different.length,
    changing: t.changing.length,
    sampled,
    rowsEqual: t.rowsEqual,
    differences: named.length ? named : t.different.map((d) => chunkLabel(d.chunk)),
    changingRanges: t.changing.map(chunkLabel),
    ...(t.error !== undefined ? { error: t.error } : {}),
  };
}

/** Compare every chunk of `plans` within the budget; one scope per table. */
export async function compareTables(
  ctx: PgContext,
  opts: {
    writer: RegionRole;
    plans: readonly TablePlan[];
    settings: PgConsistencyOptions;
    deadline: number;
    progress: Progress;
  },
): Promise<ConsistencyScope[]> {
  const { writer, plans, settings, progress } = opts;
  const tallies = new Map<string, Tally>(
    plans.map((p) => [
      p.table,
      { total: p.chunks.length, equal: 0, rowsEqual: 0, different: [], changing: [] },
    ]),
  );
  const queue = shuffle(plans.flatMap((plan) => plan.chunks.map((chunk) => ({ plan, chunk }))));
  const total = queue.length;
  let compared = 0;
  let reported = Date.now();
  const done = () => {
    compared++;
    if (Date.now() - reported < 2000) return;
    reported = Date.now();
    progress(`compared ${compared} of ${total}+ chunks`, { compared, chunks: total });
  };
  const run: Run = { queue, tallies, settings, deadline: opts.deadline, done };
  const standby = other(writer);
  const sides: Sides = {
    writer: new Connections(ctx, writer, settings.concurrency),
    standby: new Connections(ctx, standby, settings.concurrency),
    replay: new ReplayWatch(ctx, standby),
  };
  // Twice as many chunks in flight as queries per side: while some are read on one side, as
  // many are read on the other, and a chunk waiting for replay holds no connection.
  const runners = Math.max(1, Math.min(2 * settings.concurrency, total));
  try {
    const live = chunkSides(sides);
    await Promise.all(Array.from({ length: runners }, () => runner(live, run)));
  } finally {
    await Promise.all([sides.writer.close(), sides.standby.close(), sides.replay.close()]);
  }
  const left = new Set(queue.map((i) => i.plan.table));
  const named = await describe(ctx, writer, plans, tallies);
  return plans.map((p) =>
    scopeOf(p, tallies.get(p.table)!, left.has(p.table), named.get(p.table) ?? []),
  );
}
