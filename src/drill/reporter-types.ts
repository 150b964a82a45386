// The drill reporter's types: what it needs, what adapters register with, what it offers, and
// the context its functions share (the state one reporter keeps in memory).
import type { Logger } from 'pino';
import type { Engine } from '../engine/types.js';
import type { ReadinessCheck } from '../readiness/types.js';
import type { DrillReport, DrillTargets, ReportStore } from '../report/index.js';
import type { DrillMeasures } from './measures.js';

export interface DrillReporterDeps {
  engine: Engine;
  /** The engine's environment (`config.environment`): whose drills `recover` looks for. */
  environment: string;
  reports: ReportStore;
  targets: DrillTargets;
  log: Logger;
  now?: () => number;
  /** Object storage and Kubernetes state; without it the report has no rows for them. */
  measures?: Pick<DrillMeasures, 'measurers' | 'notConfigured'>;
  /** How long a claim to publish a report holds (default 2 min; tests shorten it). */
  claimMs?: number;
  /** Read when the report is built, after the failback: the standby footprint, the Terraform state. */
  afterDrill?: ReadinessCheck[];
}

export interface ReportDelivery {
  /** Recovered at a start: the drill ended earlier and its report still awaits publication; false when it just ended in this process. */
  recovered: boolean;
  /** The channel of record has the report (only ever true for an adapter that is no record, handed it after Slack took it). */
  published: boolean;
}

export type ReportListener = (
  report: DrillReport,
  markdown: string,
  delivery: ReportDelivery,
) => Promise<void> | void;

/** Who a listener is: `ofRecord` for the incident channel (Slack), whose delivery makes a report published; the console is not. */
export interface ReportAdapter {
  /** Names its delivery marker when it is no record (`console`). */
  name: string;
  ofRecord: boolean;
}

export interface DrillReporter {
  /** Adapters register here to publish reports (channel post, console output). */
  onReport(listener: ReportListener, adapter: ReportAdapter): () => void;
  /** The stored report, or one built now for a finished drill that has none yet (stored unpublished: the next start publishes it). */
  reportFor(opId: string): Promise<DrillReport | null>;
  /**
   * Start-up: publish every finished drill of the environment whose report was not published
   * (the bot stopped before posting it, or an adapter failed), oldest first, to the adapters of
   * this process still due (Slack: not published; the console: not shown yet), building and storing
   * the report first when it has none: the drills awaiting publication, and the last finished
   * operation (a drill from before this bookkeeping). By one process only; never rejects; a claim
   * left by a process that died is waited out.
   */
  recover(): Promise<void>;
  /** Resolves when every report started so far is stored and published. */
  idle(): Promise<void>;
  stop(): void;
}

export interface ReporterContext {
  engine: Engine;
  environment: string;
  reports: ReportStore;
  targets: DrillTargets;
  measures: DrillReporterDeps['measures'];
  afterDrill: ReadinessCheck[];
  now: () => number;
  log: Logger;
  listeners: Map<ReportListener, ReportAdapter>;
  handled: Set<string>;
  /** This process, as the owner of a publish claim. */
  owner: string;
  claimMs: number;
  retries: Set<NodeJS.Timeout>;
  stopped: boolean;
  queue: Promise<void>;
  /** `<opId>:<component>` measurements started in this process, and those still running per drill. */
  measuring: Set<string>;
  running: Map<string, Promise<void>[]>;
  /** Drills this process has recorded as awaiting publication. */
  awaiting: Set<string>;
}
