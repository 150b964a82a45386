/**
 * The drill's write load: a small writer that keeps inserting rows into `dr_drill_load` on
 * whichever PostgreSQL side accepts writes and INCR-ing a Redis key on whichever side is master,
 * counting the writes the server acknowledged. At the end the acknowledged writes are compared
 * with what is present on the final writer, so a drill's RPO is measured, not assumed.
 *
 * The writer lives in the bot process: it cannot survive a restart of the bot, and `stop()` says
 * so instead of inventing numbers.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ComponentReadiness, Evidence, RegionRole, RpoMeasurement } from '../domain/types.js';
import { PreconditionFailed } from '../errors.js';
import { fencedSql, obeyRoleFence, type PgFence as Fence } from './postgres/role-fence.js';
import type { ActionResult, Progress, WriteLoadProvider, WriteLoadSample } from './types.js';

export const DRILL_LOAD_TABLE = 'dr_drill_load';
/** The load's sessions: the role fence ends them with the application's (postgres/fence.ts). */
export const DRILL_LOAD_APPLICATION = 'dr-bot drill load';

interface WriteLoadOptions {
  /** `fence`: the configured PostgreSQL fence, which the load obeys like the application. */
  postgres?: { primaryUrl: string; secondaryUrl: string; fence?: Fence };
  redis?: { primaryUrl: string; secondaryUrl: string };
  /** Pause between two writes of one component. */
  intervalMs?: number;
  log: Logger;
}

const SIDES: readonly RegionRole[] = ['primary', 'secondary'];

/** One acknowledged write: its sequence number, when and where it was acknowledged. */
interface Ack {
  seq: number;
  at: number;
  side: RegionRole;
}

interface ComponentLoad {
  acked: Ack[];
  failed: number;
  /** The side the last acknowledged write went to. */
  writer: RegionRole | null;
  lastError?: string;
}

/** One writer loop per component; `write` throws when the side does not take the write. */
interface Writer {
  component: 'database' | 'cache';
  write(side: RegionRole, seq: number): Promise<void>;
  close(): Promise<void>;
}

