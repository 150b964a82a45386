import type { OperationKind, TimelineEntry } from '../domain/types.js';

export interface PersistedOperation {
  id: string;
  env: string;
  kind: OperationKind;
  /** Incremented by every save; a save names the version it read (compare-and-set). */
  version: number;
  /** `active` until the operation reaches a final phase. */
  status: 'active' | 'finished';
  /** The XState persisted snapshot (JSON); undefined when it could not be parsed (see snapshotError). */
  snapshot: unknown;
  /** Set when the stored snapshot is not JSON. */
  snapshotError?: string;
  updatedAt: number;
  /** The id of the save that wrote this version (none for version 1, written by create). */
  saveId?: string;
}

export type CreateResult = { ok: true; version: number } | { ok: false; activeId: string };

/** withdraw's answer: removed, not there at all, or kept because it moved on past its create. */
export type WithdrawResult = 'withdrawn' | 'absent' | 'in-use';

/**
 * Redis persistence for operations. Keys live under a prefix (default `dr:`) so tests can use
 * their own namespace on a shared server.
 */
export interface OperationStore {
  /** A new id, e.g. `DR-20261125-093015`: the UTC time of the request, or the next free number. */
  nextOperationId(now?: Date): Promise<string>;
  /**
   * Atomically take the one-active-operation lock of `env` and write version 1 with its first
   * timeline entries. When another operation holds the lock, nothing is written.
   */
  create(op: {
    id: string;
    env: string;
    kind: OperationKind;
    snapshot: unknown;
    entries: TimelineEntry[];
  }): Promise<CreateResult>;
  /**
   * Compare-and-set: write `snapshot` as version expectedVersion+1 and append `entries` to the
   * timeline, atomically. Throws StaleVersionError when the stored version is not
   * `expectedVersion`. `final` marks it finished and releases the env lock.
   *
   * Idempotent per `saveId` (default: a fresh one per call): the same save repeated after it
   * was applied returns its version again and writes nothing. A caller that retries a save
   * whose reply it did not get passes the same saveId each time.
   */
  save(
    id: string,
    expectedVersion: number,
    snapshot: unknown,
    entries: TimelineEntry[],
    opts?: { final?: boolean; saveId?: string },
  ): Promise<number>;
  load(id: string): Promise<PersistedOperation | null>;
  /** Ids of active operations (all envs, or one). */
  listActive(env?: string): Promise<string[]>;
  activeFor(env: string): Promise<string | null>;
  lastFinished(env: string): Promise<string | null>;
  /**
   * Entries that are not transitions (step progress, resume notes); no version change.
   *
   * Idempotent per `appendId` (default: a fresh one per call, which covers ioredis resending the
   * command after a reconnect): the same append repeated after it was applied writes nothing.
   * A caller that retries an append whose reply it did not get passes the same appendId.
   */
  append(id: string, entries: TimelineEntry[], opts?: { appendId?: string }): Promise<void>;
  /**
   * Remove an operation that is still exactly as its create wrote it (version 1, active), with
   * its lock, timeline and metadata: a create reported to the requester as failed, whose write
   * Redis may have applied all the same. An operation saved since then is kept ('in-use').
   */
  withdraw(id: string): Promise<WithdrawResult>;
  timeline(id: string): Promise<TimelineEntry[]>;
  /** Adapter metadata (the Slack status card's channel and ts, ...). */
  setMeta(id: string, key: string, value: string): Promise<void>;
  getMeta(id: string, key: string): Promise<string | null>;
  /**
   * Wait until every write so far is on disk and on a replica, as far as the store has them
   * (WAITAOF, or WAIT); what is missing, or undefined when confirmed. Called before a step acts.
   */
  confirmWritten?(): Promise<string | undefined>;
  /** True when the store's Redis answers PING. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
