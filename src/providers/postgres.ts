/**
 * PostgreSQL streaming-replication provider (DatabaseProvider) on `pg`.
 *
 *   createPostgresProvider({
 *     primaryUrl,             // connection string of the primary region's server, and of the secondary's:
 *     secondaryUrl,           //   a superuser (fencing uses ALTER SYSTEM, CHECKPOINT, pg_terminate_backend, pg_promote)
 *     promoteTimeoutSeconds,  // pg_promote(wait => true, timeout); config: postgres.promoteTimeoutSeconds
 *     catchUpTimeoutSeconds,  // planned: how long to wait for the standby to replay the final LSN
 *     fence,                  // { method: 'read-only' } or { method: 'command', command } (config postgres.fence)
 *     probe,                  // { table: 'dr_probe', statement? }: verification's write probe
 *     resync?,                // { command, timeoutSeconds }: host-level rewind/rebuild script (failback)
 *     consistencyTables,      // tables whose row count and checksum must match on both sides
 *     log,                    // pino logger (child with provider: 'postgres')
 *     connectTimeoutMs?,      // default 3000: how long "is the other side reachable?" may take
 *     systemIdentifier?,      // config postgres.systemIdentifier: the cluster's identifier, checked on every side seen
 *     identity?,              // where the identifier seen on both sides is remembered (default: in memory)
 *     servers?,               // where each server's planned-failover fence and last writer reading are kept (default: in memory)
 *     sessionExitTimeoutMs?,  // default 15000: how long fenced-off sessions may take to exit
 *   })
 *
 * Needs PostgreSQL 13 or later (pg_stat_wal_receiver.flushed_lsn, pg_promote, wal_keep_size).
 *
 * Commands run by `fence.command` / `resync.command` (via /bin/sh) get these environment variables:
 *   fence: DR_SIDE (primary|secondary: the side being fenced), DR_PG_URL (its connection string),
 *   DR_PG_OTHER_URL (the other side's). resync (README, "The resync command"): DR_RESYNC_STANDBY,
 *   DR_RESYNC_TARGET_URL, DR_RESYNC_SOURCE_URL, DR_RESYNC_METHOD (rewind|rebuild),
 *   DR_RESYNC_DIVERGENCE_LSN.
 *
 * Why one short-lived connection per call and no pool: during a failover the old primary may be
 * dying; a pool would hand out half-dead connections and hide reachability.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import type {
  CheckResult,
  ComponentReadiness,
  Evidence,
  ExpectedLoss,
  Mode,
  RegionRole,
  RpoMeasurement,
} from '../domain/types.js';
import { DrError, PreconditionFailed, ProviderError } from '../errors.js';
import { runShellCommand } from './pg-command.js';
import { formatBytes } from './bytes.js';
import {
  analyseStale,
  switchpointFrom,
  timelineHistory,
  writerTimeline,
  type Divergence,
  type ResyncMethod,
} from './pg-divergence.js';
import {
  memoryPostgresServers,
  memorySystemIdentifier,
  type PostgresServerMemory,
  type SystemIdentifierMemory,
  type WriterReading,
} from './pg-identity.js';
import { lsnDiff } from './pg-lsn.js';
import type { ActionResult, DatabaseProvider, Progress, PromotionResult } from './types.js';

export interface PostgresProviderOptions {
  primaryUrl: string;
  secondaryUrl: string;
  promoteTimeoutSeconds: number;
  catchUpTimeoutSeconds: number;
  fence: { method: 'read-only' | 'command'; command?: string };
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
}

const NAME = 'postgres';
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

interface Reachable {
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
interface Contact {
  /** Last seen streaming: the last message's receipt time and the primary's end of WAL it reported (latest_end_lsn). */
  lastSeen: { at: string; latestEndLsn: string | null; flushedLsn: string | null } | null;
  /** First seen without a streaming receiver since then (the standby's clock): contact was lost by this time. */
  lostBy: string | null;
}
interface Unreachable {
  reachable: false;
  error: DrError;
}
type SideState = Reachable | Unreachable;

const other = (side: RegionRole): RegionRole => (side === 'primary' ? 'secondary' : 'primary');

function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export function createPostgresProvider(opts: PostgresProviderOptions): DatabaseProvider {
  return new PostgresProvider(opts);
}