function newLoad(): ComponentLoad {
  return { acked: [], failed: 0, writer: null };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class PostgresWriter implements Writer {
  readonly component = 'database' as const;
  private clients = new Map<RegionRole, pg.Client>();

  constructor(
    private readonly urls: Record<RegionRole, string>,
    private readonly runId: string,
    private readonly fence: Fence,
  ) {}

  private async client(side: RegionRole): Promise<pg.Client> {
    const existing = this.clients.get(side);
    if (existing) return existing;
    const c = new pg.Client({
      connectionString: this.urls[side],
      connectionTimeoutMillis: 2000,
      query_timeout: 3000,
      application_name: DRILL_LOAD_APPLICATION,
    });
    c.on('error', () => this.clients.delete(side));
    await c.connect();
    await obeyRoleFence(c, this.fence);
    this.clients.set(side, c);
    return c;
  }

  async write(side: RegionRole, seq: number): Promise<void> {
    try {
      const c = await this.client(side);
      await c.query(`INSERT INTO ${DRILL_LOAD_TABLE} (run_id, seq, side) VALUES ($1, $2, $3)`, [
        this.runId,
        seq,
        side,
      ]);
    } catch (err) {
      // A fenced or terminated session is gone for good: the next write opens a new one.
      await this.drop(side);
      throw err;
    }
  }

  private async drop(side: RegionRole): Promise<void> {
    const c = this.clients.get(side);
    this.clients.delete(side);
    await c?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(SIDES.map((s) => this.drop(s)));
  }
}

class RedisWriter implements Writer {
  readonly component = 'cache' as const;
  private clients = new Map<RegionRole, Redis>();

  constructor(
    private readonly urls: Record<RegionRole, string>,
    private readonly key: string,
  ) {}

  private client(side: RegionRole): Redis {
    let c = this.clients.get(side);
    if (!c) {
      // No retries: a write either reaches the server now or counts as failed (never replayed later).
      c = new Redis(this.urls[side], {
        enableOfflineQueue: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 2000,
        commandTimeout: 3000,
        lazyConnect: true,
      });
      c.on('error', () => undefined);
      this.clients.set(side, c);
    }
    return c;
  }

  async write(side: RegionRole): Promise<void> {
    await this.client(side).incr(this.key);
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

interface Run {
  runId: string;
  startedAt: number;
  loads: Record<'database' | 'cache', ComponentLoad>;
  writers: Writer[];
  stopping: boolean;
  loops: Promise<void>[];
}

/** What the load's functions work with; one per provider instance. */
interface WriteLoadContext {
  intervalMs: number;
  log: Logger;
  pgUrls: Record<RegionRole, string> | undefined;
  pgFence: Fence;
  redisUrls: Record<RegionRole, string> | undefined;
  /** The load running in this process; it does not survive a restart of the bot. */
  run: Run | null;
}

const redisKey = (runId: string) => `${DRILL_LOAD_TABLE}:${runId}`;

async function pgQuery<T extends pg.QueryResultRow>(
  ctx: WriteLoadContext,
  side: RegionRole,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({
    connectionString: ctx.pgUrls![side],
    connectionTimeoutMillis: 3000,
    query_timeout: 10_000,
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function pgWriter(ctx: WriteLoadContext): Promise<RegionRole | null> {
  for (const side of SIDES) {
    const rows = await pgQuery<{ r: boolean; fenced: boolean }>(
      ctx,
      side,
      `SELECT pg_is_in_recovery() AS r, ${fencedSql(ctx.pgFence)} AS fenced`,
    ).catch(() => null);
    if (rows && !rows[0].r && !rows[0].fenced) return side;
  }
  return null;
}

async function redisWriter(ctx: WriteLoadContext): Promise<RegionRole | null> {
  for (const side of SIDES) {
    const c = new Redis(ctx.redisUrls![side], {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const role = (await c.call('ROLE')) as unknown[];
      if (role[0] === 'master') return side;
    } catch {
      // Unreachable: not the writer.
    } finally {
      c.disconnect();
    }
  }
  return null;
}

/** Write, on failure try the other side next; one write in flight per component. */
async function loop(ctx: WriteLoadContext, r: Run, writer: Writer): Promise<void> {
  const load = r.loads[writer.component];
  let seq = 0;
  let side: RegionRole = 'primary';
  while (!r.stopping) {
    seq += 1;
    try {
      await writer.write(side, seq);
      load.acked.push({ seq, at: Date.now(), side });
      load.writer = side;
    } catch (err) {
      load.failed += 1;
      load.lastError = message(err);
      side = side === 'primary' ? 'secondary' : 'primary';
    }
    await new Promise((resolve) => setTimeout(resolve, ctx.intervalMs));
  }
}

function sampleOf(ctx: WriteLoadContext, r: Run): WriteLoadSample {
  const part = (l: ComponentLoad) => ({
    acknowledged: l.acked.length,
    failed: l.failed,
    writer: l.writer,
    onPrimary: l.acked.filter((a) => a.side === 'primary').length,
    onSecondary: l.acked.filter((a) => a.side === 'secondary').length,
  });
  return {
    runId: r.runId,
    startedAt: r.startedAt,
    ...(ctx.pgUrls ? { database: part(r.loads.database) } : {}),
    ...(ctx.redisUrls ? { cache: part(r.loads.cache) } : {}),
  };
}

/** Acknowledged rows missing on the final writer; seconds: the span of the lost writes up to the last ack. */
async function measureDatabase(
  ctx: WriteLoadContext,
  r: Run,
): Promise<{ rpo: RpoMeasurement; evidence: Evidence }> {
  const load = r.loads.database;
  const writer = await pgWriter(ctx);
  if (!writer)
    throw new PreconditionFailed(
      'no PostgreSQL side accepts writes, so the drill load cannot be counted: check which side is the writer and retry',
    );
  const rows = await pgQuery<{ seq: number }>(
    ctx,
    writer,
    `SELECT seq FROM ${DRILL_LOAD_TABLE} WHERE run_id = $1`,
    [r.runId],
  );
  const present = new Set(rows.map((x) => Number(x.seq)));
  const lost = load.acked.filter((a) => !present.has(a.seq));
  return {
    rpo: lossOf(
      'database',
      lost,
      load.acked,
      `${lost.length} of ${load.acked.length} acknowledged rows missing on the ${writer}`,
    ),
    evidence: {
      table: DRILL_LOAD_TABLE,
      writer,
      acknowledged: load.acked.length,
      failedAttempts: load.failed,
      rowsPresent: present.size,
      lost: lost.length,
    },
  };
}

async function measureCache(
  ctx: WriteLoadContext,
  r: Run,
): Promise<{ rpo: RpoMeasurement; evidence: Evidence }> {
  const load = r.loads.cache;
  const writer = await redisWriter(ctx);
  if (!writer)
    throw new PreconditionFailed(
      'no Redis side is master, so the drill load cannot be counted: check the Redis roles and retry',
    );
  const c = new Redis(ctx.redisUrls![writer], {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
  });
  c.on('error', () => undefined);
  let value: number;
  try {
    await c.connect();
    value = Number((await c.get(redisKey(r.runId))) ?? '0');
    await c.del(redisKey(r.runId));
  } finally {
    c.disconnect();
  }
  // A counter cannot say which increments are gone; the latest ones are the ones a switch loses.
  const lostCount = Math.max(0, load.acked.length - value);
  const lost = load.acked.slice(load.acked.length - lostCount);
  return {
    rpo: lossOf(
      'cache',
      lost,
      load.acked,
      `counter ${value} on the ${writer} for ${load.acked.length} acknowledged INCRs`,
    ),
    evidence: {
      key: redisKey(r.runId),
      writer,
      acknowledged: load.acked.length,
      failedAttempts: load.failed,
      counter: value,
      lost: lostCount,
    },
  };
}

async function start(
  ctx: WriteLoadContext,
  { runId, progress }: { runId: string; progress: Progress },
): Promise<ActionResult> {
  const { pgUrls, redisUrls, intervalMs, log, run } = ctx;
  if (run && !run.stopping) {
    if (run.runId === runId)
      return { noop: true, summary: 'the write load is already running', evidence: { runId } };
    throw new PreconditionFailed(
      `a drill write load for ${run.runId} is still running in this process: stop it first`,
    );
  }
  const writers: Writer[] = [];
  if (pgUrls) {
    const side = await pgWriter(ctx);
    if (!side)
      throw new PreconditionFailed(
        'no PostgreSQL side accepts writes: the drill load needs a writer to start on',
      );
    await pgQuery(
      ctx,
      side,
      `CREATE TABLE IF NOT EXISTS ${DRILL_LOAD_TABLE} (run_id text NOT NULL, seq integer NOT NULL, side text NOT NULL, at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run_id, seq))`,
    );
    writers.push(new PostgresWriter(pgUrls, runId, ctx.pgFence));
  }
  if (redisUrls) writers.push(new RedisWriter(redisUrls, redisKey(runId)));
  const r: Run = {
    runId,
    startedAt: Date.now(),
    loads: { database: newLoad(), cache: newLoad() },
    writers,
    stopping: false,
    loops: [],
  };
  r.loops = writers.map((w) => loop(ctx, r, w));
  ctx.run = r;
  progress('write load started', { components: writers.map((w) => w.component).join(', ') });
  log.info({ runId, components: writers.map((w) => w.component) }, 'drill write load started');
  return {
    noop: false,
    summary: `writing to ${writers.map((w) => (w.component === 'database' ? DRILL_LOAD_TABLE : `Redis key ${redisKey(runId)}`)).join(' and ')} every ${intervalMs} ms`,
    evidence: {
      runId,
      intervalMs,
      table: pgUrls ? DRILL_LOAD_TABLE : null,
      redisKey: redisUrls ? redisKey(runId) : null,
    },
  };
}

async function stop(
  ctx: WriteLoadContext,
  { runId, progress }: { runId: string; progress: Progress },
): Promise<ActionResult & { rpo: RpoMeasurement[]; sample: WriteLoadSample }> {
  const { pgUrls, redisUrls, log, run } = ctx;
  if (!run || run.runId !== runId) {
    throw new PreconditionFailed(
      `the write load of ${runId} is not running in this process (the bot restarted during the drill?): its acknowledged writes are unknown, so RPO cannot be measured from it. Skip this step to finish the drill without the measurement.`,
    );
  }
  const r = run;
  r.stopping = true;
  await Promise.all(r.loops);
  await Promise.all(r.writers.map((w) => w.close()));
  progress('write load stopped; counting what is present');
  const results = [];
  if (pgUrls) results.push(await measureDatabase(ctx, r));
  if (redisUrls) results.push(await measureCache(ctx, r));
  ctx.run = null;
  const evidence: Evidence = { runId, durationMs: Date.now() - r.startedAt };
  for (const res of results) evidence[res.rpo.component] = res.evidence;
  const summary = results.map((res) => `${res.rpo.component}: ${res.rpo.description}`).join('; ');
  log.info({ runId, rpo: results.map((x) => x.rpo) }, 'drill write load stopped');
  return {
    noop: false,
    summary,
    evidence,
    rpo: results.map((x) => x.rpo),
    sample: sampleOf(ctx, r),
  };
}

async function close(ctx: WriteLoadContext): Promise<void> {
  if (ctx.run) {
    ctx.run.stopping = true;
    await Promise.all(ctx.run.loops);
    await Promise.all(ctx.run.writers.map((w) => w.close()));
    ctx.run = null;
  }
}

export function createWriteLoadProvider(opts: WriteLoadOptions): WriteLoadProvider {
  const ctx: WriteLoadContext = {
    intervalMs: opts.intervalMs ?? 50,
    log: opts.log.child({ provider: 'write-load' }),
    pgUrls: opts.postgres
      ? { primary: opts.postgres.primaryUrl, secondary: opts.postgres.secondaryUrl }
      : undefined,
    pgFence: opts.postgres?.fence ?? { method: 'read-only' },
    redisUrls: opts.redis
      ? { primary: opts.redis.primaryUrl, secondary: opts.redis.secondaryUrl }
      : undefined,
    run: null,
  };
  return {
    name: 'write-load',

    // Preflight does not ask it (it is not a component of the system): the database and cache
    // readiness already say whether the load has somewhere to write.
    async readiness(): Promise<ComponentReadiness> {
      return {
        component: 'database',
        status: 'ready',
        summary: 'drill write load available',
        details: {},
        planFacts: {},
      };
    },

    running(runId) {
      return ctx.run?.runId === runId && !ctx.run.stopping;
    },

    sample() {
      return ctx.run ? sampleOf(ctx, ctx.run) : null;
    },

    start: (args) => start(ctx, args),
    stop: (args) => stop(ctx, args),
    close: () => close(ctx),
  };
}

function lossOf(
  component: 'database' | 'cache',
  lost: Ack[],
  acked: Ack[],
  description: string,
): RpoMeasurement {
  const last = acked.at(-1);
  const seconds = lost.length === 0 || !last ? 0 : Math.max(0, (last.at - lost[0].at) / 1000);
  return {
    component,
    source: 'write-load',
    bytes: null,
    seconds,
    description:
      lost.length === 0
        ? `zero loss: ${description}`
        : `${description} (≈ ${seconds.toFixed(1)} s of writes)`,
  };
}
