/**
 * One interface per capability. Steps call these; implementations live one per file beside this
 * (postgres.ts, redis.ts, route53.ts, traffic-manager.ts, kubernetes.ts, http-checks.ts).
 *
 * The methods are symmetrical in the region: failover promotes the `secondary`, failback promotes
 * the `primary` again, and "make X a standby of the other side" serves both the failback resync and
 * the final demotion of the secondary.
 *
 * Every method that changes something reads the real state first and is idempotent; a wrong target
 * throws PreconditionFailed before any change; a failed call throws ProviderError.
 */
import type { CustomActionProvider } from './custom-actions.js';
import type {
  CheckResult,
  ComponentReadiness,
  Evidence,
  Mode,
  RegionRole,
  RpoMeasurement,
} from '../domain/types.js';
import type { ConsistencyScope } from '../domain/consistency.js';

/** Progress reporter handed to long-running calls ("waiting for replay: 3 MB behind"). */
export type Progress = (message: string, data?: Evidence) => void;

export interface ActionResult {
  /** True when nothing had to be done (already promoted, already switched...). */
  noop: boolean;
  summary: string;
  evidence: Evidence;
}

export interface PromotionResult extends ActionResult {
  mode: Mode;
  /** Measured loss: zero for planned, lag/offset gap for unplanned. */
  rpo: RpoMeasurement;
}

/**
 * The failback's consistency check of one component: pass/fail checks (the step's verdict) and
 * what was proven per table or keyspace (the card's consistency table).
 */
export interface ConsistencyResult {
  checks: CheckResult[];
  scopes: ConsistencyScope[];
}

/** Common to every provider: what it is and how it looks right now. */
export interface Inspectable {
  /** Implementation name for errors and evidence: "postgres", "route53", ... */
  readonly name: string;
  /** Readiness for making `target` the serving side (the approval card shows it). */
  readiness(target: RegionRole): Promise<ComponentReadiness>;
  /** Release connections and timers. */
  close(): Promise<void>;
}

/** PostgreSQL (or another database with a streaming standby). */
export interface DatabaseProvider extends Inspectable {
  /** Is `target` accepting writes (not in recovery)? */
  isWriter(target: RegionRole): Promise<boolean>;
  /** Promote `target`; planned: fence the other side, wait for zero lag, promote. */
  promote(opts: { target: RegionRole; mode: Mode; progress: Progress }): Promise<PromotionResult>;
  /**
   * A planned promotion of `promoted` found done by a re-check (its reply lost, the bot
   * restarted): keep what the promotion would have left for a failback (PostgreSQL: the fence
   * record of the other side). Returns a line for the step's evidence, saying so when it cannot.
   */
  keepFoundPromotion?(promoted: RegionRole): Promise<string>;
  /** `target` accepts a write probe and is not in recovery. */
  verifyWriter(target: RegionRole): Promise<CheckResult[]>;
  /** Is `standby` a streaming standby of the other side, replication connected? */
  isStreamingStandby(standby: RegionRole): Promise<boolean>;
  /** Make `standby` a streaming standby of the other side (rewind or rebuild). */
  resync(opts: { standby: RegionRole; progress: Progress }): Promise<ActionResult>;
  /** Compare both sides under live writes (LSNs, then each configured table chunk by chunk). */
  consistency(opts: { writer: RegionRole; progress: Progress }): Promise<ConsistencyResult>;
  /**
   * Put back a promotion that did not happen: `promoted` is still a streaming standby, so the
   * other side's fence is lifted and it takes writes again. A promoted standby is refused (it may
   * hold writes). Absent where the driver cannot lift its fence (a fence command): no undo offered.
   */
  undoPromotion?(opts: { promoted: RegionRole; progress: Progress }): Promise<ActionResult>;
}

/** Redis (or another cache with replication). */
export interface CacheProvider extends Inspectable {
  isWriter(target: RegionRole): Promise<boolean>;
  promote(opts: { target: RegionRole; mode: Mode; progress: Progress }): Promise<PromotionResult>;
  verifyWriter(target: RegionRole): Promise<CheckResult[]>;
  isStreamingStandby(standby: RegionRole): Promise<boolean>;
  resync(opts: { standby: RegionRole; progress: Progress }): Promise<ActionResult>;
  /** Same data on both sides: the writer's keys sampled at random, compared under live writes. */
  consistency(opts: { writer: RegionRole; progress: Progress }): Promise<ConsistencyResult>;
  /**
   * Put a promotion back: `promoted` becomes a replica of the other side again, which takes
   * writes again, without losing an acknowledged write. Absent where the driver cannot (managed
   * services that restrict REPLICAOF/FAILOVER): then no undo is offered.
   */
  undoPromotion?(opts: { promoted: RegionRole; progress: Progress }): Promise<ActionResult>;
  /**
   * The last resort where the platform's failover cannot switch (a promote error carrying
   * `lastResort`): `target` leaves the replication as a standalone writable cache. One-way; run
   * only after its own confirmation by two people. Absent where the driver has none.
   */
  detach?(opts: { target: RegionRole; progress: Progress }): Promise<PromotionResult>;
}

