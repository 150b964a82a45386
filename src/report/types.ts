import type { CheckResult, Evidence, Phase, RpoMeasurement, StepId, StepStatus } from '../domain/types.js';

/** Targets as the config gives them; per-component RPO falls back to `rpoMinutes`. */
export interface DrillTargets {
  rtoMinutes: number;
  rpoMinutes: number;
  rpoMinutesByComponent?: { database?: number; cache?: number; objectStorage?: number };
}

export interface ReportStep {
  id: StepId;
  title: string;
  status: StepStatus;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  summary?: string;
  evidence?: Evidence;
  checks?: CheckResult[];
  note?: string;
}

export interface RtoRow {
  /** `failover`: final approval → secondary verified. `failback`: failback's first step → primary verified. */
  phase: 'failover' | 'failback';
  ms: number | null;
  targetMinutes: number;
  pass: boolean | null;
}

export interface RpoRow extends RpoMeasurement {
  targetMinutes: number;
  pass: boolean | null;
  /** The step that measured it. */
  stepId: StepId;
}

/** A previous drill, as far as the comparison needs it. */
export interface DrillSummary {
  opId: string;
  finishedAt: number;
  passed: boolean;
  rto: RtoRow[];
  rpo: RpoRow[];
  totalMs: number | null;
  /** How long each step that finished took, for the next drill's comparison. */
  stepDurations?: Partial<Record<StepId, number>>;
}

export interface DrillReport extends DrillSummary {
  env: string;
  requester: string;
  reason: string;
  approvers: string[];
  mode: string | null;
  phase: Phase;
  createdAt: number;
  approvedAt: number | null;
  steps: ReportStep[];
  /** What did not go to plan, one sentence each. */
  deviations: string[];
  previous: DrillSummary | null;
  /** One sentence per measure, this drill against the previous one. */
  comparison: string[];
  generatedAt: number;
}
