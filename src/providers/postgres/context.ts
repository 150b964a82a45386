/**
 * Connection and state of the PostgreSQL provider: its options, one short-lived client per call
 * to either side, errors that name the side, and what this process remembers about both sides
 * (identity, contact, writer readings). Every other file of the provider works through a PgContext.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import type { RegionRole } from '../../domain/types.js';
import type { Progress } from '../types.js';
import { DrError, ProviderError } from '../../errors.js';
import { backoffMs, sleep } from '../dns-resolve.js';
import {
  memoryPostgresServers,
  memorySystemIdentifier,
  type PostgresServerMemory,
  type SystemIdentifierMemory,
  type WriterReading,
} from './memory.js';

export interface PostgresProviderOptions {
  primaryUrl: string;
  secondaryUrl: string;
  promoteTimeoutSeconds: number;
  catchUpTimeoutSeconds: number;
  /** read-only (ALTER SYSTEM), role (ALTER ROLE on `roles`) or command; see fence.ts. */
  fence: { method: 'read-only' | 'role' | 'command'; command?: string; roles?: readonly string[] };
  probe: { table: string; statement?: string };
  resync?: { command: string; timeoutSeconds: number };
  consistencyTables: readonly string[];
  log: Logger;
  connectTimeoutMs?: number;
  /** The cluster's system identifier (config); wins over the remembered one. */
  systemIdentifier?: string;
  identity?: SystemIdentifierMemory;
  /**
   * Per server (host:port): the fence a planned failover left (failback tells background WAL from
   * lost commits with it) and the last reading as a writer (narrows an unplanned loss window).
   * `dr start` and `dr console` keep them in the bot's Redis, so they outlive a restart.
   */
  servers?: PostgresServerMemory;
  /** Fencing: how long sessions ended by pg_terminate_backend may take to exit (default 15000). */
  sessionExitTimeoutMs?: number;
  /**
   * A driver's way to promote (e.g. RDS PromoteReadReplica) instead of pg_promote; it returns
   * once `target` accepts writes, in ms. Fencing, catch-up and loss stay the SQL ones.
   */
  promoter?: (target: RegionRole, progress: Progress) => Promise<number>;
  /** The failback's consistency check (config `consistency`); defaults as there. */
  consistency?: Partial<PgConsistencyOptions>;
}

export interface PgConsistencyOptions {
  /** Rows per chunk, from the table's statistics. */
  chunkRows: number;
  /** Chunk queries at once on each side, each on a connection of its own. */
  concurrency: number;
  /** column: each column by its type's hash function; text: hashtextextended of the row's text. */
  rowHash: 'column' | 'text';
  /** Rounds of a chunk written during each of them before it counts as changing. */
  attempts: number;
  /** When spent, the chunks compared so far (in random order) are the table's sample. */
  timeBudgetSeconds: number;
  /** No difference, not all proven: `pause` fails the table's check so a person decides. */
  unproven: 'pause' | 'continue';
}

const CONSISTENCY_DEFAULTS: PgConsistencyOptions = {
  chunkRows: 50_000,
  concurrency: 3,
  rowHash: 'column',
  attempts: 3,
  timeBudgetSeconds: 900,
  unproven: 'pause',
};

export function consistencySettings(opts: PostgresProviderOptions): PgConsistencyOptions {
  return { ...CONSISTENCY_DEFAULTS, ...opts.consistency };
}

export const NAME = 'postgres';
/** SQLSTATEs and socket errors that mean "the server is not there (yet)": worth retrying. */
const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
]);
/** Of those, the ones where the connection itself failed: a call's outcome is unknown, not refused. */
const CONNECTION_LOST = /^(E[A-Z]+|57P0[123]|08\d{3})$/;

export interface Reachable {
  reachable: true;
  inRecovery: boolean;
  systemId: string;
  /** Writer only: the timeline it writes (1 until it was promoted from a standby). */
  timeline: number | null;
  /** Writer only: pg_current_wal_lsn(). */
  currentLsn: string | null;
  /** Writer only: pg_current_wal_flush_lsn(), which every acknowledged commit is at or before. */
  flushLsn: string | null;
  receiveLsn: string | null;
  replayLsn: string | null;
  /** WAL received but not replayed yet: replayed at promotion, so never lost. */
  replayGapBytes: number | null;
  lastReplayAt: string | null;
  lastReplayAgeSeconds: number | null;
  readOnlyFenced: boolean;
  /** Someone paused WAL replay (pg_wal_replay_pause): promotion would resume it. */
  replayPaused: boolean;
  receiver: {
    status: string;
    flushedLsn: string | null;
    latestEndLsn: string | null;
    lastMsgReceiptAt: string | null;
  } | null;
  /** The server's clock when it was read. */
  checkedAt: string;
}

/**
 * What a standby's WAL receiver showed about its primary, kept because pg_stat_wal_receiver loses
 * its row the moment the receiver exits (a primary crash ends the connection at once).
 */
export interface Contact {
  /** Last seen streaming: the last message's receipt time and the primary's end of WAL it reported (latest_end_lsn). */
  lastSeen: { at: string; latestEndLsn: string | null; flushedLsn: string | null } | null;
  /** First seen without a streaming receiver since then (the standby's clock): contact was lost by this time. */
  lostBy: string | null;
}
export interface Unreachable {
  reachable: false;
  error: DrError;
}
export type SideState = Reachable | Unreachable;

