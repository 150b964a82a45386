/**
 * Which PostgreSQL cluster the bot fails over: its system identifier, remembered whenever the
 * provider sees both sides answer with the same one. With the primary down, the secondary can
 * only be told apart from an unrelated server (a wrong URL, a DNS name moved elsewhere) by this
 * remembered identifier or by `components.postgres.systemIdentifier` in the config.
 *
 * A port, so the provider neither builds clients nor knows the store: `dr start` keeps it in the
 * bot's own Redis (it survives a restart of the bot while the primary is down); everything else
 * (CLI commands, tests) keeps it in memory for the provider's lifetime.
 */

/**
 * `cluster` names the pair by its primary's host:port, so a new cluster at a new address (a lab
 * created afresh) never meets an identifier remembered for an old one.
 */
export interface SystemIdentifierMemory {
  /** The identifier seen on both sides together last time, or null when never seen. */
  recall(cluster: string): Promise<string | null>;
  remember(cluster: string, systemIdentifier: string): Promise<void>;
}

export function memorySystemIdentifier(): SystemIdentifierMemory {
  const known = new Map<string, string>();
  return {
    recall: async (cluster) => known.get(cluster) ?? null,
    remember: async (cluster, id) => {
      known.set(cluster, id);
    },
  };
}

/** The two commands it needs, so any Redis client (ioredis) fits without this module importing one. */
interface KeyValue {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
}

/** Kept under `<prefix><cluster>` (e.g. `dr:pg-system-identifier:<environment>:db1.internal:5432`) in the bot's state Redis. */
export function keyValueSystemIdentifier(kv: KeyValue, prefix: string): SystemIdentifierMemory {
  return {
    recall: (cluster) => kv.get(`${prefix}${cluster}`),
    remember: async (cluster, id) => {
      await kv.set(`${prefix}${cluster}`, id);
    },
  };
}

/**
 * Two more facts per server (its host:port) that must outlive the bot's process, kept beside the
 * identifier: the fence a planned failover left on it, and the last reading of it as a writer.
 */

/**
 * A planned failover's read-only fence of `server`: the final LSN read after it (which the standby
 * replayed before promotion), the split that promotion made (the fenced timeline and the new
 * timeline's fork LSN, read from the promoted side's history) and the next transaction id then, so
 * a failback can prove the fence it finds is this one and that nothing took a transaction id since.
 */
export interface FenceRecord {
  finalLsn: string;
  /** The fenced server's timeline, and the fork of the timeline promoted from it. */
  timeline: number;
  splitLsn: string;
  /** The fenced server's next transaction id (pg_snapshot_xmax of pg_current_snapshot) once fenced. */
  nextXid: string;
  at: string;
}

/**
 * The fence of a planned failover as read before its promotion (no split yet): kept before
 * pg_promote, so a promotion whose reply is lost (or whose bot crashed) can still leave its
 * FenceRecord when a re-check finds it done.
 */
export type FenceTaken = Omit<FenceRecord, 'splitLsn'>;

/** A writer's flushed WAL and when it was read (its clock), with what names its history. */
export interface WriterReading {
  flushLsn: string;
  at: string;
  systemId: string;
  timeline: number | null;
}

export interface PostgresServerMemory {
  recallFence(server: string): Promise<FenceRecord | null>;
  rememberFence(server: string, fence: FenceRecord): Promise<void>;
  recallFenceTaken(server: string): Promise<FenceTaken | null>;
  rememberFenceTaken(server: string, fence: FenceTaken): Promise<void>;
  recallWriter(server: string): Promise<WriterReading | null>;
  rememberWriter(server: string, reading: WriterReading): Promise<void>;
  forgetWriter(server: string): Promise<void>;
}