class PostgresProvider implements DatabaseProvider {
  readonly name = NAME;
  private readonly open = new Set<pg.Client>();
  private readonly connectTimeoutMs: number;
  private readonly identity: SystemIdentifierMemory;
  /** What the identity port last said or was told, so it is read once and written on change only. */
  private knownId: string | null | undefined;
  private readonly contact = new Map<RegionRole, Contact>();
  /** The last reading of each side as a writer (readiness rounds, preflights, steps), also kept in `servers`. */
  private readonly writerSeen = new Map<RegionRole, WriterReading>();
  private readonly servers: PostgresServerMemory;
  /** Sides whose kept writer reading this process already forgot (seen in recovery): one DEL, not one per reading. */
  private readonly writerForgotten = new Set<RegionRole>();
  /** Writes to `servers`, in order; close() waits for them. */
  private keeping: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PostgresProviderOptions) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.identity = opts.identity ?? memorySystemIdentifier();
    this.servers = opts.servers ?? memoryPostgresServers();
  }

  private url(side: RegionRole): string {
    return side === 'primary' ? this.opts.primaryUrl : this.opts.secondaryUrl;
  }

  /** A side's server as `servers` names it: host:port, or a digest of a keyword/value conninfo (never its password). */
  private serverName(side: RegionRole): string {
    try {
      const u = new URL(this.url(side));
      return `${u.hostname}:${u.port || '5432'}`;
    } catch {
      return createHash('sha256').update(this.url(side)).digest('hex').slice(0, 16);
    }
  }

  /** Queue a write to `servers`: a help, never a reason for a step or a reading to fail. */
  private keep(what: string, write: () => Promise<void>): void {
    this.keeping = this.keeping
      .then(write)
      .catch((err: unknown) =>
        this.opts.log.warn({ err: (err as Error).message }, `keeping ${what} failed`),
      );
  }

  /** "primary (db1.example:5432)": where, without credentials. */
  private where(side: RegionRole): string {
    try {
      const u = new URL(this.url(side));
      return `${side} (${u.hostname}:${u.port || '5432'})`;
    } catch {
      return side;
    }
  }

  private wrap(side: RegionRole, action: string, err: unknown): DrError {
    if (err instanceof DrError) return err;
    const e = err as { code?: string; message?: string };
    const message = e.message ?? String(err);
    const retryable =
      RETRYABLE.has(e.code ?? '') || /timeout|terminated|ECONNREFUSED/i.test(message);
    return new ProviderError(NAME, `${this.where(side)}: ${action} failed: ${message}`, {
      retryable,
      cause: err,
    });
  }

  /** Run `fn` with a fresh connection to `side`; errors become ProviderError naming the side and action. */
  private async withClient<T>(
    side: RegionRole,
    action: string,
    fn: (c: pg.Client) => Promise<T>,
    queryTimeoutMs = 15_000,
  ): Promise<T> {
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
      return await fn(client);
    } catch (err) {
      throw this.wrap(side, action, err);
    } finally {
      this.open.delete(client);
      await client.end().catch(() => undefined);
    }
  }

  private async inspect(side: RegionRole): Promise<SideState> {
    try {
      return await this.withClient(side, 'reading replication state', async (c) => {
        const { rows } = await c.query(`
          SELECT pg_is_in_recovery() AS in_recovery,
                 (SELECT system_identifier::text FROM pg_control_system()) AS system_id,
                 CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
                 CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END AS flush_lsn,
                 CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS walfile,
                 pg_last_wal_receive_lsn()::text AS receive_lsn,
                 pg_last_wal_replay_lsn()::text AS replay_lsn,
                 pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text AS replay_gap,
                 pg_last_xact_replay_timestamp() AS last_replay_at,
                 extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS last_replay_age,
                 current_setting('default_transaction_read_only') AS read_only,
                 clock_timestamp() AS checked_at,
                 CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS replay_paused`);
        const r = rows[0];
        const recv = await c.query(
          `SELECT status, flushed_lsn::text AS flushed, latest_end_lsn::text AS latest_end, last_msg_receipt_time FROM pg_stat_wal_receiver`,
        );
        const w = recv.rows[0];
        const state = {
          reachable: true as const,
          inRecovery: r.in_recovery as boolean,
          systemId: r.system_id as string,
          // From the WAL file name, not pg_control: that shows the new timeline only after the first checkpoint.
          timeline: r.walfile === null ? null : parseInt(String(r.walfile).slice(0, 8), 16),
          currentLsn: r.current_lsn as string | null,
          flushLsn: r.flush_lsn as string | null,
          receiveLsn: r.receive_lsn as string | null,
          replayLsn: r.replay_lsn as string | null,
          replayGapBytes: r.replay_gap === null ? null : Number(r.replay_gap),
          lastReplayAt: iso(r.last_replay_at),
          lastReplayAgeSeconds:
            r.last_replay_age === null ? null : Math.max(0, Number(r.last_replay_age)),
          readOnlyFenced: r.read_only === 'on',
          replayPaused: r.replay_paused === true,
          receiver: w
            ? {
                status: w.status as string,
                flushedLsn: w.flushed ?? null,
                latestEndLsn: w.latest_end ?? null,
                lastMsgReceiptAt: iso(w.last_msg_receipt_time),
              }
            : null,
          checkedAt: iso(r.checked_at) ?? new Date().toISOString(),
        };
        if (state.inRecovery) this.noteContact(side, state);
        this.noteWriter(side, state);
        return state;
      });
    } catch (err) {
      if (err instanceof DrError && err.retryable) return { reachable: false, error: err };
      throw err;
    }
  }

  /**
   * Only a streaming receiver's times are contact: a receiver (re)starting resets them to its own
   * start time, before it has heard from anyone.
   */
  private noteContact(side: RegionRole, s: Reachable): void {
    const w = s.receiver;
    const c = this.contact.get(side) ?? { lastSeen: null, lostBy: null };
    if (w?.status === 'streaming' && w.lastMsgReceiptAt) {
      this.contact.set(side, {
        lastSeen: {
          at: w.lastMsgReceiptAt,
          latestEndLsn: w.latestEndLsn,
          flushedLsn: w.flushedLsn,
        },
        lostBy: null,
      });
    } else if (!c.lostBy) {
      this.contact.set(side, { ...c, lostBy: s.checkedAt });
    }
  }

  /**
   * A writer's flushed WAL and when it was read (its own clock): a standby later found holding all
   * of it lost no transaction committed before then. Forgotten once the side is seen in recovery,
   * so a position from an earlier history (before a resync) is never compared with a new one.
   */
  private noteWriter(side: RegionRole, s: Reachable): void {
    const server = this.serverName(side);
    if (!s.inRecovery && s.flushLsn) {
      const reading: WriterReading = {
        flushLsn: s.flushLsn,
        at: s.checkedAt,
        systemId: s.systemId,
        timeline: s.timeline,
      };
      this.writerSeen.set(side, reading);
      this.writerForgotten.delete(side);
      this.keep('the PostgreSQL writer reading', () =>
        this.servers.rememberWriter(server, reading),
      );
    } else if (s.inRecovery) {
      this.writerSeen.delete(side);
      if (!this.writerForgotten.has(side)) {
        this.writerForgotten.add(side);
        this.keep('the PostgreSQL writer reading', () => this.servers.forgetWriter(server));
      }
    }
  }

  /**
   * The last reading of `side` as a writer: this process's own, else the one kept in `servers` by
   * an earlier process (a bot restarted after the primary died) when it can only be of the history
   * `standby` follows: same system identifier, and the writer's timeline is the one of the
   * standby's last restartpoint. Anything else (another cluster, a reading from before a failover)
   * is left out, which only widens the loss window.
   */
  private async writerReading(side: RegionRole, standby: Reachable): Promise<WriterReading | null> {
    const own = this.writerSeen.get(side);
    if (own) return own;
    try {
      const kept = await this.servers.recallWriter(this.serverName(side));
      if (!kept || kept.systemId !== standby.systemId || kept.timeline === null) return null;
      const tli = await this.withClient(
        other(side),
        'reading the timeline of the last restartpoint',
        async (c) =>
          Number(
            (await c.query('SELECT timeline_id FROM pg_control_checkpoint()')).rows[0].timeline_id,
          ),
      );
      return tli === kept.timeline ? kept : null;
    } catch (err) {
      this.opts.log.warn(
        { err: (err as Error).message },
        'reading the kept PostgreSQL writer reading failed',
      );
      return null;
    }
  }

  private async inspectReachable(side: RegionRole): Promise<Reachable> {
    const s = await this.inspect(side);
    if (!s.reachable) throw s.error;
    return s;
  }

  private sameCluster(target: RegionRole, t: Reachable, o: Reachable): void {
    if (t.systemId !== o.systemId) {
      throw new PreconditionFailed(
        `${this.where(target)} belongs to another cluster: system identifier ${t.systemId}, but ${this.where(other(target))} has ${o.systemId}. It is not a standby of this database: check components.postgres.${target} in the config.`,
        { code: 'wrong-target' },
      );
    }
  }

  /** The pair's name for the identity memory: its primary's address, never its credentials. */
  private clusterName(): string {
    try {
      const u = new URL(this.opts.primaryUrl);
      return `${u.hostname}:${u.port || '5432'}`;
    } catch {
      // A keyword/value conninfo: a digest names it without keeping a password in Redis.
      return createHash('sha256').update(this.opts.primaryUrl).digest('hex').slice(0, 16);
    }
  }

  /** The identifier this cluster must have: configured, else remembered from both sides seen together. */
  private async expectedId(): Promise<{ id: string; source: 'config' | 'remembered' } | null> {
    if (this.opts.systemIdentifier) return { id: this.opts.systemIdentifier, source: 'config' };
    if (this.knownId === undefined) {
      try {
        this.knownId = await this.identity.recall(this.clusterName());
      } catch (err) {
        // The memory is a help, not a dependency: without it the checks fall back to "nothing known".
        this.opts.log.warn(
          { err: (err as Error).message },
          'reading the remembered PostgreSQL system identifier failed',
        );
        return null;
      }
    }
    return this.knownId ? { id: this.knownId, source: 'remembered' } : null;
  }

  private async rememberId(id: string): Promise<void> {
    if (this.opts.systemIdentifier || this.knownId === id) return;
    try {
      await this.identity.remember(this.clusterName(), id);
      this.knownId = id;
    } catch (err) {
      this.opts.log.warn(
        { err: (err as Error).message },
        'remembering the PostgreSQL system identifier failed',
      );
    }
  }

  /**
   * Why `target` is not this cluster's server, or null when nothing says so. Both sides answering
   * with one identifier is the evidence that is remembered; a configured identifier always wins.
   * With the other side unreachable, the target is compared with what is configured or remembered.
   */
  private async identityProblem(
    target: RegionRole,
    t: Reachable,
    o: SideState,
  ): Promise<string | null> {
    const expected = await this.expectedId();
    if (expected?.source === 'config' && t.systemId !== expected.id) {
      return `${this.where(target)} has system identifier ${t.systemId}, but components.postgres.systemIdentifier is ${expected.id}: it is not a server of this cluster. Check components.postgres.${target} (or the configured identifier).`;
    }
    if (o.reachable && o.systemId === t.systemId) {
      if (expected && expected.id !== t.systemId) {
        // Both sides agree on another identifier than the remembered one: the cluster was rebuilt, learn it.
        this.opts.log.warn(
          { remembered: expected.id, seen: t.systemId },
          'both PostgreSQL sides have a new system identifier: remembering it',
        );
      }
      await this.rememberId(t.systemId);
      return null;
    }
    if (!o.reachable && expected && t.systemId !== expected.id) {
      return `${this.where(target)} has system identifier ${t.systemId}, but this cluster's is ${expected.id} (remembered when both sides were last seen together): it is not a server of this cluster. Check components.postgres.${target}; if the cluster was rebuilt on purpose, set components.postgres.systemIdentifier to ${t.systemId}.`;
    }
    return null;
  }

  /**
   * With the other side unreachable, a target that accepts writes counts as "already promoted" only
   * with evidence that it was promoted from a standby of this cluster: a timeline after 1 and the
   * configured or remembered identifier. Returns why not, or null.
   */
  private async notProvenPromoted(
    target: RegionRole,
    t: Reachable,
    o: Unreachable,
  ): Promise<string | null> {
    const src = other(target);
    const expected = await this.expectedId();
    if (!expected) {
      return `${this.where(target)} accepts writes and ${src} is unreachable (${o.error.message}): nothing shows it is a promoted standby of this cluster and not an unrelated server, because no system identifier is configured or remembered. Check components.postgres.${target}; if it is right, set components.postgres.systemIdentifier to ${t.systemId} (SELECT system_identifier FROM pg_control_system()) and retry.`;
    }
    if ((t.timeline ?? 1) <= 1) {
      return `${this.where(target)} accepts writes on timeline ${t.timeline ?? '?'}: it was never promoted from a standby, so it is not a promoted standby of ${src}. Check components.postgres.${target}.`;
    }
    return null;
  }

  /**
   * Both sides are writers and `other` is fenced: `target` holds the current data only when it was
   * promoted from other's timeline (a later timeline whose history leaves other's). Returns why
   * not, or null.
   */
  private async notPromotedAfter(
    target: RegionRole,
    t: Reachable,
    o: Reachable,
  ): Promise<string | null> {
    const src = other(target);
    const [tl, otl] = [t.timeline ?? 0, o.timeline ?? 0];
    const fix = `Resync ${target} as a standby of ${src} (the failback's resync stage) and check consistency before promoting it.`;
    if (tl <= otl) {
      return `${target} writes timeline ${tl} and ${src} (fenced read-only) timeline ${otl}: ${src} was promoted after ${target}, so ${target}'s history is the older, diverged one. ${fix}`;
    }
    const history = await this.withClient(target, 'reading the timeline history', (c) =>
      timelineHistory(c, tl),
    );
    if (!switchpointFrom(history, otl)) {
      return `${target} writes timeline ${tl}, whose history does not pass through ${src}'s timeline ${otl}: the two diverged. ${fix}`;
    }
    return null;
  }

  async readiness(target: RegionRole): Promise<ComponentReadiness> {
    const src = other(target);
    const [t, o] = await Promise.all([this.inspect(target), this.inspect(src)]);
    const primaryReachable = o.reachable && !o.inRecovery;
    const base = { component: 'database' as const, primaryReachable };
    if (!t.reachable) {
      return {
        ...base,
        status: 'blocked',
        summary: `${this.where(target)} is unreachable: ${t.error.message}`,
        details: { targetReachable: false, error: t.error.message },
        planFacts: { targetReachable: false },
      };
    }
    const details: Evidence = {
      targetInRecovery: t.inRecovery,
      systemId: t.systemId,
      receiveLsn: t.receiveLsn,
      replayLsn: t.replayLsn,
      replayGapBytes: t.replayGapBytes,
      lastReplayAt: t.lastReplayAt,
      receiverStatus: t.receiver?.status ?? null,
      primaryReachable,
      ...(o.reachable
        ? { otherSystemId: o.systemId, otherInRecovery: o.inRecovery, otherLsn: o.currentLsn }
        : { otherError: o.error.message }),
    };
    if (o.reachable && o.systemId !== t.systemId) {
      return {
        ...base,
        status: 'blocked',
        summary: `wrong target: ${target} has system identifier ${t.systemId}, ${src} has ${o.systemId}: not the same cluster`,
        details,
        planFacts: {
          targetRole: t.inRecovery ? 'standby' : 'writer',
          systemId: t.systemId,
          otherSystemId: o.systemId,
        },
      };
    }
    const wrongTarget = await this.identityProblem(target, t, o);
    if (wrongTarget) {
      return {
        ...base,
        status: 'blocked',
        summary: `wrong target: ${wrongTarget}`,
        details,
        planFacts: { targetRole: t.inRecovery ? 'standby' : 'writer', systemId: t.systemId },
      };
    }
    if (!t.inRecovery && !o.reachable) {
      const unproven = await this.notProvenPromoted(target, t, o);
      if (unproven) {
        return {
          ...base,
          status: 'blocked',
          summary: `cannot confirm the target: ${unproven}`,
          details,
          planFacts: { targetRole: 'writer', systemId: t.systemId, timeline: t.timeline },
        };
      }
    }
    if (!t.inRecovery) {
      const stale = o.reachable && !o.inRecovery ? await this.divergence(target) : null;
      if (stale) return this.staleReadiness(target, t, stale, base, details);
      if (o.reachable && !o.inRecovery && !o.readOnlyFenced) {
        return {
          ...base,
          status: 'blocked',
          summary: `both ${target} and ${src} accept writes (two writers): decide which one holds the data before any failover`,
          details,
          planFacts: { targetRole: 'writer', systemId: t.systemId, otherRole: 'writer' },
        };
      }
      const behind =
        o.reachable && !o.inRecovery ? await this.notPromotedAfter(target, t, o) : null;
      if (behind) {
        return {
          ...base,
          status: 'blocked',
          summary: `diverged target: ${behind}`,
          details,
          planFacts: { targetRole: 'diverged-writer', systemId: t.systemId, timeline: t.timeline },
        };
      }
      return {
        ...base,
        status: 'ready',
        summary: `${target} is already the writer (not in recovery, timeline ${t.timeline ?? '?'}): promotion will be a no-op`,
        details,
        planFacts: { targetRole: 'writer', systemId: t.systemId },
      };
    }
    if (o.reachable && o.inRecovery) {
      return {
        ...base,
        status: 'blocked',
        summary: `neither side accepts writes: ${src} is in recovery too; find the real writer before failing over`,
        details,
        planFacts: { targetRole: 'standby', systemId: t.systemId, otherRole: 'standby' },
      };
    }
    if (o.reachable) {
      const lagBytes =
        o.currentLsn && t.replayLsn ? Math.max(0, lsnDiff(o.currentLsn, t.replayLsn)) : null;
      // An idle primary writes no transactions: the last replayed one ages without any lag.
      const lagSeconds =
        lagBytes === 0 || t.receiveLsn === t.replayLsn ? 0 : t.lastReplayAgeSeconds;
      const streaming = t.receiver?.status === 'streaming';
      const warnings = [
        ...(streaming
          ? []
          : [
              `${target} is not streaming from ${src} (receiver ${t.receiver?.status ?? 'not running'}): a planned failover is refused until it is`,
            ]),
        ...(t.replayPaused
          ? [
              `WAL replay is paused on ${target}: a planned failover is refused until someone resumes it (SELECT pg_wal_replay_resume())`,
            ]
          : []),
      ];
      return {
        ...base,
        status: warnings.length === 0 ? 'ready' : 'warning',
        summary: `${target} in recovery, ${streaming ? 'streaming' : 'NOT streaming'}, lag ${lagBytes === null ? '?' : formatBytes(lagBytes)} / ${lagSeconds === null ? '?' : `${lagSeconds.toFixed(1)} s`}; ${src} reachable: planned, zero loss`,
        details: { ...details, lagBytes, lagSeconds },
        planFacts: { targetRole: 'standby', systemId: t.systemId, primaryReachable: true },
        ...(warnings.length ? { warnings } : {}),
      };
    }
    const { evidence: lossEvidence, ...expectedLoss } = this.expectedLoss(
      target,
      t,
      o.error.message,
      await this.writerReading(src, t),
    );
    const unconfirmed = (await this.expectedId())
      ? []
      : [
          `${target}'s system identifier ${t.systemId} cannot be checked against ${src} (unreachable) and none is configured or remembered: make sure components.postgres.${target} is this cluster's standby, or set components.postgres.systemIdentifier`,
        ];
    return {
      ...base,
      status: 'warning',
      summary: `${target} in recovery; ${src} unreachable: unplanned, ${expectedLoss.description}`,
      details: {
        ...details,
        lostBytesKnown: expectedLoss.bytes ?? null,
        lastReplayAgeSeconds: t.lastReplayAgeSeconds,
        ...lossEvidence,
      },
      planFacts: {
        targetRole: 'standby',
        systemId: t.systemId,
        primaryReachable: false,
        receivedLsn: t.receiveLsn,
      },
      expectedLoss,
      warnings: [
        `${src} cannot be fenced while unreachable: make sure it cannot come back as a writer`,
        ...unconfirmed,
      ],
    };
  }

  /**
   * When `stale` is a writer on a timeline the other side was promoted away from (the old primary
   * after a failover, fenced or back from a crash), the analysis of what resyncing it means; null
   * when it is not (no common history: then it is not ours to rewind).
   */
  private async divergence(stale: RegionRole): Promise<Divergence | null> {
    const writer = other(stale);
    const { writerTl, history } = await this.withClient(
      writer,
      'reading the timeline history',
      async (c) => {
        const tl = await writerTimeline(c);
        return { writerTl: tl, history: await timelineHistory(c, tl) };
      },
    );
    const staleTl = await this.withClient(stale, 'reading the timeline', writerTimeline);
    if (writerTl <= staleTl) return null;
    const divergenceLsn = switchpointFrom(history, staleTl);
    if (!divergenceLsn) return null;
    const fence = await this.servers.recallFence(this.serverName(stale)).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, 'reading the PostgreSQL fence record failed');
      return null;
    });
    return this.withClient(stale, 'analysing WAL written after the split', (c) =>
      analyseStale(c, { staleTimeline: staleTl, writerTimeline: writerTl, divergenceLsn, fence }),
    );
  }

  private staleReadiness(
    target: RegionRole,
    t: Reachable,
    d: Divergence,
    base: { component: 'database'; primaryReachable: boolean },
    details: Evidence,
  ): ComponentReadiness {
    const src = other(target);
    // A warning (and the expected loss) only when committed transactions can be lost; WAL with none
    // (counted 0, or written while fenced read-only) is said in the summary, a note.
    const losesData = d.losesCommitted;
    const warnings = [
      ...(losesData
        ? [
            `${target} has data ${src} never received: ${d.description}. Approving accepts that loss; to keep it, copy it out of ${target} first.`,
          ]
        : []),
      ...(d.method === 'rebuild'
        ? [
            `${target} cannot be rewound and will be rebuilt from a full copy of ${src} (pg_basebackup): ${d.reasons.join('; ')}`,
          ]
        : []),
      ...(d.caveat
        ? [`${target} will be rewound, but ${d.caveat}; a rebuild copies all of ${src}'s data`]
        : []),
    ];
    return {
      ...base,
      status: warnings.length ? 'warning' : 'ready',
      summary: `${target} is the old primary (${t.readOnlyFenced ? 'fenced read-only' : 'accepting writes'}): it will be resynced as a standby of ${src} before it is promoted again; ${d.description}`,
      details: {
        ...details,
        divergence: {
          ...d,
          reasons: d.reasons.join('; '),
          fencedBeforeSplit: d.fencedBeforeSplit ? { ...d.fencedBeforeSplit } : null,
        },
      },
      planFacts: {
        targetRole: 'stale-writer',
        systemId: t.systemId,
        resyncMethod: d.method,
        divergenceLsn: d.divergenceLsn,
        rewindCheckpointLsn: d.rewindCheckpointLsn,
        lostTransactions: d.lostTransactions,
      },
      ...(losesData
        ? {
            expectedLoss: {
              bytes: d.lostBytes,
              seconds: null,
              description: `${target}: ${d.description}`,
            },
          }
        : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  }

  /**
   * With the primary gone, what the standby can tell. All it received is replayed at promotion.
   * The loss window ends at its last contact with the primary: the receiver's last message while
   * it streams; once its row is gone, "lost by" the first time this provider saw it without one,
   * so the window is fixed then and does not grow while people approve (the primary may have
   * written after the contact too; nothing here can time that, except a reading of the primary
   * by this bot after the contact that found WAL the standby lacks: the window reaches at least
   * that reading). It starts at the later of two
   * points before which nothing can be missing: the last replayed commit, and the last time this
   * bot read the primary's flushed WAL (readiness rounds, preflights) if the standby holds all of
   * it — every acknowledged commit was flushed, so none before that reading is lost. On an idle
   * primary the first is long ago and the second recent: that reading keeps the window honest
   * without inflating it.
   * Bytes: what lies past the received WAL, of the primary's end of WAL as last reported to the
   * standby (latest_end_lsn) or of the flushed WAL this bot last read there, is lost for certain: a
   * lower bound. Zero there proves nothing about later writes, so the size is then unknown.
   * Times mix clocks: commit and reading times are the primary's, contact times the standby's.
   */
  private expectedLoss(
    target: RegionRole,
    t: Reachable,
    why: string,
    seen: WriterReading | null,
  ): ExpectedLoss & { bytes: number | null; seconds: number | null; evidence: Evidence } {
    const w = t.receiver?.status === 'streaming' ? t.receiver : null;
    const remembered = this.contact.get(target) ?? { lastSeen: null, lostBy: null };
    const received = t.receiveLsn ?? t.replayLsn;
    const walEnd = w ? w.latestEndLsn : (remembered.lastSeen?.latestEndLsn ?? null);
    const have = w?.flushedLsn ?? received;
    const reportedBehind = walEnd && have ? lsnDiff(walEnd, have) : 0;
    const seenBehind = seen && have ? lsnDiff(seen.flushLsn, have) : null;
    const behind = Math.max(reportedBehind, seenBehind ?? 0);
    const bytes = behind > 0 ? behind : null;
    // The standby holds everything the primary had flushed when this bot last read it.
    const inSyncAt = seen && seenBehind !== null && seenBehind <= 0 ? seen.at : null;
    const contactAt = w?.lastMsgReceiptAt ?? null;
    const lostBy = w ? null : (remembered.lostBy ?? t.checkedAt);
    const contactEnd = contactAt ?? lostBy;
    // A reading after the last contact that found the primary ahead of the standby: it was still
    // writing then, so its commits up to that reading are in the window too (a partition between
    // the regions before the primary region went down), and the window is at least that long.
    const aheadAfterContact =
      seen !== null &&
      seenBehind !== null &&
      seenBehind > 0 &&
      (contactEnd === null || Date.parse(seen.at) > Date.parse(contactEnd));
    const until = aheadAfterContact ? seen.at : contactEnd;
    const from =
      [t.lastReplayAt, inSyncAt]
        .filter((x): x is string => x !== null)
        .sort((a, b) => Date.parse(a) - Date.parse(b))
        .at(-1) ?? null;
    const seconds =
      from && until
        ? Math.max(0, Math.round((Date.parse(until) - Date.parse(from)) / 100) / 10)
        : null;

    const last = t.lastReplayAt
      ? `its last replayed transaction committed at ${t.lastReplayAt}`
      : 'it has replayed no transaction yet';
    const sync = inSyncAt
      ? `; it holds all the WAL the primary had flushed (up to ${seen!.flushLsn}) when this bot last read the primary at ${inSyncAt}: 0 B behind the last primary position seen, so no transaction committed before ${inSyncAt} is lost`
      : '';
    const contact = contactAt
      ? `its last message from the primary arrived at ${contactAt}`
      : remembered.lastSeen
        ? `it was last seen in contact with the primary at ${remembered.lastSeen.at} and had lost contact by ${lostBy}`
        : `it had no contact with the primary when first checked at ${lostBy}`;
    const window =
      seconds === null
        ? 'the loss window cannot be timed'
        : aheadAfterContact
          ? `transactions the primary committed in the at least ${seconds} s from ${from} to ${until}, if any, are lost: this bot read the primary then, after the standby's last contact, with WAL the standby does not have`
          : `transactions the primary committed in the ${contactAt ? '' : 'at most '}${seconds} s from ${from} to ${until}, if any, are lost`;
    const pending = t.replayGapBytes
      ? `; ${formatBytes(t.replayGapBytes)} received but not yet replayed will be replayed at promotion, not lost`
      : '';
    const bytesText =
      bytes !== null
        ? seenBehind !== null && seenBehind >= reportedBehind
          ? `at least ${formatBytes(bytes)} of WAL lost: the primary had flushed WAL up to ${seen!.flushLsn} when this bot read it at ${seen!.at}, the standby received up to ${have} (a lower bound: it may have written more after)`
          : `at least ${formatBytes(bytes)} of WAL lost: the primary reported its WAL at ${walEnd}, the standby received up to ${have} (a lower bound: it may have written more after)`
        : inSyncAt
          ? `WAL lost in bytes unknown: none was missing at ${inSyncAt}; what the primary wrote after cannot be measured while it is unreachable`
          : walEnd
            ? `WAL lost in bytes unknown: the standby had received all WAL the primary reported (up to ${walEnd}); what it wrote after cannot be measured while it is unreachable`
            : "WAL lost in bytes unknown: the primary's end of WAL was never seen by this bot and cannot be measured while it is unreachable";
    return {
      bytes,
      seconds,
      description: `the standby received WAL up to ${received ?? 'nothing'}, ${last}${sync}; ${contact}: ${window}${pending}; anything the primary committed after the last contact is lost too (${bytesText}; primary: ${why})`,
      evidence: {
        lastContactAt: contactAt ?? remembered.lastSeen?.at ?? null,
        contactLostBy: lostBy,
        primaryReportedWalEnd: walEnd,
        primarySeenFlushLsn: seen?.flushLsn ?? null,
        primarySeenAt: seen?.at ?? null,
        inSyncAt,
        lossWindowFrom: from,
        lossWindowUntil: until,
        lostBytesIsLowerBound: bytes !== null,
      },
    };
  }

  /** Not in recovery and not fenced read-only: a fenced old primary does not accept writes. */
  async isWriter(target: RegionRole): Promise<boolean> {
    const s = await this.inspectReachable(target);
    return !s.inRecovery && !s.readOnlyFenced;
  }

  async promote({
    target,
    mode,
    progress,
  }: {
    target: RegionRole;
    mode: Mode;
    progress: Progress;
  }): Promise<PromotionResult> {
    const started = Date.now();
    const src = other(target);
    const t = await this.inspectReachable(target);
    const o = await this.inspect(src);
    if (o.reachable) this.sameCluster(target, t, o);
    const wrongTarget = await this.identityProblem(target, t, o);
    if (wrongTarget)
      throw new PreconditionFailed(`${wrongTarget} Nothing was changed.`, { code: 'wrong-target' });
    if (!t.inRecovery && !o.reachable) {
      const unproven = await this.notProvenPromoted(target, t, o);
      if (unproven)
        throw new PreconditionFailed(
          `refusing to treat ${target} as "already promoted": ${unproven} Nothing was changed.`,
          { code: 'wrong-target' },
        );
    }
    if (!t.inRecovery) {
      // A side we fenced read-only earlier is the old primary of a finished failover, not a second writer.
      if (o.reachable && !o.inRecovery && !o.readOnlyFenced) {
        throw new PreconditionFailed(
          `${this.where(target)} and ${this.where(src)} both accept writes: refusing to treat this as "already promoted". Decide which side holds the data, fence the other, then retry.`,
          { code: 'wrong-target' },
        );
      }
      if (o.reachable && !o.inRecovery) {
        // Both writers, the other fenced: lifting the target's fence is right only if it is the side promoted later.
        const behind = await this.notPromotedAfter(target, t, o);
        if (behind)
          throw new PreconditionFailed(
            `refusing to treat ${target} as "already promoted" and lift its read-only fence: ${behind} Nothing was changed.`,
            { code: 'wrong-target' },
          );
      }
      const unfenced = await this.unfence(target);
      return {
        noop: true,
        mode,
        summary: `${target} is already promoted (not in recovery): nothing to do`,
        evidence: {
          targetInRecovery: false,
          systemId: t.systemId,
          currentLsn: t.currentLsn,
          unfenced,
        },
        rpo: {
          component: 'database',
          bytes: 0,
          seconds: 0,
          description: 'no promotion by this step: the target was already the writer',
        },
      };
    }
    if (o.reachable && o.inRecovery) {
      throw new PreconditionFailed(
        `${this.where(src)} is in recovery too: there is no writer to fail over from; find the real writer first.`,
        { code: 'wrong-target' },
      );
    }
    if (mode === 'planned' && o.reachable && t.receiver?.status !== 'streaming') {
      // Fencing now would stop the application for a catch-up that cannot happen: refuse first.
      throw new ProviderError(
        NAME,
        `${this.where(target)} is not streaming from ${src} (WAL receiver ${t.receiver?.status ?? 'not running'}, received up to ${t.receiveLsn ?? 'nothing'}): a planned failover could not reach zero loss. Nothing was changed. Fix replication and retry, or choose an unplanned failover.`,
        { retryable: true, code: 'precondition-failed' },
      );
    }
    if (mode === 'planned' && t.replayPaused) {
      // Someone paused replay on purpose (to keep a bad change from being applied?): not ours to resume.
      throw new ProviderError(
        NAME,
        `WAL replay is paused on ${this.where(target)}: a planned failover would wait forever for it. Nothing was changed. If the pause is no longer needed, run SELECT pg_wal_replay_resume() there and retry.`,
        { retryable: true, code: 'precondition-failed' },
      );
    }
    return mode === 'planned'
      ? this.promotePlanned(target, o, progress, started)
      : this.promoteUnplanned(target, o, progress, started);
  }

  private async promotePlanned(
    target: RegionRole,
    o: SideState,
    progress: Progress,
    started: number,
  ): Promise<PromotionResult> {
    const src = other(target);
    if (!o.reachable) {
      throw new PreconditionFailed(
        `a planned failover fences ${this.where(src)} and replays its last WAL, but it is unreachable (${o.error.message}). Re-run preflight: with ${src} down the failover is unplanned and shows its expected data loss before approval.`,
      );
    }
    progress(`fencing ${src} (${this.opts.fence.method})`);
    const fence = await this.fence(src);
    progress(`${src} fenced; final LSN ${fence.finalLsn}`, { finalLsn: fence.finalLsn });
    const fencedState = await this.fencedState(src);
    const catchUp = await this.waitForReplay(target, fence.finalLsn, progress);
    const promoteMs = await this.pgPromote(target, progress);
    await this.recordFence(src, target, fence.finalLsn, fencedState);
    const unfenced = await this.unfence(target);
    const totalMs = Date.now() - started;
    return {
      noop: false,
      mode: 'planned',
      summary: `promoted ${target} after it replayed ${src}'s final LSN ${fence.finalLsn} (catch-up ${catchUp.ms} ms, promote ${promoteMs} ms): zero loss`,
      evidence: {
        finalLsn: fence.finalLsn,
        replayLsn: catchUp.replayLsn,
        fenceMethod: this.opts.fence.method,
        fencedSide: src,
        terminatedSessions: fence.terminated,
        fenceMs: fence.ms,
        catchUpMs: catchUp.ms,
        promoteMs,
        totalMs,
        unfenced,
      },
      rpo: {
        component: 'database',
        bytes: 0,
        seconds: 0,
        description: `zero loss: ${target} replayed ${src}'s final LSN ${fence.finalLsn} after writes were fenced`,
      },
    };
  }

  private async promoteUnplanned(
    target: RegionRole,
    o: SideState,
    progress: Progress,
    started: number,
  ): Promise<PromotionResult> {
    const src = other(target);
    let fence: { finalLsn: string; terminated: number | null; ms: number } | null = null;
    if (o.reachable) {
      // Never two writers: a primary we can still reach is fenced before anything is promoted.
      progress(`${src} is reachable: fencing it before promoting`);
      fence = await this.fence(src);
    } else {
      progress(`${src} is unreachable (${o.error.message}): it cannot be fenced`);
    }
    const t = await this.inspectReachable(target);
    const received = t.receiveLsn ?? t.replayLsn;
    let rpo: RpoMeasurement;
    let lossEvidence: Evidence = {};
    if (fence && received) {
      const bytes = Math.max(0, lsnDiff(fence.finalLsn, received));
      rpo = {
        component: 'database',
        bytes,
        seconds: bytes === 0 ? 0 : t.lastReplayAgeSeconds,
        description:
          bytes === 0
            ? `no loss: ${target} had received ${src}'s final LSN ${fence.finalLsn}`
            : `${formatBytes(bytes)} of WAL lost: ${src}'s final LSN ${fence.finalLsn}, ${target} received up to ${received}; last replayed transaction ${t.lastReplayAt ?? 'none'}`,
      };
    } else {
      const loss = this.expectedLoss(
        target,
        t,
        o.reachable ? 'no WAL position' : o.error.message,
        await this.writerReading(src, t),
      );
      lossEvidence = loss.evidence;
      rpo = {
        component: 'database',
        bytes: loss.bytes,
        seconds: loss.seconds,
        description: loss.description,
      };
    }
    const promoteMs = await this.pgPromote(target, progress);
    const unfenced = await this.unfence(target);
    const fencedText = fence
      ? `${src} fenced (${this.opts.fence.method})`
      : `${src} NOT fenced (unreachable): make sure it cannot come back as a writer`;
    return {
      noop: false,
      mode: 'unplanned',
      summary: `promoted ${target} (unplanned) in ${promoteMs} ms; ${fencedText}; ${rpo.bytes === null ? 'loss not measurable in bytes' : `loss ${formatBytes(rpo.bytes)}`}`,
      evidence: {
        receivedLsn: t.receiveLsn,
        replayLsn: t.replayLsn,
        replayGapBytes: t.replayGapBytes,
        lastReplayAt: t.lastReplayAt,
        receiverStatus: t.receiver?.status ?? null,
        fenced: fence !== null,
        fencedSide: fence ? src : null,
        finalLsn: fence?.finalLsn ?? null,
        oldPrimaryError: o.reachable ? null : o.error.message,
        lostBytes: rpo.bytes,
        lostSeconds: rpo.seconds,
        ...lossEvidence,
        promoteMs,
        totalMs: Date.now() - started,
        unfenced,
      },
      rpo,
    };
  }

  /** The fenced side's timeline and next transaction id, for the fence record; null when unreadable (a fence command that stopped it). */
  private async fencedState(
    side: RegionRole,
  ): Promise<{ timeline: number; nextXid: string } | null> {
    try {
      return await this.withClient(side, 'reading the fenced state', async (c) => {
        const { rows } = await c.query(
          `SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, current_setting('default_transaction_read_only') = 'on' AS fenced`,
        );
        if (rows[0].fenced !== true) return null;
        return { timeline: await writerTimeline(c), nextXid: rows[0].xid as string };
      });
    } catch (err) {
      this.opts.log.warn(
        { err: (err as Error).message, side },
        'reading the fenced side for the fence record failed',
      );
      return null;
    }
  }

  /**
   * Keep the fence of a planned failover for `fenced`'s server: its final LSN and the split the
   * promotion of `promoted` made (read from its timeline history), so a failback can tell WAL
   * written after the split under this fence (background records) from lost commits. A failure
   * only loses that note: the failback then warns as without the record.
   */
  private async recordFence(
    fenced: RegionRole,
    promoted: RegionRole,
    finalLsn: string,
    state: { timeline: number; nextXid: string } | null,
  ): Promise<void> {
    if (!state) return;
    try {
      const splitLsn = await this.withClient(promoted, 'reading the timeline history', async (c) =>
        switchpointFrom(await timelineHistory(c, await writerTimeline(c)), state.timeline),
      );
      if (!splitLsn || lsnDiff(splitLsn, finalLsn) < 0) {
        this.opts.log.warn(
          { fenced, finalLsn, splitLsn },
          'the promoted timeline does not fork at or after the final LSN: no fence record',
        );
        return;
      }
      const record = {
        finalLsn,
        timeline: state.timeline,
        splitLsn,
        nextXid: state.nextXid,
        at: new Date().toISOString(),
      };
      this.keep('the PostgreSQL fence record', () =>
        this.servers.rememberFence(this.serverName(fenced), record),
      );
    } catch (err) {
      this.opts.log.warn(
        { err: (err as Error).message, fenced },
        'reading the split for the fence record failed',
      );
    }
  }

  /**
   * Stop writes on `side` and return its final LSN. read-only: default_transaction_read_only via
   * ALTER SYSTEM (survives a restart) + reload, then end every client session so none keeps
   * writing. A CHECKPOINT then flushes all WAL, so the LSN read after it is one the standby can
   * reach exactly.
   */
  private async fence(
    side: RegionRole,
  ): Promise<{ finalLsn: string; terminated: number | null; ms: number }> {
    const started = Date.now();
    let terminated: number | null = null;
    if (this.opts.fence.method === 'command') {
      await runShellCommand(NAME, 'fence', this.opts.fence.command ?? '', {
        env: { DR_SIDE: side, DR_PG_URL: this.url(side), DR_PG_OTHER_URL: this.url(other(side)) },
        timeoutSeconds: 120,
      });
      const after = await this.inspect(side);
      if (!after.reachable) {
        // The command shut the server down: a clean shutdown sends all WAL to the standby first.
        const finalLsn = await this.receivedAfterShutdown(other(side));
        return { finalLsn, terminated, ms: Date.now() - started };
      }
    } else {
      await this.withClient(side, 'fencing writes (read-only)', async (c) => {
        await c.query('ALTER SYSTEM SET default_transaction_read_only = on');
        await c.query('SELECT pg_reload_conf()');
      });
      // The reload is asynchronous: once a new session sees it, every later session is read-only.
      await this.poll(10_000, `${side} to apply default_transaction_read_only`, () =>
        this.withClient(side, 'checking the fence', async (c) =>
          (await c.query('SHOW default_transaction_read_only')).rows[0]
            .default_transaction_read_only === 'on'
            ? true
            : undefined,
        ),
      );
      terminated = await this.endSessions(side);
    }
    const finalLsn = await this.withClient(
      side,
      'reading the final LSN',
      async (c) => {
        try {
          await c.query('CHECKPOINT');
        } catch (err) {
          // Without CHECKPOINT rights the write position is still a correct, if slightly early, target.
          this.opts.log.warn(
            { err: (err as Error).message, side },
            'CHECKPOINT before reading the final LSN failed',
          );
        }
        return (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
      },
      300_000,
    );
    this.opts.log.info(
      { side, method: this.opts.fence.method, terminated, finalLsn },
      'postgres writes fenced',
    );
    return { finalLsn, terminated, ms: Date.now() - started };
  }

  /**
   * End every client session that predates the fence and wait until each is gone, on every
   * version: pg_terminate_backend(pid, timeout) on 14+ only returns false for a session that
   * outlives it, and a session still open could commit after the final LSN is read. Sessions
   * opened since are read-only by default and are not waited for (an application reconnecting
   * in a loop would otherwise hold the fence up forever).
   */
  private async endSessions(side: RegionRole): Promise<number> {
    const timeoutMs = this.opts.sessionExitTimeoutMs ?? 15_000;
    return this.withClient(side, 'ending client sessions', async (c) => {
      const { rows } = await c.query<{ pid: number; started: string; app: string; ended: boolean }>(
        `SELECT pid, backend_start::text AS started, application_name AS app, pg_terminate_backend(pid) AS ended
           FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const alive = await c.query<{ pid: number; started: string; app: string }>(
          `SELECT pid, backend_start::text AS started, application_name AS app FROM pg_stat_activity WHERE pid = ANY($1::int[])`,
          [rows.map((r) => r.pid)],
        );
        // A pid reused by a new (read-only) session is not the one we ended.
        const left = alive.rows.filter((a) =>
          rows.some((r) => r.pid === a.pid && r.started === a.started),
        );
        if (left.length === 0) return rows.length;
        if (Date.now() > deadline) {
          const names = left.map((l) => `${l.pid}${l.app ? ` (${l.app})` : ''}`).join(', ');
          throw new ProviderError(
            NAME,
            `${this.where(side)}: ${left.length} client session${left.length === 1 ? '' : 's'} did not exit within ${Math.round(timeoutMs / 1000)} s of pg_terminate_backend (pid ${names}); one still open could commit after the final LSN is read, so nothing was promoted. ${side} stays fenced read-only (new sessions cannot write): end them (on the host: kill the pid, check for a process stuck in I/O), then Retry.`,
            { code: 'timeout', retryable: true },
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  }

  private async receivedAfterShutdown(standby: RegionRole): Promise<string> {
    return this.poll(
      this.opts.catchUpTimeoutSeconds * 1000,
      `${standby}'s WAL receiver to see the fenced server go away`,
      () =>
        this.withClient(standby, 'reading the received LSN', async (c) => {
          const streaming = (
            await c.query(`SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'`)
          ).rowCount;
          if (streaming) return undefined;
          return (
            ((await c.query('SELECT pg_last_wal_receive_lsn()::text AS lsn')).rows[0].lsn as
              string | null) ?? undefined
          );
        }),
    );
  }

  /** Undo a read-only fence we left on `side` earlier (a failback promotes the old, fenced primary). */
  private async unfence(side: RegionRole): Promise<boolean> {
    return this.withClient(side, 'removing the read-only fence', async (c) => {
      const { rows } = await c.query(
        `SELECT setting, sourcefile FROM pg_settings WHERE name = 'default_transaction_read_only'`,
      );
      const fenced =
        rows[0]?.setting === 'on' &&
        String(rows[0]?.sourcefile ?? '').endsWith('postgresql.auto.conf');
      if (!fenced) return false;
      await c.query('ALTER SYSTEM RESET default_transaction_read_only');
      await c.query('SELECT pg_reload_conf()');
      return true;
    });
  }

  private async waitForReplay(
    target: RegionRole,
    finalLsn: string,
    progress: Progress,
  ): Promise<{ ms: number; replayLsn: string }> {
    const started = Date.now();
    const deadline = started + this.opts.catchUpTimeoutSeconds * 1000;
    let lastReport = 0;
    for (;;) {
      const replayLsn = await this.withClient(
        target,
        'reading the replay LSN',
        async (c) =>
          (await c.query('SELECT pg_last_wal_replay_lsn()::text AS lsn')).rows[0].lsn as
            string | null,
      );
      const behind = replayLsn ? lsnDiff(finalLsn, replayLsn) : null;
      if (replayLsn && behind !== null && behind <= 0)
        return { ms: Date.now() - started, replayLsn };
      if (Date.now() > deadline) {
        throw new ProviderError(
          NAME,
          `${this.where(target)} did not replay the final LSN ${finalLsn} within ${this.opts.catchUpTimeoutSeconds} s (replayed ${replayLsn ?? 'nothing'}, ${behind === null ? '?' : formatBytes(behind)} behind). ${other(target)} stays fenced read-only: fix replication and retry, choose an unplanned failover, or lift the fence with ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();`,
          { code: 'timeout', retryable: true },
        );
      }
      if (Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        progress(
          `waiting for ${target} to replay ${finalLsn}: ${behind === null ? '?' : formatBytes(behind)} behind`,
          { finalLsn, replayLsn, behindBytes: behind },
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async pgPromote(target: RegionRole, progress: Progress): Promise<number> {
    progress(`promoting ${target} (pg_promote)`);
    const started = Date.now();
    const timeout = this.opts.promoteTimeoutSeconds;
    const promoted = await this.withClient(
      target,
      'pg_promote',
      async (c) =>
        (await c.query('SELECT pg_promote(true, $1) AS ok', [timeout])).rows[0].ok as boolean,
      (timeout + 10) * 1000,
    );
    this.opts.log.info({ target, promoted, ms: Date.now() - started }, 'pg_promote returned');
    if (!promoted) {
      throw new ProviderError(
        NAME,
        `${this.where(target)}: pg_promote did not finish within ${timeout} s; check the server log. The step re-checks before any retry.`,
        {
          code: 'timeout',
          retryable: true,
        },
      );
    }
    return Date.now() - started;
  }

  private async poll<T>(
    timeoutMs: number,
    what: string,
    probe: () => Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline)
        throw new ProviderError(
          NAME,
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`,
          { code: 'timeout', retryable: true },
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async verifyWriter(target: RegionRole): Promise<CheckResult[]> {
    const s = await this.inspect(target);
    if (!s.reachable)
      return [
        {
          name: `postgres ${target} reachable`,
          kind: 'database',
          ok: false,
          detail: s.error.message,
        },
      ];
    const checks: CheckResult[] = [
      {
        name: `postgres ${target} not in recovery`,
        kind: 'database',
        ok: !s.inRecovery,
        detail: `pg_is_in_recovery() = ${s.inRecovery}`,
      },
    ];
    const started = Date.now();
    try {
      await this.withClient(target, 'write probe', async (c) => {
        if (this.opts.probe.statement) {
          await c.query(this.opts.probe.statement);
          return;
        }
        const table = quoteIdent(this.opts.probe.table);
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${table} (region text PRIMARY KEY, probed_at timestamptz NOT NULL, probed_by text NOT NULL)`,
        );
        await c.query(
          `INSERT INTO ${table} (region, probed_at, probed_by) VALUES ($1, clock_timestamp(), 'dr-bot')
           ON CONFLICT (region) DO UPDATE SET probed_at = EXCLUDED.probed_at, probed_by = EXCLUDED.probed_by`,
          [target],
        );
      });
      checks.push({
        name: `postgres ${target} write probe`,
        kind: 'database',
        ok: true,
        detail: this.opts.probe.statement
          ? 'probe statement succeeded'
          : `wrote ${this.opts.probe.table}`,
        durationMs: Date.now() - started,
      });
    } catch (err) {
      checks.push({
        name: `postgres ${target} write probe`,
        kind: 'database',
        ok: false,
        detail: (err as Error).message,
        durationMs: Date.now() - started,
      });
    }
    return checks;
  }

  async isStreamingStandby(standby: RegionRole): Promise<boolean> {
    const s = await this.inspectReachable(standby);
    if (!s.inRecovery || s.receiver?.status !== 'streaming') return false;
    const o = await this.inspect(other(standby));
    return o.reachable && !o.inRecovery && o.systemId === s.systemId;
  }

  /**
   * Make `standby` (the old primary, or the secondary at the end of a failback) a streaming
   * standby of the other side through the configured resync command: analyse first (rewind or
   * rebuild, what is lost), CHECKPOINT the writer (else pg_rewind sees one timeline and does
   * nothing), run the command, rebuild when the rewind fails, then wait for streaming at lag 0.
   */
  async resync({
    standby,
    progress,
  }: {
    standby: RegionRole;
    progress: Progress;
  }): Promise<ActionResult> {
    const writer = other(standby);
    const s = await this.inspect(standby);
    if (s.reachable && (await this.isStreamingStandby(standby))) {
      return {
        noop: true,
        summary: `${standby} is already a streaming standby of ${writer}`,
        evidence: {},
      };
    }
    const resync = this.opts.resync;
    if (!resync) {
      throw new PreconditionFailed(
        `postgres.resync.command is not configured: ${standby} must be rewound or rebuilt as a standby of ${writer} by hand (pg_rewind, else pg_basebackup), or configure the command (see README, "Failback")`,
      );
    }
    const w = await this.inspectReachable(writer);
    if (w.inRecovery) {
      throw new PreconditionFailed(
        `${this.where(writer)} is in recovery: there is no writer to resync ${standby} from. Find the real writer first.`,
        { code: 'wrong-target' },
      );
    }
    // Unreachable here means stopped (a resync interrupted after it stopped the server): the command starts from there.
    if (s.reachable) this.sameCluster(standby, s, w);
    // Stopped standby: the writer is the only side to check, and a wrong one would be copied over it.
    const wrongTarget = s.reachable
      ? await this.identityProblem(standby, s, w)
      : await this.identityProblem(writer, w, s);
    if (wrongTarget)
      throw new PreconditionFailed(`${wrongTarget} Nothing was changed.`, { code: 'wrong-target' });
    if (!s.reachable)
      progress(
        `${standby} does not answer (${s.error.message}): the resync command takes it from there`,
      );
    let analysis: Divergence | null = null;
    if (s.reachable && !s.inRecovery) {
      analysis = await this.divergence(standby);
      if (!analysis) {
        // Not promoted away from it: overwriting a writer with no common history would destroy data we cannot account for.
        throw new PreconditionFailed(
          `${this.where(standby)} accepts writes but ${writer} was not promoted from its timeline: refusing to overwrite it. Decide which side holds the data before resyncing.`,
          { code: 'wrong-target' },
        );
      }
      progress(`analysis of ${standby}: ${analysis.description}`, {
        divergenceLsn: analysis.divergenceLsn,
        lostBytes: analysis.lostBytes,
        lostTransactions: analysis.lostTransactions,
        method: analysis.method,
      });
    }
    const planned: ResyncMethod = analysis?.method ?? 'rewind';
    await this.withClient(
      writer,
      'CHECKPOINT before the resync',
      (c) => c.query('CHECKPOINT'),
      300_000,
    );
    const started = Date.now();
    const run = (method: ResyncMethod) => {
      progress(
        `running the resync command for ${standby} (${method === 'rewind' ? 'pg_rewind' : 'pg_basebackup'})`,
      );
      return runShellCommand(NAME, `resync (${method})`, resync.command, {
        env: this.resyncEnv(standby, method, analysis),
        timeoutSeconds: resync.timeoutSeconds,
      });
    };
    let method = planned;
    let rewindError: string | null = null;
    let result;
    try {
      result = await run(method);
    } catch (err) {
      if (method !== 'rewind') throw err;
      rewindError = (err as Error).message;
      this.opts.log.warn(
        { standby, err: rewindError },
        'rewind failed: rebuilding with a full copy',
      );
      progress(
        `rewinding ${standby} failed (${rewindError}): rebuilding it from a full copy of ${writer}`,
      );
      method = 'rebuild';
      result = await run(method);
    }
    await this.poll(60_000, `${standby} to stream from ${writer} after the resync`, async () =>
      (await this.isStreamingStandby(standby).catch(() => false)) ? true : undefined,
    );
    const caughtUp = await this.waitForLagZero(standby, progress);
    const lost =
      analysis && analysis.lostBytes > 0
        ? `; discarded ${formatBytes(analysis.lostBytes)} it wrote after the split (${analysis.lostTransactions ?? 'uncounted'} transactions)`
        : '';
    return {
      noop: false,
      summary: `${standby} ${method === 'rewind' ? 'rewound (pg_rewind)' : `rebuilt (pg_basebackup${rewindError ? ' after the rewind failed' : ''})`} and streaming from ${writer}, lag 0 at ${caughtUp.replayLsn}${lost}`,
      evidence: {
        method,
        plannedMethod: planned,
        rewindError,
        divergenceLsn: analysis?.divergenceLsn ?? null,
        lostBytes: analysis?.lostBytes ?? null,
        lostTransactions: analysis?.lostTransactions ?? null,
        replayLsn: caughtUp.replayLsn,
        durationMs: Date.now() - started,
        commandMs: result.durationMs,
        output: result.tail,
      },
    };
  }

  /** What a resync command receives (README, "Failback"): inputs as variables, never on the command line. */
  private resyncEnv(
    standby: RegionRole,
    method: ResyncMethod,
    analysis: Divergence | null,
  ): Record<string, string> {
    const writer = other(standby);
    return {
      DR_RESYNC_STANDBY: standby,
      DR_RESYNC_TARGET_URL: this.url(standby),
      DR_RESYNC_SOURCE_URL: this.url(writer),
      DR_RESYNC_METHOD: method,
      DR_RESYNC_DIVERGENCE_LSN: analysis?.divergenceLsn ?? '',
    };
  }

  /** Wait until `standby` has replayed everything the writer has written (lag 0). */
  private async waitForLagZero(
    standby: RegionRole,
    progress: Progress,
  ): Promise<{ replayLsn: string }> {
    const writer = other(standby);
    const target = await this.withClient(
      writer,
      'reading the write position',
      async (c) =>
        (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string,
    );
    let lastReport = 0;
    const replayLsn = await this.poll(
      this.opts.catchUpTimeoutSeconds * 1000,
      `${standby} to replay ${writer}'s WAL up to ${target} (lag 0)`,
      () =>
        this.withClient(standby, 'reading the replay LSN', async (c) => {
          const lsn = (await c.query('SELECT pg_last_wal_replay_lsn()::text AS lsn')).rows[0]
            .lsn as string | null;
          if (lsn && lsnDiff(target, lsn) <= 0) return lsn;
          if (Date.now() - lastReport >= 1000) {
            lastReport = Date.now();
            progress(
              `waiting for ${standby} to catch up: ${lsn ? formatBytes(lsnDiff(target, lsn)) : '?'} behind`,
            );
          }
          return undefined;
        }),
    );
    return { replayLsn };
  }

  /**
   * Both sides hold the same data: same cluster, the standby replayed the writer's WAL (LSNs equal),
   * and each configured table has the same row count and checksum. The writer is read first and
   * the standby after it caught up with the LSN read after that, so writes still arriving on the
   * writer cannot make a consistent pair look different.
   */
  async consistency({
    writer,
    progress,
  }: {
    writer: RegionRole;
    progress: Progress;
  }): Promise<CheckResult[]> {
    const standby = other(writer);
    const [w, s] = await Promise.all([
      this.inspectReachable(writer),
      this.inspectReachable(standby),
    ]);
    const checks: CheckResult[] = [
      {
        name: 'postgres same cluster',
        kind: 'database',
        ok: w.systemId === s.systemId,
        detail: `system identifiers ${w.systemId} / ${s.systemId}`,
      },
    ];
    if (!w.currentLsn) {
      checks.push({
        name: `postgres ${writer} is the writer`,
        kind: 'database',
        ok: false,
        detail: `${writer} is in recovery`,
      });
      return checks;
    }
    if (!s.inRecovery) {
      checks.push({
        name: `postgres ${standby} is a standby`,
        kind: 'database',
        ok: false,
        detail: `${standby} is not in recovery: it is not replicating from ${writer}`,
      });
      return checks;
    }
    const sums = new Map<string, { n: string; sum: string } | Error>();
    for (const table of this.opts.consistencyTables) {
      sums.set(
        table,
        await this.withClient(writer, `checksumming ${table}`, (c) =>
          this.tableSum(c, table),
        ).catch((err: Error) => err),
      );
    }
    const lsn = await this.withClient(
      writer,
      'reading the write position',
      async (c) =>
        (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string,
    );
    const name = `postgres ${standby} replayed ${writer}'s WAL`;
    let replayed = false;
    if (s.replayPaused) {
      // Paused replay never catches up by itself: say so now instead of waiting for the timeout.
      checks.push({
        name,
        kind: 'database',
        ok: false,
        detail: `WAL replay is paused on ${standby} (replayed ${s.replayLsn ?? 'nothing'}, ${writer} at ${lsn}): resume it with SELECT pg_wal_replay_resume() and retry`,
      });
    } else {
      try {
        const r = await this.waitForReplay(standby, lsn, progress);
        replayed = true;
        checks.push({
          name,
          kind: 'database',
          ok: true,
          detail: `LSNs equal: ${standby} replayed ${r.replayLsn}, ${writer} at ${lsn}`,
          durationMs: r.ms,
        });
      } catch (err) {
        // waitForReplay's own text is about a fenced failover; here nothing was fenced.
        const detail =
          err instanceof DrError && err.code === 'timeout'
            ? `${standby} did not replay ${writer}'s WAL up to ${lsn} within ${this.opts.catchUpTimeoutSeconds} s: check its replication (pg_stat_wal_receiver on ${standby}), then Retry`
            : (err as Error).message;
        checks.push({ name, kind: 'database', ok: false, detail });
      }
    }
    for (const [table, a] of sums) {
      const check = { name: `postgres table ${table}`, kind: 'database' as const };
      if (a instanceof Error) {
        checks.push({ ...check, ok: false, detail: a.message });
        continue;
      }
      try {
        checks.push({
          ...check,
          ...(await this.compareTable(writer, table, a, replayed, progress)),
        });
      } catch (err) {
        checks.push({ ...check, ok: false, detail: (err as Error).message });
      }
    }
    return checks;
  }

  /**
   * `first` was read on the writer before the standby caught up. A mismatch only counts when the
   * writer still shows `first` afterwards; a table written meanwhile is compared again (the
   * writer keeps serving until promote-primary fences it).
   */
  private async compareTable(
    writer: RegionRole,
    table: string,
    first: { n: string; sum: string },
    replayed: boolean,
    progress: Progress,
  ): Promise<{ ok: boolean; detail: string }> {
    const standby = other(writer);
    const describe = (
      a: { n: string; sum: string },
      b: { n: string; sum: string },
      ok: boolean,
      note = '',
    ) =>
      `${writer}: ${a.n} rows, ${standby}: ${b.n} rows${ok ? ', checksums match' : a.n === b.n ? ', checksums differ' : ''}${note}`;
    let a = first;
    for (let attempt = 1; ; attempt++) {
      const b = await this.withClient(standby, `checksumming ${table}`, (c) =>
        this.tableSum(c, table),
      );
      if (a.n === b.n && a.sum === b.sum) return { ok: true, detail: describe(a, b, true) };
      if (!replayed)
        return {
          ok: false,
          detail: describe(a, b, false, ` (${standby} has not replayed ${writer}'s WAL)`),
        };
      const now = await this.withClient(writer, `checksumming ${table}`, (c) =>
        this.tableSum(c, table),
      );
      if (now.n === a.n && now.sum === a.sum) return { ok: false, detail: describe(a, b, false) };
      if (attempt === 3)
        return {
          ok: false,
          detail: `${describe(now, b, false)}: ${table} kept changing on ${writer} during ${attempt} comparisons; compare it when its writes pause, or Skip`,
        };
      progress(`${table} changed on ${writer} during the comparison: comparing again`);
      a = now;
      const lsn = await this.withClient(
        writer,
        'reading the write position',
        async (c) =>
          (await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string,
      );
      await this.waitForReplay(standby, lsn, progress);
    }
  }

  /** Row count and an md5 over every row in a fixed order: equal on both sides only when the rows are. */
  private async tableSum(c: pg.Client, table: string): Promise<{ n: string; sum: string }> {
    const { rows } = await c.query(
      `SELECT count(*)::text AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS sum FROM ${quoteIdent(table)} t`,
    );
    return { n: rows[0].n as string, sum: rows[0].sum as string };
  }

  async close(): Promise<void> {
    await this.keeping;
    await Promise.all([...this.open].map((c) => c.end().catch(() => undefined)));
    this.open.clear();
  }
}
