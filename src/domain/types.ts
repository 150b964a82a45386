/**
 * Domain types shared by the machine, the steps, the providers, the store, the engine and the
 * adapters (Slack, console). Plain data only: everything here is JSON-serializable because it
 * ends up in persisted snapshots and in the timeline.
 */
import type { ErrorInfo } from '../errors.js';
import type { ConsistencyScope } from './consistency.js';

/** A drill runs the failover, integration tests and the failback as one approved operation. */
export type OperationKind = 'failover' | 'failback' | 'drill';
/** What the requester asked for; `auto` lets preflight decide from the primary's reachability. */
export type RequestedMode = 'planned' | 'unplanned' | 'auto';
/** Planned: primary reachable, fence + catch up + promote, zero loss. Unplanned: primary gone, loss measured first. */
export type Mode = 'planned' | 'unplanned';
export type RegionRole = 'primary' | 'secondary';
export type Component =
  | 'database'
  | 'cache'
  | 'dns'
  | 'cluster'
  | 'verification'
  | 'health'
  | 'object-storage'
  | 'terraform-state';

/** The steps dr-bot ships with (src/steps). */
type BuiltinStepId =
  // failover
  | 'promote-database'
  | 'promote-cache'
  | 'switch-dns'
  | 'scale-secondary'
  | 'verify-secondary'
  // failback
  | 'verify-primary'
  | 'resync-database'
  | 'resync-cache'
  | 'scale-primary'
  | 'verify-consistency'
  | 'promote-primary'
  | 'switch-dns-back'
  | 'demote-secondary'
  | 'scale-secondary-down'
  | 'verify-primary-serving'
  // drill
  | 'start-write-load'
  | 'run-integration-tests'
  | 'stop-write-load';

/** A team's own step from `runbook.steps`: its configured id behind a prefix no built-in id has. */
export type CustomStepId = `custom:${string}`;
export type StepId = BuiltinStepId | CustomStepId;

/**
 * A custom step as the plan shows it and approvals bind to: what it does (`detail`: the argv,
 * the request line or the checklist text), when it runs, and for a manual item who may confirm.
 */
export interface CustomStepPlan {
  id: CustomStepId;
  title: string;
  action: 'command' | 'http' | 'manual';
  detail: string;
  modes: Mode[];
  /** Manual items: Slack user ids who may press Done; empty: anyone in the channel. */
  owners?: string[];
}

/** Ordered stages of step ids; the steps of one stage run in parallel. Data, not code. */
export interface Runbook {
  kind: OperationKind;
  stages: readonly (readonly StepId[])[];
  /** The step whose green result ends the RTO; default: the runbook's last `verify-` step. */
  rtoStep?: StepId;
  /** The custom steps placed in `stages`, from the config's `runbook.steps`. */
  custom?: readonly CustomStepPlan[];
}

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** What a step or a readiness check saw: LSNs, offsets, lag, durations, record values. */
export type Evidence = Record<string, JsonValue>;

export type ReadinessStatus = 'ready' | 'warning' | 'blocked' | 'not-configured';

/** One component's readiness, as shown in the approval request. */
export interface ComponentReadiness {
  component: Component;
  status: ReadinessStatus;
  /** One line for the card: "standby in recovery, lag 0 B / 0.2 s". */
  summary: string;
  /** The numbers behind the summary. */
  details: Evidence;
  /** Stable facts bound into the plan hash (not raw lag that changes every second). */
  planFacts: Record<string, string | number | boolean | null>;
  /** Database/cache: whether the old writer is reachable, so a planned (zero-loss) switch is possible. */
  primaryReachable?: boolean;
  /** Unplanned only: the data expected to be lost, measured before promotion. */
  expectedLoss?: ExpectedLoss;
  /** Warnings a person should read before approving (TTL vs RTO, lag over RPO, ...). */
  warnings?: string[];
}

export interface ExpectedLoss {
  bytes?: number | null;
  seconds?: number | null;
  /** "≈ 12 kB of WAL, last replayed transaction 4.2 s before the primary was lost". */
  description: string;
}

