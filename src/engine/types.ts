import type {
  OperationKind,
  OperationView,
  RefusalReason,
  RequestedMode,
  StepId,
  TimelineEntry,
} from '../domain/types.js';

/** Who may approve, skip and abort. The Slack adapter checks user ids and the user group. */
export interface Authorizer {
  isAuthorized(userId: string): Promise<boolean>;
}

export type RequestResult =
  | { ok: true; op: OperationView }
  | {
      ok: false;
      code: 'already-active';
      activeId: string;
      /** What the active one is, when it can be read. */
      activeKind?: OperationKind;
      /** Set when this version cannot resume the active one: why (it only closes with abort). */
      unrestorable?: string;
      message: string;
    }
  /**
   * `activeId` was aborted while these steps' provider calls were under way; they still run in
   * this process, and nothing new starts until they have settled (never two hands on DNS).
   */
  | { ok: false; code: 'settling'; activeId: string; stepIds: StepId[]; message: string };

export type ActionOutcome =
  | { ok: true; message: string; op: OperationView }
  | { ok: false; reason: RefusalReason; message: string; op?: OperationView };

/** Pushed to adapters after every persisted change, in order. */
export interface EngineNotification {
  op: OperationView;
  entries: TimelineEntry[];
}

/**
 * The one module that knows all the others: starts or resumes operation actors, persists every
 * transition, publishes the timeline. Adapters (Slack, console) call it and render what it emits.
 */
export interface Engine {
  /** Load and resume every active operation of this environment. */
  start(): Promise<void>;
  /** Stop actors (they stay persisted) and close what the engine owns. */
  stop(): Promise<void>;
  request(input: {
    kind: OperationKind;
    mode: RequestedMode;
    requester: string;
    reason: string;
  }): Promise<RequestResult>;
  approve(input: { opId: string; userId: string; planHash: string }): Promise<ActionOutcome>;
  reject(input: { opId: string; userId: string; reason?: string }): Promise<ActionOutcome>;
  retry(input: { opId: string; userId: string }): Promise<ActionOutcome>;
  /** `stepId`: a waiting manual step (`custom:<id>`); without it, the failed step or the only waiting one. */
  skip(input: { opId: string; userId: string; stepId?: StepId }): Promise<ActionOutcome>;
  /** Confirm a waiting manual step (a checklist item); without `stepId`, the only one waiting. */
  done(input: { opId: string; userId: string; stepId?: StepId }): Promise<ActionOutcome>;
  /** Ask for, or approve, the undo of a split data tier (two people, like the plan). */
  undo(input: { opId: string; userId: string }): Promise<ActionOutcome>;
  /** Ask for, or approve, a failed step's last resort (two people, as the undo; issue 20). */
  detach(input: { opId: string; userId: string }): Promise<ActionOutcome>;
  /** Without opId: the active operation of this environment. */
  abort(input: { opId?: string; userId: string; reason?: string }): Promise<ActionOutcome>;
  get(opId: string): Promise<OperationView | null>;
  /**
   * The active and the last finished operation. `unrestorable`: the active one cannot be shown
   * or resumed by this version (why); it keeps the lock until an approver aborts it.
   */
  status(): Promise<{
    active: OperationView | null;
    last: OperationView | null;
    unrestorable?: { id: string; reason: string };
  }>;
  timeline(opId: string): Promise<TimelineEntry[]>;
  subscribe(listener: (n: EngineNotification) => void): () => void;
}
