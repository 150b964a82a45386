/**
 * Turns a finished drill into its report: built from the operation's view and timeline, compared
 * with the previous drill of the environment, kept in the store, then handed to the adapters
 * (Slack posts it in the incident channel, the console prints it). While a drill runs it also
 * takes the measurements no step takes (object storage, Kubernetes state; see measures.ts) at
 * their moments, and keeps them in the store for the report.
 *
 * Delivery survives a stop at any point: a drill is marked as awaiting publication as soon as it
 * is approved, the report stays so until every adapter of record (the incident channel: Slack) has
 * published it, and the next start (`recover`) publishes what is still awaiting, by one process at
 * a time. An adapter that is no record (the console) is handed the reports it sees end live and,
 * at a start, those still awaiting that it has not shown yet (once each); what it shows never
 * counts as published, so a console opened while the bot is down leaves the report for Slack.
 */
import { randomUUID } from 'node:crypto';
import type { OperationView } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import type { DrillReport } from '../report/index.js';
import { startMeasures } from './reporter-measures.js';
import { build, enqueue, publish, reportable } from './reporter-publish.js';
import { recoverAll } from './reporter-recover.js';
import type { DrillReporter, DrillReporterDeps, ReporterContext } from './reporter-types.js';

export type {
  DrillReporter,
  DrillReporterDeps,
  ReportAdapter,
  ReportDelivery,
  ReportListener,
} from './reporter-types.js';

export function createDrillReporter(deps: DrillReporterDeps): DrillReporter {
  const ctx = reporterContext(deps);
  const { engine, listeners, handled } = ctx;
  const unsubscribe = engine.subscribe((n) => {
    startMeasures(ctx, n);
    markAwaiting(ctx, n.op);
    if (!reportable(n.op) || handled.has(n.op.id)) return;
    handled.add(n.op.id);
    void enqueue(ctx, n.op.id, () => publish(ctx, n.op.id, n.op));
  });

  return {
    onReport(listener, adapter) {
      listeners.set(listener, adapter);
      return () => listeners.delete(listener);
    },
    reportFor: (opId) => reportFor(ctx, opId),
    recover: () => enqueue(ctx, 'drills awaiting publication', () => recoverAll(ctx)),
    idle: () => ctx.queue,
    stop: () => {
      ctx.stopped = true;
      unsubscribe();
      for (const t of ctx.retries) clearTimeout(t);
      ctx.retries.clear();
    },
  };
}

function reporterContext(deps: DrillReporterDeps): ReporterContext {
  return {
    engine: deps.engine,
    environment: deps.environment,
    reports: deps.reports,
    targets: deps.targets,
    measures: deps.measures,
    afterDrill: deps.afterDrill ?? [],
    now: deps.now ?? Date.now,
    log: deps.log.child({ component: 'drill-reporter' }),
    listeners: new Map(),
    handled: new Set(),
    owner: randomUUID(),
    claimMs: deps.claimMs ?? 120_000,
    retries: new Set(),
    stopped: false,
    queue: Promise.resolve(),
    measuring: new Set(),
    running: new Map(),
    awaiting: new Set(),
  };
}

/**
 * As soon as a drill is approved (long before it finishes), so that a stop anywhere between
 * its end and its publication leaves it for the next start even when other operations finish
 * meanwhile. Tried again on the next notification when Redis refused it.
 */
function markAwaiting(ctx: ReporterContext, view: OperationView): void {
  const { awaiting, log } = ctx;
  if (view.kind !== 'drill' || view.approvedAt === undefined || awaiting.has(view.id)) return;
  awaiting.add(view.id);
  ctx.reports.awaitPublication(view.env, view.id, view.approvedAt).catch((err: unknown) => {
    awaiting.delete(view.id);
    log.warn(
      { opId: view.id, err: errorInfo(err) },
      'could not record the drill as awaiting its report; trying again on its next change',
    );
  });
}

async function reportFor(ctx: ReporterContext, opId: string): Promise<DrillReport | null> {
  const stored = await ctx.reports.get(opId);
  if (stored) return stored;
  const view = await ctx.engine.get(opId);
  if (!view || !reportable(view)) return null;
  const report = await build(ctx, view);
  await ctx.reports.save(report);
  return report;
}