export function memoryPostgresServers(): PostgresServerMemory {
  const fences = new Map<string, FenceRecord>();
  const writers = new Map<string, WriterReading>();
  const taken = new Map<string, FenceTaken>();
  return {
    recallFence: async (s) => fences.get(s) ?? null,
    rememberFence: async (s, f) => void fences.set(s, f),
    recallFenceTaken: async (s) => taken.get(s) ?? null,
    rememberFenceTaken: async (s, f) => void taken.set(s, f),
    recallWriter: async (s) => writers.get(s) ?? null,
    rememberWriter: async (s, r) => void writers.set(s, r),
    forgetWriter: async (s) => void writers.delete(s),
  };
}

/** The commands kept facts need, with an expiry (ioredis fits). */
interface ExpiringKeyValue {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/** A writer reading older than this tells nothing about a failure now: it expires. */
const WRITER_READING_TTL_MS = 3 * 24 * 3600 * 1000;

function parse<T>(text: string | null, valid: (v: Record<string, unknown>) => boolean): T | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && valid(v as Record<string, unknown>) ? (v as T) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

/**
 * Kept in the bot's state Redis as small JSON under `<prefix>pg-fence:<server>` (no expiry: a
 * failback may come weeks later; the next planned fence of the server overwrites it),
 * `<prefix>pg-fence-taken:<server>` (the same before the promotion; overwritten likewise) and
 * `<prefix>pg-writer-seen:<server>` (overwritten at each reading, expires after 3 days). `prefix`
 * names the environment, e.g. `dr:` + `<environment>:` gives `dr:pg-fence:<environment>:db1:5432`.
 */
export function keyValuePostgresServers(
  kv: ExpiringKeyValue,
  opts: { prefix: string; environment: string },
): PostgresServerMemory {
  const fence = (s: string) => `${opts.prefix}pg-fence:${opts.environment}:${s}`;
  const writer = (s: string) => `${opts.prefix}pg-writer-seen:${opts.environment}:${s}`;
  const taken = (s: string) => `${opts.prefix}pg-fence-taken:${opts.environment}:${s}`;
  const fenceFields = (v: Record<string, unknown>) =>
    str(v.finalLsn) && str(v.nextXid) && str(v.at) && typeof v.timeline === 'number';
  return {
    recallFence: async (s) =>
      parse<FenceRecord>(await kv.get(fence(s)), (v) => fenceFields(v) && str(v.splitLsn)),
    rememberFence: async (s, f) => {
      await kv.set(fence(s), JSON.stringify(f));
    },
    recallFenceTaken: async (s) => parse<FenceTaken>(await kv.get(taken(s)), fenceFields),
    rememberFenceTaken: async (s, f) => {
      await kv.set(taken(s), JSON.stringify(f));
    },
    recallWriter: async (s) =>
      parse<WriterReading>(
        await kv.get(writer(s)),
        (v) =>
          str(v.flushLsn) &&
          str(v.at) &&
          str(v.systemId) &&
          (v.timeline === null || typeof v.timeline === 'number'),
      ),
    rememberWriter: async (s, r) => {
      await kv.set(writer(s), JSON.stringify(r), 'PX', WRITER_READING_TTL_MS);
    },
    forgetWriter: async (s) => {
      await kv.del(writer(s));
    },
  };
}

/**
 * Everything the PostgreSQL provider keeps about the servers in the bot's state Redis, under the
 * keys `dr start` and `dr console` share: the cluster's system identifier, and each server's fence
 * and last writer reading. One place, so a console after a bot (or the reverse) reads what the
 * other kept.
 */
export function keptPostgresFacts(
  kv: ExpiringKeyValue,
  opts: { environment: string; prefix?: string },
): { postgresIdentity: SystemIdentifierMemory; postgresServers: PostgresServerMemory } {
  const prefix = opts.prefix ?? 'dr:';
  return {
    postgresIdentity: keyValueSystemIdentifier(
      kv,
      `${prefix}pg-system-identifier:${opts.environment}:`,
    ),
    postgresServers: keyValuePostgresServers(kv, { prefix, environment: opts.environment }),
  };
}