export interface PreflightReport {
  /** The mode the operation will run in (resolved from `auto`). */
  mode: Mode;
  components: ComponentReadiness[];
  checkedAt: number;
}

/** `waiting`: a manual checklist item posted, the operation waits for someone's Done (or Skip). */
export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped';

export interface CheckResult {
  name: string;
  kind: 'http' | 'command' | 'database' | 'cache' | 'dns' | 'cluster';
  ok: boolean;
  /** "200 in 35 ms", "exit 0", "role=master". */
  detail: string;
  durationMs?: number;
}

/** Data lost in a promotion, as recorded afterwards. Zero for a planned switch. */
export interface RpoMeasurement {
  component: 'database' | 'cache' | 'object-storage';
  /** How it was measured: `replication` (lag at promotion, the default) or `write-load` (a drill's acknowledged writes vs what is present). */
  source?: 'replication' | 'write-load';
  bytes: number | null;
  seconds: number | null;
  description: string;
}

/** What a step reports when it finishes. */
export interface StepOutcome {
  /** `done`: it changed something. `already-done`: check() found it done, a no-op that says so. `not-configured`: component absent. */
  result: 'done' | 'already-done' | 'not-configured';
  summary: string;
  evidence: Evidence;
  checks?: CheckResult[];
  rpo?: RpoMeasurement[];
  /** Verification steps: whether the region passed. A `false` here fails the step. */
  verified?: boolean;
  /** verify-consistency: what was proven per table and keyspace (the card's consistency table). */
  consistency?: ConsistencyScope[];
  /** Data-tier promotions: where the component writes once the step is done. */
  roles?: DataTierRole;
}

export type DataComponent = 'database' | 'cache';

/**
 * Where a data component writes, as its step read it after acting or failing: a pause with one
 * component switched and the other not (a split data tier) shows these and offers the undo.
 */
export interface DataTierRole {
  component: DataComponent;
  /** The side that takes writes; null when none does (fenced, not promoted) or it was unreadable. */
  writer: RegionRole | null;
  /** The cloud region names, so the card can say "primary in eu-west-1". */
  regions: Record<RegionRole, string>;
  /** The step changed who writes (or fenced the writer): the component is no longer as approved. */
  changed: boolean;
  /** What else a person must know: "primary fenced read-only", "roles unreadable: ...". */
  note?: string;
  /**
   * How the bot can undo the change: switch a promoted Redis back, or lift the fence of a
   * PostgreSQL primary whose standby was never promoted. Absent: it cannot (a promoted PostgreSQL).
   */
  undo?: 'switch-back' | 'lift-fence';
}

/** An undo of a split data tier: asked by one person, approved by others, run, recorded. */
export interface UndoState {
  components: DataComponent[];
  requestedBy: string;
  requestedAt: number;
  approvals: { userId: string; at: number }[];
  /** When it finished and what it did (the report and the summary say so). */
  finishedAt?: number;
  summary?: string;
  /** The last attempt failed: why (the operation is paused again and the undo can be asked again). */
  error?: ErrorInfo;
}

/**
 * The last resort of a failed step, offered by its driver (ErrorInfo.lastResort; issue 20: detach
 * an ElastiCache secondary): asked by one person, approved by others as an undo is, then the step
 * runs it. Kept in the operation's state before it acts, so a restart resumes it.
 */
export interface LastResortState {
  action: 'detach-cache';
  stepId: StepId;
  requestedBy: string;
  requestedAt: number;
  approvals: { userId: string; at: number }[];
  /** The approvals were complete and the step re-runs with it (recorded before it acts). */
  startedAt?: number;
  finishedAt?: number;
  summary?: string;
  /** The last attempt failed: why (the operation is paused again). */
  error?: ErrorInfo;
}

/** The failed step whose driver offers a last resort, and why (the card's extra button). */
export interface LastResortOfferView {
  stepId: StepId;
  action: 'detach-cache';
  why: string;
}

