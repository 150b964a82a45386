import type { Evidence } from '../domain/types.js';

export type ReadinessCheckId =
  | 'postgres'
  | 'redis'
  | 'dns'
  | 'standby-workloads'
  | 'standby-cost'
  | 'object-storage'
  | 'velero'
  | 'terraform-state'
  | 'drill'
  | 'state-store';

/** ok: within target. degraded: measured and out of target. unknown: could not be measured (the error says why). */
export type ReadinessCheckStatus = 'ok' | 'degraded' | 'unknown';

/** What one check found; `measured` against `target` is what a person compares. */
export interface ReadinessFinding {
  status: ReadinessCheckStatus;
  detail: string;
  /** "2.1 s", "link up, gap 0 B", "3 days"; null when nothing could be measured. */
  measured: string | null;
  /** "≤ 300 s", "link up", "≤ 90 days". */
  target: string | null;
  evidence?: Evidence;
}

export interface ReadinessResult extends ReadinessFinding {
  id: ReadinessCheckId;
  title: string;
  checkedAt: number;
}

export interface ReadinessCheck {
  id: ReadinessCheckId;
  title: string;
  run(): Promise<ReadinessFinding>;
}

export interface ReadinessReport {
  env: string;
  checkedAt: number;
  results: ReadinessResult[];
  /** The operation that was active during the round: nothing was posted for it. */
  heldBy?: string;
}

/** A check changed between degraded and ok; the only moments that reach the channel. */
export interface ReadinessTransition {
  kind: 'degraded' | 'recovered';
  env: string;
  result: ReadinessResult;
  /** When it became degraded (for `recovered`: how long it lasted). */
  degradedSince: number;
}
