/**
 * Turns a finished drill into its report: built from the operation's view and timeline, compared
 * with the previous drill of the environment, kept in the store, then handed to the adapters
 * (Slack posts it in the incident channel, the console prints it).
 */
import type { Logger } from 'pino';
import { FINAL_PHASES, type OperationView } from '../domain/types.js';
import type { Engine } from '../engine/types.js';
import { errorInfo } from '../errors.js';
import { buildDrillReport, renderDrillMarkdown, type DrillReport, type DrillTargets, type ReportStore } from '../report/index.js';

export interface DrillReporterDeps {
  engine: Engine;
  reports: ReportStore;
  targets: DrillTargets;
  log: Logger;
  now?: () => number;
}

export type ReportListener = (report: DrillReport, markdown: string) => Promise<void> | void;

export interface DrillReporter {
  /** Adapters register here to publish reports (channel post, console output). */
  onReport(listener: ReportListener): () => void;
  /** The stored report, or one built now for a finished drill that has none yet. */
  reportFor(opId: string): Promise<DrillReport | null>;
  /** Resolves when every report started so far is stored and published. */
  idle(): Promise<void>;
  stop(): void;
}

/** Only a drill that was approved ran anything worth reporting; a rejected request has no report. */
function reportable(view: OperationView): boolean {
  return view.kind === 'drill' && FINAL_PHASES.includes(view.phase) && view.approvedAt !== undefined;
}

export function createDrillReporter(deps: DrillReporterDeps): DrillReporter {
  const { engine, reports, targets } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'drill-reporter' });
  const listeners = new Set<ReportListener>();
  const handled = new Set<string>();
  let queue: Promise<void> = Promise.resolve();

  async function build(view: OperationView): Promise<DrillReport> {
    const [timeline, previous] = await Promise.all([engine.timeline(view.id), reports.previous(view.env, view.id)]);
    return buildDrillReport({ view, timeline, targets, previous, now: now() });
  }

  async function publish(view: OperationView): Promise<void> {
    const report = await build(view);
    await reports.save(report);
    log.info({ opId: view.id, passed: report.passed, deviations: report.deviations.length }, 'drill report stored');
    const markdown = renderDrillMarkdown(report);
    for (const l of listeners) {
      try {
        await l(report, markdown);
      } catch (err) {
        // One adapter failing to post must not keep the report from the others (it is stored anyway).
        log.error({ opId: view.id, err: errorInfo(err) }, 'publishing the drill report failed');
      }
    }
  }

  const unsubscribe = engine.subscribe((n) => {
    if (!reportable(n.op) || handled.has(n.op.id)) return;
    handled.add(n.op.id);
    queue = queue.then(() => publish(n.op)).catch((err: unknown) => {
      log.error({ opId: n.op.id, err: errorInfo(err) }, 'could not build or store the drill report; `dr report` builds it again');
    });
  });

  return {
    onReport(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async reportFor(opId) {
      const stored = await reports.get(opId);
      if (stored) return stored;
      const view = await engine.get(opId);
      if (!view || !reportable(view)) return null;
      const report = await build(view);
      await reports.save(report);
      return report;
    },
    idle: () => queue,
    stop: () => {
      unsubscribe();
    },
  };
}
