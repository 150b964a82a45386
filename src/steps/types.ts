import type { Logger } from 'pino';
import type {
  DataTierRole,
  Evidence,
  Mode,
  OperationKind,
  PreflightReport,
  RegionRole,
  StepId,
  StepOutcome,
} from '../domain/types.js';
import type { ActionResult, Progress, Providers } from '../providers/types.js';

/** What a step receives. Steps never build clients: they use `providers`. */
export interface StepContext {
  opId: string;
  kind: OperationKind;
  mode: Mode;
  preflight?: PreflightReport;
  providers: Providers;
  log: Logger;
  /** Final approval time, for RTO measured by verification steps. */
  approvedAt?: number;
  targets: { rtoMinutes: number; rpoMinutes: number };
  /** True when the step was running when the bot stopped and this is its first call since. */
  resumed?: boolean;
  /**
   * Run the driver's last resort instead of the step's normal action: set only after its own
   * confirmation by two people (a promote error's LastResortOffer; issue 20).
   */
  lastResort?: 'detach-cache';
  /** The cloud region names (regions.*.name), for what steps record about each side. */
  regions?: Record<RegionRole, string>;
  /** What the scale lane's head start at approval set (engine/head-start.ts), for its step's outcome. */
  headStart?: ActionResult;
}

export interface CheckOutcome {
  /** True when the step's effect is already in place: run() will not be called. */
  done: boolean;
  /** What check() saw ("secondary not in recovery: already promoted"). */
  summary: string;
  /** Data-tier promotions found done: where the component writes (a resumed step records it too). */
  roles?: DataTierRole;
  /** What else a check found done recorded (kept in the outcome's evidence beside `check`). */
  evidence?: Evidence;
}

/**
 * One runbook step. `check()` reads the real state and says whether the work is already done;
 * `run()` does it. Both are idempotent: after a crash the engine calls check() again, never run()
 * blindly.
 */
export interface Step {
  id: StepId;
  title: string;
  /** The providers it uses; when none of them is configured, the step is skipped as not configured. */
  needs: readonly (keyof Providers)[];
  /** Why the step does not apply to this operation (a custom step for the other mode), if so. */
  skipWhen?(ctx: StepContext): string | undefined;
  check(ctx: StepContext): Promise<CheckOutcome>;
  run(ctx: StepContext, progress: Progress): Promise<StepOutcome>;
}
