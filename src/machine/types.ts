import type {
  Approval,
  CustomStepPlan,
  DataComponent,
  LastResortState,
  UndoState,
  Mode,
  OperationKind,
  PreflightReport,
  RequestedMode,
  RpoMeasurement,
  StepId,
  StepState,
} from '../domain/types.js';
import type { ErrorInfo } from '../errors.js';

/** What the engine passes to createActor(machine, { input }) for a new operation. */
export interface OperationInput {
  id: string;
  env: string;
  kind: OperationKind;
  requestedMode: RequestedMode;
  requester: string;
  reason: string;
  createdAt: number;
  requiredApprovals: number;
  approvalTimeoutMs: number;
}

/**
 * Events the engine sends. `authorized` is the authorizer's answer for `userId`, looked up by the
 * engine because the machine does no I/O; `at` is when the person clicked.
 */
export type OperationEvent =
  | { type: 'APPROVE'; userId: string; planHash: string; authorized: boolean; at: number }
  | { type: 'REJECT'; userId: string; authorized: boolean; reason?: string; at: number }
  | { type: 'RETRY'; userId: string; authorized: boolean; at: number }
  /** `stepId`: skip a waiting manual step (running); without it, the failed stage (paused). */
  | { type: 'SKIP'; userId: string; authorized: boolean; at: number; stepId?: StepId }
  /** A manual step's Done; without `stepId`, the only one waiting. */
  | { type: 'DONE'; userId: string; authorized: boolean; at: number; stepId?: StepId }
  | { type: 'ABORT'; userId: string; authorized: boolean; reason?: string; at: number }
  /** Ask for, or approve, the undo of a split data tier (see approval.ts). */
  | { type: 'UNDO'; userId: string; authorized: boolean; at: number }
  /** Ask for, or approve, a failed step's last resort (two people, as the undo; last-resort.ts). */
  | { type: 'DETACH'; userId: string; authorized: boolean; at: number }
  /** Sent every few seconds and right after a resume: a restored actor has no expiry timer. */
  | { type: 'TICK'; at: number };

export type UserEvent = Exclude<OperationEvent, { type: 'TICK' }>;

export interface PreflightInput {
  opId: string;
  kind: OperationKind;
  requestedMode: RequestedMode;
  purpose: 'initial' | 'recheck';
}

export interface UndoInput {
  opId: string;
  kind: OperationKind;
  components: DataComponent[];
}

export interface RunStepInput {
  opId: string;
  kind: OperationKind;
  stepId: StepId;
  mode: Mode;
  /** 1 for the first run; a retry or a resume after a crash sees the attempt it belongs to. */
  attempt: number;
  approvedAt: number;
  /** The step runs its driver's last resort instead of its normal action (approved by two). */
  lastResort?: LastResortState['action'];
}

/** The machine's context: everything toView needs, all JSON so it persists as is. */
export interface OperationContext extends OperationInput {
  /**
   * The runbook's stages when the operation started. A deploy may change a runbook while an
   * operation is under way; the stored states name the old stages, so such an operation is not
   * resumed by the new version (see runbookChange). Absent in snapshots written before it existed.
   */
  runbook?: StepId[][];
  /** The custom steps of `runbook` as approved (config `runbook.steps`); absent when none. */
  custom?: CustomStepPlan[];
  mode?: Mode;
  preflight?: PreflightReport;
  planHash?: string;
  expiresAt?: number;
  approvals: Approval[];
  /** In runbook order. */
  steps: StepState[];
  /**
   * When the approval that completed the quorum was given (its click), set at once; the re-check
   * runs after it. Absent in snapshots written before it existed (they announced the approval
   * after the re-check).
   */
  approvalCompletedAt?: number;
  /** The final approval's time, once the re-check passed and the steps start: RTO runs from here. */
  approvedAt?: number;
  finishedAt?: number;
  rtoMs?: number;
  rpo?: RpoMeasurement[];
  rejectedBy?: string;
  abortedBy?: string;
  lastError?: ErrorInfo;
  /** The undo of a split data tier: asked, approved, run (kept through restarts like the rest). */
  undo?: UndoState;
  /** A failed step's last resort: asked, approved, run (kept through restarts like the rest). */
  lastResort?: LastResortState;
}
