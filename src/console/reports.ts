/**
 * Finding a drill report for a person who typed an id, or none (`report` in the console,
 * `dr report`): the report, or a sentence that says why there is none, telling apart an id this
 * environment's store does not know, an operation that is not a drill, and a drill that has no
 * report (still running, or stopped before anyone approved it).
 */
import { FINAL_PHASES, type OperationView } from '../domain/types.js';
import type { DrillReporter } from '../drill/index.js';
import { UnrestorableOperation } from '../engine/index.js';
import type { Engine } from '../engine/types.js';
import type { DrillReport, DrillSummary, ReportStore } from '../report/index.js';

interface ReportLookupDeps {
  engine: Pick<Engine, 'get' | 'status'>;
  reporter: Pick<DrillReporter, 'reportFor'>;
  reports: Pick<ReportStore, 'previous'>;
  /** config.environment: whose drills these are. */
  environment: string;
  /** How the store is named in "no operation … in this environment's store (…)"; default the environment. */
  storeName?: string;
}

export type ReportLookup = { ok: true; report: DrillReport } | { ok: false; message: string };

/** Why `view` (the operation `opId`, or null when the store has none) has no drill report. */
function noReportReason(
  opId: string,
  view: OperationView | null,
  environment: string,
  storeName = environment,
): string {
  if (!view) return `no operation ${opId} in this environment's store (${storeName})`;
  if (view.env !== environment)
    return `${opId} is an operation of ${view.env}, not of ${environment}: its report is read with ${view.env}'s config`;
  if (view.kind !== 'drill')
    return `${opId} is a ${view.kind}, not a drill: only drills have reports`;
  if (!FINAL_PHASES.includes(view.phase))
    return `${opId} is a drill that has not finished (it is ${view.phase}): its report is written when it ends`;
  return `${opId} is a drill that was ${view.phase} before anyone approved it: nothing ran, so it has no report`;
}

/** The report of `opId` (stored, or built now for a finished drill without one), or why there is none. */
export async function findReport(deps: ReportLookupDeps, opId: string): Promise<ReportLookup> {
  try {
    const report = await deps.reporter.reportFor(opId);
    if (report && report.env === deps.environment) return { ok: true, report };
    if (report)
      return {
        ok: false,
        message: `${opId} is a drill of ${report.env}, not of ${deps.environment}: its report is read with ${report.env}'s config`,
      };
    return {
      ok: false,
      message: noReportReason(opId, await deps.engine.get(opId), deps.environment, deps.storeName),
    };
  } catch (err) {
    // Its snapshot cannot be read, so no report can be built from it (the engine's own message
    // is about resuming it, with a command for the adapter to spell).
    if (err instanceof UnrestorableOperation)
      return {
        ok: false,
        message: `${opId} cannot be read by this version of dr-bot (${err.why}), so it has no report here`,
      };
    throw err;
  }
}

/** The drills of the environment that have a report, newest first (the store lists its last ten). */
export async function recentDrills(
  deps: Pick<ReportLookupDeps, 'reports' | 'environment'>,
  limit = 10,
): Promise<DrillSummary[]> {
  const out: DrillSummary[] = [];
  let before: number | undefined;
  while (out.length < limit) {
    const next = await deps.reports.previous(deps.environment, undefined, before);
    if (!next) break;
    out.push(next);
    before = next.finishedAt;
  }
  return out;
}

/**
 * The last drill's report: the newest stored one, or the last finished operation when it is a
 * drill that finished later (its report was not stored yet: it is built now).
 */
export async function lastReport(deps: ReportLookupDeps): Promise<ReportLookup> {
  const [newest, { last }] = await Promise.all([
    deps.reports.previous(deps.environment),
    deps.engine.status(),
  ]);
  const lastDrill = last && last.kind === 'drill' && last.approvedAt !== undefined ? last : null;
  const opId =
    lastDrill && (!newest || (lastDrill.finishedAt ?? 0) > newest.finishedAt)
      ? lastDrill.id
      : newest?.opId;
  if (!opId) {
    const lastOne = last
      ? ` (the last finished operation, ${last.id}, is a ${last.kind}${last.kind === 'drill' ? ` that was ${last.phase} before anyone approved it` : ''})`
      : '';
    return { ok: false, message: `no drill of ${deps.environment} has a report yet${lastOne}` };
  }
  return findReport(deps, opId);
}

/** One line per drill: id, when it finished, passed or failed. */
export function drillListLine(s: DrillSummary): string {
  return `${s.opId}  ${new Date(s.finishedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC  ${s.passed ? 'PASSED' : 'FAILED'}`;
}
