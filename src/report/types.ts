import type {
  CheckResult,
  Evidence,
  Phase,
  RpoMeasurement,
  StepId,
  StepStatus,
} from '../domain/types.js';
import type { ConsistencyScope } from '../domain/consistency.js';

/** Targets as the config gives them; per-component RPO falls back to `rpoMinutes`. */
export interface DrillTargets {
  rtoMinutes: number;
  rpoMinutes: number;
  rpoMinutesByComponent?: {
    database?: number;
    cache?: number;
    objectStorage?: number;
    kubernetes?: number;
  };
}

/**
 * An RPO the drill measures beside its steps, for the components no step fails over (DESIGN.md's
 * replication table): object storage by the readiness canary while the secondary serves, the
 * Kubernetes state by the age of the newest completed Velero backup when the failover starts.
 */
export interface DrillMeasure {
  component: 'object-storage' | 'kubernetes';
  /** `not-configured`: the config has no such component. `failed`: nothing could be read (the description says why). */
  status: 'measured' | 'not-configured' | 'failed';
  /** Canary: write-to-visible time; backup: its age at failover. Null when measured but never seen (no copy, no backup). */
  seconds: number | null;
  targetMinutes: number;
  description: string;
  /** When it was read. */
  at?: number;
  evidence?: Evidence;
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
  /** verify-consistency: what was proven per table and keyspace. */
  consistency?: ConsistencyScope[];
  note?: string;
}

export interface RtoRow {
  /** `failover`: final approval → secondary verified. `failback`: failback's first step → primary verified. */
  phase: 'failover' | 'failback';
  ms: number | null;
  targetMinutes: number;
  pass: boolean | null;
}

export interface RpoRow extends Omit<RpoMeasurement, 'component' | 'source'> {
  component: RpoMeasurement['component'] | DrillMeasure['component'];
  /** `canary` and `velero-backup`: a DrillMeasure, not a step's measurement. */
  source?: RpoMeasurement['source'] | 'canary' | 'velero-backup';
  targetMinutes: number;
  pass: boolean | null;
  /** The step that measured it; none for a DrillMeasure. */
  stepId?: StepId;
  /** False for a component the config does not have: the row says so, nothing was measured. */
  configured?: boolean;
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

/**
 * A readiness row read when the report is built, after the failback: the Terraform state and
 * whether the standby is back at its standby counts.
 */
export interface AfterDrillCheck {
  id: string;
  title: string;
  status: 'ok' | 'degraded' | 'unknown';
  detail: string;
  measured: string | null;
  target: string | null;
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
  /** Read as the report is built; absent in reports stored before these rows existed. */
  afterDrill?: AfterDrillCheck[];
  generatedAt: number;
}