export const other = (side: RegionRole): RegionRole =>
  side === 'primary' ? 'secondary' : 'primary';

export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

export function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export class PgContext {
  private readonly open = new Set<pg.Client>();
  private readonly connectTimeoutMs: number;
  readonly identity: SystemIdentifierMemory;
  /** What the identity port last said or was told, so it is read once and written on change only. */
  knownId: string | null | undefined;
  readonly contact = new Map<RegionRole, Contact>();
  /** The last reading of each side as a writer (readiness rounds, preflights, steps), also kept in `servers`. */
  readonly writerSeen = new Map<RegionRole, WriterReading>();
  readonly servers: PostgresServerMemory;
  /** Sides whose kept writer reading this process already forgot (seen in recovery): one DEL, not one per reading. */
  readonly writerForgotten = new Set<RegionRole>();
  /** Writes to `servers`, in order; close() waits for them. */
  private keeping: Promise<void> = Promise.resolve();

  constructor(readonly opts: PostgresProviderOptions) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.identity = opts.identity ?? memorySystemIdentifier();
    this.servers = opts.servers ?? memoryPostgresServers();
  }

  url(side: RegionRole): string {
    return side === 'primary' ? this.opts.primaryUrl : this.opts.secondaryUrl;
  }

  /** A side's server as `servers` names it: host:port, or a digest of a keyword/value conninfo (never its password). */
  serverName(side: RegionRole): string {
    try {
      const u = new URL(this.url(side));
      return `${u.hostname}:${u.port || '5432'}`;
    } catch {
      return createHash('sha256').update(this.url(side)).digest('hex').slice(0, 16);
    }
  }

  /** Queue a write to `servers`: a help, never a reason for a step or a reading to fail. */
  keep(what: string, write: () => Promise<void>): void {
    this.keeping = this.keeping
      .then(write)
      .catch((err: unknown) =>
        this.opts.log.warn({ err: (err as Error).message }, `keeping ${what} failed`),
      );
  }

  /** "primary (db1.example:5432)": where, without credentials. */
  where(side: RegionRole): string {
    try {
      const u = new URL(this.url(side));
      return `${side} (${u.hostname}:${u.port || '5432'})`;
    } catch {
      return side;
    }
  }

  /** An error from `side` as a DrError naming the side and the action, retryable when worth it. */
  wrap(side: RegionRole, action: string, err: unknown): DrError {
    if (err instanceof DrError) return err;
    const e = err as { code?: string; message?: string };
    const message = e.message ?? String(err);
    // node-postgres says "not queryable" when a query reaches a client whose socket already failed.
    const dropped = /Connection terminated|connection error and is not queryable/i.test(message);
    const retryable =
      RETRYABLE.has(e.code ?? '') || dropped || /timeout|terminated|ECONNREFUSED/i.test(message);
    const lost = (RETRYABLE.has(e.code ?? '') && CONNECTION_LOST.test(e.code ?? '')) || dropped;
    return new ProviderError(NAME, `${this.where(side)}: ${action} failed: ${message}`, {
      retryable,
      cause: err,
      ...(lost ? { code: 'connection-lost' as const } : {}),
    });
  }

  /**
   * withClient for a look at a server the caller is waiting on (a standby catching up): a failure
   * worth retrying (the server restarting, a dropped connection) is no answer yet, not the end of
   * the wait; `unanswered` hears why, and the caller's own deadline decides.
   */
  async whileWaiting<T>(
    side: RegionRole,
    action: string,
    fn: (c: pg.Client) => Promise<T>,
    unanswered: (why: string) => void,
  ): Promise<T | undefined> {
    try {
      return await this.withClient(side, action, fn);
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable) throw err;
      unanswered(err.message);
      return undefined;
    }
  }

  /** Run `fn` with a fresh connection to `side`; errors become ProviderError naming the side and action. */
  async withClient<T>(
    side: RegionRole,
    action: string,
    fn: (c: pg.Client) => Promise<T>,
    queryTimeoutMs = 15_000,
  ): Promise<T> {
    const client = await this.connect(side, action, queryTimeoutMs);
    try {
      return await fn(client);
    } catch (err) {
      throw this.wrap(side, action, err);
    } finally {
      await this.release(client);
    }
  }

  /** A connection to `side` the caller keeps until `release` (close() ends any left open). */
  async connect(side: RegionRole, action: string, queryTimeoutMs = 15_000): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url(side),
      connectionTimeoutMillis: this.connectTimeoutMs,
      query_timeout: queryTimeoutMs,
      application_name: 'dr-bot',
    });
    client.on('error', () => undefined);
    this.open.add(client);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await this.release(client);
      throw this.wrap(side, action, err);
    }
  }

  async release(client: pg.Client): Promise<void> {
    this.open.delete(client);
    await client.end().catch(() => undefined);
  }

  async poll<T>(timeoutMs: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline)
        throw new ProviderError(
          NAME,
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`,
          { code: 'timeout', retryable: true },
        );
      // A server's state answers in a millisecond: look again soon, then back off.
      await sleep(backoffMs(attempt, 20, 1));
    }
  }

  async close(): Promise<void> {
    await this.keeping;
    await Promise.all([...this.open].map((c) => c.end().catch(() => undefined)));
    this.open.clear();
  }
}