/** A paused operation whose data tier is split: each component's role and what can be undone. */
export interface DataTierSplit {
  roles: DataTierRole[];
  /** The components the bot can put back (Redis switched back, a fence lifted); may be empty. */
  undoable: DataComponent[];
}

export interface StepState {
  id: StepId;
  title: string;
  status: StepStatus;
  /** Why it was skipped. */
  skipReason?: 'not-configured' | 'skipped-by-user';
  skippedBy?: string;
  /** A manual step: who clicked Done (finishedAt says when). */
  confirmedBy?: string;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  summary?: string;
  evidence?: Evidence;
  checks?: CheckResult[];
  /** verify-consistency: what was proven per table and keyspace, kept when it fails too. */
  consistency?: ConsistencyScope[];
  rpo?: RpoMeasurement[];
  error?: ErrorInfo;
  /** Data-tier promotions: where the component writes after the step (succeeded or failed). */
  roles?: DataTierRole;
}

export interface Approval {
  userId: string;
  at: number;
  planHash: string;
}

/** Why a click or command was refused. Adapters turn these into ephemeral answers. */
export type RefusalReason =
  | 'self-approval'
  | 'unauthorized'
  | 'duplicate'
  | 'stale-plan'
  | 'not-awaiting-approval'
  | 'not-paused'
  | 'finished'
  | 'unknown-operation'
  /** The operation belongs to another environment on the same state Redis: its own bot acts on it. */
  | 'other-environment'
  /** An approval that arrived after the approval deadline. */
  | 'expired'
  /** The operation cannot be resumed by this version (unreadable snapshot, changed runbook): it can only be closed with abort. */
  | 'unrestorable'
  /** Undo asked where no data component was switched that the bot can put back. */
  | 'nothing-to-undo'
  /** A last resort asked where no failed step's driver offers one. */
  | 'no-last-resort'
  /** Done (or a step's Skip) where no manual step of that name waits for it. */
  | 'not-waiting';

/** The phase an operation is in, derived from the machine state. */
export type Phase =
  | 'preflight'
  | 'awaitingApproval'
  | 'recheck'
  | 'running'
  | 'paused'
  /** Putting back a split data tier (Redis switched back); ends aborted. */
  | 'undoing'
  | 'completed'
  | 'rejected'
  | 'aborted'
  | 'expired'
  | 'refused';

export const FINAL_PHASES: readonly Phase[] = [
  'completed',
  'rejected',
  'aborted',
  'expired',
  'refused',
];

/** Everything an adapter needs to render an operation (status card, /dr status, console). */
export interface OperationView {
  id: string;
  env: string;
  kind: OperationKind;
  requestedMode: RequestedMode;
  mode?: Mode;
  requester: string;
  reason: string;
  phase: Phase;
  /** Running or paused step(s). */
  currentSteps: StepId[];
  steps: StepState[];
  /** The runbook's stages the operation runs (steps of one stage run side by side). */
  stages?: StepId[][];
  approvals: Approval[];
  requiredApprovals: number;
  expiresAt?: number;
  planHash?: string;
  preflight?: PreflightReport;
  createdAt: number;
  approvedAt?: number;
  finishedAt?: number;
  /** From final approval to a green verification. */
  rtoMs?: number;
  rpo?: RpoMeasurement[];
  rejectedBy?: string;
  abortedBy?: string;
  /** Why it was refused/paused, for the card. */
  lastError?: ErrorInfo;
  /** Paused with one data component switched and the other not: the per-component card. */
  split?: DataTierSplit;
  /** An undo asked, approved, run or failed. */
  undo?: UndoState;
  /** Paused where a failed step's driver offers a last resort (never run by Retry or Approve). */
  lastResortOffer?: LastResortOfferView;
  /** A last resort asked, approved, run or failed. */
  lastResort?: LastResortState;
  /** Manual steps waiting for someone's Done, and who may give it. */
  waiting?: ManualWait[];
}

/** A manual checklist item the operation waits on. */
export interface ManualWait {
  stepId: StepId;
  title: string;
  /** What the person has to do. */
  text: string;
  /** Who may click Done; empty: the approvers and the requester. */
  owners: string[];
  since: number;
}