/** Route 53 failover records or Azure Traffic Manager priority routing. */
export interface DnsProvider extends Inspectable {
  /** Which region users are sent to now. */
  currentTarget(): Promise<RegionRole | 'unknown'>;
  /** Send users to `target`; waits until the change is applied. */
  switchTo(opts: { target: RegionRole; progress: Progress }): Promise<ActionResult>;
  /** The records/profile and a resolution say `target`. */
  verify(target: RegionRole): Promise<CheckResult[]>;
}

export type ScaleProfile = 'production' | 'standby';

/** Kubernetes workloads of one region scaled between standby and production counts. */
export interface ClusterProvider extends Inspectable {
  /** Every configured workload in `region` has the profile's replica count ready. */
  isScaled(region: RegionRole, profile: ScaleProfile): Promise<boolean>;
  scale(opts: {
    region: RegionRole;
    profile: ScaleProfile;
    progress: Progress;
    /** False: return once the counts and autoscalers are set, without waiting for the pods. */
    wait?: boolean;
    /** Change nothing (a no-op) unless every workload is at this profile's size now. */
    onlyFrom?: ScaleProfile;
    /** Awaited once a change is decided, before its first write (to record it first). */
    beforeChange?: () => Promise<void>;
  }): Promise<ActionResult>;
  /** Reachability of the region's API server (failback's verify-primary). */
  reachable(region: RegionRole): Promise<CheckResult>;
  /**
   * Hand the region's workloads back to their autoscalers: put back the bounds a scale to
   * production raised (failback's end, once the primary serves again). A no-op without any.
   */
  releaseAutoscalers(opts: { region: RegionRole; progress: Progress }): Promise<ActionResult>;
  /** No autoscaler in the region still holds bounds the bot raised. */
  autoscalersReleased(region: RegionRole): Promise<boolean>;
}

/** HTTP and command checks against one region (verification, failback's verify-primary). */
export interface VerificationProvider extends Inspectable {
  run(opts: { region: RegionRole; progress: Progress }): Promise<CheckResult[]>;
}

/** Each region's health endpoint as users see it (`regions.<region>.healthUrl`). */
export interface HealthProvider extends Inspectable {
  /** The region's health URL, or null when it has none. */
  url(region: RegionRole): string | null;
  /** One check of the region's endpoint (with retries); null when the region has no URL. */
  probe(region: RegionRole, progress?: Progress): Promise<CheckResult | null>;
}

/** Acknowledged writes of a drill's write load so far, per component. */
export interface WriteLoadComponentSample {
  acknowledged: number;
  failed: number;
  /** The side the last acknowledged write went to. */
  writer: RegionRole | null;
  onPrimary: number;
  onSecondary: number;
}

export interface WriteLoadSample {
  runId: string;
  startedAt: number;
  database?: WriteLoadComponentSample;
  cache?: WriteLoadComponentSample;
}

/**
 * A drill's write load (rows into `dr_drill_load`, INCRs of a Redis key) on whichever side
 * writes, so RPO is measured from acknowledged writes against what is present afterwards.
 */
export interface WriteLoadProvider extends Inspectable {
  start(opts: { runId: string; progress: Progress }): Promise<ActionResult>;
  running(runId: string): boolean;
  sample(): WriteLoadSample | null;
  /** Stop writing and count: acknowledged vs present on the final writer, per component. */
  stop(opts: {
    runId: string;
    progress: Progress;
  }): Promise<ActionResult & { rpo: RpoMeasurement[]; sample: WriteLoadSample }>;
}

/** The providers an operation uses; an absent one means "not configured" and its steps skip. */
export interface Providers {
  database?: DatabaseProvider;
  cache?: CacheProvider;
  dns?: DnsProvider;
  cluster?: ClusterProvider;
  verification?: VerificationProvider;
  /** Built from `regions.*.healthUrl`, when either region has one. */
  health?: HealthProvider;
  /** Object storage on the approval card: at failback, the secondary's writes on the primary. */
  objectStorage?: Inspectable;
  /** Terraform state on the approval card: both regions' copies, from `components.terraformState`. */
  terraformState?: Inspectable;
  /** Drills only: built from the database and cache connections. */
  writeLoad?: WriteLoadProvider;
  /** The commands and HTTP calls of the config's `runbook.steps`, when it has any. */
  customActions?: CustomActionProvider;
}
