/**
 * Typed errors. Guards and retry logic branch on `code` and `retryable`, never on message text;
 * the message is for the person on call and says what to do.
 */
type ErrorCode =
  | 'provider'
  | 'precondition-failed'
  | 'wrong-target'
  | 'timeout'
  /** The connection a call went through dropped or could not be made: its outcome is unknown. */
  | 'connection-lost'
  | 'not-found'
  | 'forbidden'
  | 'throttled'
  | 'config'
  | 'stale-version'
  | 'fenced'
  | 'conflict'
  | 'verification-failed';

/**
 * A last resort the driver says a person may choose because its normal call cannot switch
 * (issue 20: detach an ElastiCache secondary). Recorded with the step's error; only offered on the
 * card, behind its own confirmation and two people, never run by Retry or Approve.
 */
export interface LastResortOffer {
  action: 'detach-cache';
  /** Why the normal switch cannot be done, and what the last resort would do. */
  why: string;
}

export class DrError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Set by a driver where the failed call leaves a last resort open (see LastResortOffer). */
  lastResort?: LastResortOffer;
  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A cloud or data-tier call failed. `provider` names the implementation (postgres, route53, ...). */
export class ProviderError extends DrError {
  readonly provider: string;
  constructor(
    provider: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown; code?: ErrorCode } = {},
  ) {
    super(options.code ?? 'provider', `${provider}: ${message}`, options);
    this.provider = provider;
  }
}

/** The real state is not what the step needs (wrong target, not a standby, record missing...). Refused before any change. */
export class PreconditionFailed extends DrError {
  constructor(
    message: string,
    options: { cause?: unknown; code?: 'precondition-failed' | 'wrong-target' | 'not-found' } = {},
  ) {
    super(options.code ?? 'precondition-failed', message, {
      retryable: false,
      cause: options.cause,
    });
  }
}

/** The config file or the environment is invalid; start-up stops with this message. */
export class ConfigError extends DrError {
  constructor(message: string) {
    super('config', message);
  }
}

/** A compare-and-set write found a newer version: another writer got there first. */
export class StaleVersionError extends DrError {
  constructor(opId: string, expected: number, actual: number | null) {
    super(
      'stale-version',
      `operation ${opId}: stale write refused (expected version ${expected}, store has ${actual ?? 'none'})`,
    );
  }
}

/**
 * A write refused by the lease's fencing token: the instance lease no longer holds this
 * process's token (another instance took it, or it vanished in a state-Redis failover).
 */
export class FencedWriteError extends DrError {
  constructor(what: string, token: number, holderToken: string) {
    super(
      'fenced',
      `${what} refused: this process no longer holds the instance lease (its token ${token}, the lease now ${holderToken === 'none' ? 'held by nobody' : `token ${holderToken}`}): nothing was written; another instance acts on this environment`,
    );
  }
}

/**
 * A data-tier step that failed, with where its component stood right after (read then): the
 * machine records the roles beside the error, so a split data tier can be shown and undone.
 * Everything else sees the original error (errorInfo unwraps it).
 */
export class FailedWithRoles<TRoles = unknown> extends Error {
  constructor(
    readonly error: unknown,
    /** A DataTierRole (typed by the step that throws it; errors.ts imports no domain type). */
    readonly roles: TRoles,
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
    this.name = 'FailedWithRoles';
  }
}

export interface ErrorInfo {
  code: ErrorCode | 'unknown';
  message: string;
  retryable: boolean;
  provider?: string;
  /** The driver offers a last resort for this failure (the card shows its button). */
  lastResort?: LastResortOffer;
}

/** Serializable form of any thrown value, for snapshots and the timeline. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof FailedWithRoles) return errorInfo(err.error);
  if (err instanceof DrError) {
    return {
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      ...(err instanceof ProviderError ? { provider: err.provider } : {}),
      ...(err.lastResort ? { lastResort: { ...err.lastResort } } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'unknown', message, retryable: true };
}