/**
 * Timeline events: what happened, in domain words. The machine emits most of them; the engine
 * adds progress and resume events. Adapters render them; the store keeps them in a Redis Stream.
 */
export type DomainEvent =
  | {
      type: 'OperationRequested';
      kind: OperationKind;
      requestedMode: RequestedMode;
      requester: string;
      reason: string;
    }
  | { type: 'PreflightCompleted'; report: PreflightReport }
  | { type: 'ApprovalRequested'; planHash: string; expiresAt: number; required: number }
  | { type: 'ApprovalRecorded'; userId: string; count: number; required: number }
  | { type: 'ApprovalRefused'; userId: string; reason: RefusalReason }
  | { type: 'ApprovalsInvalidated'; previousPlanHash: string; planHash: string }
  | { type: 'OperationApproved'; approvers: string[] }
  | { type: 'OperationRejected'; userId: string; reason?: string }
  | { type: 'OperationExpired' }
  | { type: 'OperationRefused'; error: ErrorInfo }
  | {
      type: 'StepStarted';
      stepId: StepId;
      attempt: number;
      /** The other steps of its stage, running beside it (its parallel lanes). */
      beside?: StepId[];
    }
  | { type: 'StepProgress'; stepId: StepId; message: string; data?: Evidence }
  | { type: 'StepResumed'; stepId: StepId }
  | { type: 'StepSucceeded'; stepId: StepId; outcome: StepOutcome; durationMs: number }
  | {
      type: 'StepSkipped';
      stepId: StepId;
      reason: 'not-configured' | 'skipped-by-user';
      userId?: string;
    }
  | { type: 'StepFailed'; stepId: StepId; error: ErrorInfo; durationMs: number }
  | { type: 'OperationPaused'; stepIds: StepId[] }
  /** A manual step is posted: the operation waits until someone clicks Done (or Skip). */
  | { type: 'ManualStepWaiting'; stepId: StepId; title: string; text: string; owners: string[] }
  | { type: 'StepRetried'; stepId: StepId; userId: string }
  | {
      type: 'ActionRefused';
      userId: string;
      action: 'approve' | 'reject' | 'retry' | 'skip' | 'abort' | 'undo' | 'done' | 'detach';
      reason: RefusalReason;
    }
  /** `notResumed`: closed without resuming it, because this version could not (why). */
  | { type: 'OperationAborted'; userId: string; reason?: string; notResumed?: string }
  /** A step call the abort left running has finished: what it did after all (summary or error). */
  | {
      type: 'AbortedStepSettled';
      stepId: StepId;
      outcome: 'succeeded' | 'failed';
      detail: string;
      durationMs: number;
    }
  | { type: 'OperationCompleted'; durationMs: number; rtoMs?: number; rpo?: RpoMeasurement[] }
  /** Someone asked (or approved) the undo of a split data tier; `count` of `required` approvals. */
  | {
      type: 'UndoRequested';
      userId: string;
      components: DataComponent[];
      count: number;
      required: number;
    }
  | { type: 'UndoStarted'; components: DataComponent[]; approvers: string[] }
  | { type: 'DataTierUndone'; components: DataComponent[]; summary: string }
  | { type: 'UndoFailed'; components: DataComponent[]; error: ErrorInfo }
  /** Someone asked (or approved) a failed step's last resort; `count` of `required` approvals. */
  | {
      type: 'LastResortRequested';
      userId: string;
      action: LastResortState['action'];
      stepId: StepId;
      count: number;
      required: number;
    }
  | {
      type: 'LastResortStarted';
      action: LastResortState['action'];
      stepId: StepId;
      approvers: string[];
    }
  | { type: 'LastResortDone'; action: LastResortState['action']; stepId: StepId; summary: string }
  | {
      type: 'LastResortFailed';
      action: LastResortState['action'];
      stepId: StepId;
      error: ErrorInfo;
    };

export type DomainEventType = DomainEvent['type'];

/** A timeline entry as stored: the event plus where and when. */
export type TimelineEntry = DomainEvent & { opId: string; at: number };
