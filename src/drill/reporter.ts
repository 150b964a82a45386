/**
 * Turns a finished drill into its report: built from the operation's view and timeline, compared
 * with the previous drill of the environment, kept in the store, then handed to the adapters
 * (Slack posts it in the incident channel, the console prints it). While a drill runs it also
 * takes the measurements no step takes (object storage, Kubernetes state; see measures.ts) at
 * their moments, and keeps them in the store for the report.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { FINAL_PHASES, type OperationView } from '../domain/types.js';
import type { Engine, EngineNotification } from '../engine/types.js';
import { errorInfo } from '../errors.js';
import { buildDrillReport, renderDrillMarkdown, type DrillMeasure, type DrillReport, type DrillTargets, type ReportStore } from '../report/index.js';
import type { DrillMeasurer, DrillMeasures, DrillMoment } from './measures.js';

export interface DrillReporterDeps {
  engine: Engine;
  reports: ReportStore;
  targets: DrillTargets;
  log: Logger;
  now?: () => number;
  /** Object storage and Kubernetes state; without it the report has no rows for them. */
  measures?: Pick<DrillMeasures, 'measurers' | 'notConfigured'>;
  /** How long a claim to publish a report holds (default 2 min; tests shorten it). */
  claimMs?: number;
}

export type ReportListener = (report: DrillReport, markdown: string) => Promise<void> | void;

export interface DrillReporter {
  /** Adapters register here to publish reports (channel post, console output). */
  onReport(listener: ReportListener): () => void;
  /** The stored report, or one built now for a finished drill that has none yet. */
  reportFor(opId: string): Promise<DrillReport | null>;
  /**
   * Start-up: the environment's last finished drill, when it has no stored report (the bot
   * stopped between the drill's end and its report), gets it built, stored and published now,
   * by one process only. Never rejects; a claim left by a process that died is waited out.
   */
  recover(): Promise<void>;
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
  /** This process, as the owner of a publish claim. */
  const owner = randomUUID();
  const claimMs = deps.claimMs ?? 120_000;
  const retries = new Set<NodeJS.Timeout>();
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();
  /** `<opId>:<component>` measurements started in this process, and those still running per drill. */
  const measuring = new Set<string>();
  const running = new Map<string, Promise<void>[]>();

  /** The moments of a drill a notification carries: the final approval, the secondary serving. */
  function momentsOf(n: EngineNotification): Set<DrillMoment> {
    const moments = new Set<DrillMoment>();
    for (const e of n.entries) {
      if (e.type === 'OperationApproved') moments.add('approved');
      // The integration tests run (or are skipped as not configured) exactly while the secondary serves.
      if ((e.type === 'StepStarted' || e.type === 'StepSkipped') && e.stepId === 'run-integration-tests') moments.add('secondary-serving');
    }
    return moments;
  }

  function startMeasures(n: EngineNotification): void {
    if (!deps.measures || n.op.kind !== 'drill') return;
    const moments = momentsOf(n);
    for (const m of deps.measures.measurers) {
      const key = `${n.op.id}:${m.component}`;
      if (!moments.has(m.when) || measuring.has(key)) continue;
      measuring.add(key);
      const opId = n.op.id;
      const done = m
        .measure(n.op)
        .then(async (measure) => {
          await reports.saveMeasure(opId, measure);
          log.info({ opId, component: measure.component, status: measure.status, seconds: measure.seconds }, 'drill measurement recorded');
        })
        .catch((err: unknown) => log.warn({ opId, component: m.component, err: errorInfo(err) }, 'could not record the drill measurement; the report says it was not measured'));
      running.set(opId, [...(running.get(opId) ?? []), done]);
    }
  }

  /** Why a measurement is missing from the store, in the report's words. */
  function missing(m: DrillMeasurer, view: OperationView): DrillMeasure {
    const tests = view.steps.find((s) => s.id === 'run-integration-tests');
    const why =
      m.when === 'secondary-serving' && (tests === undefined || tests.status === 'pending')
        ? 'the drill ended before the secondary served (it is read when the integration tests start)'
        : `the bot restarted around ${m.when === 'approved' ? 'the approval' : 'the integration tests'}, when it is read`;
    return { component: m.component, status: 'failed', seconds: null, targetMinutes: m.targetMinutes, description: why };
  }

  async function measuresFor(view: OperationView): Promise<DrillMeasure[] | undefined> {
    if (!deps.measures) return undefined;
    await Promise.all(running.get(view.id) ?? []);
    running.delete(view.id);
    const stored = await reports.measures(view.id);
    const taken = deps.measures.measurers.map((m) => stored.find((s) => s.component === m.component) ?? missing(m, view));
    return [...taken, ...deps.measures.notConfigured];
  }

  async function build(view: OperationView): Promise<DrillReport> {
    const [timeline, previous, measures] = await Promise.all([engine.timeline(view.id), reports.previous(view.env, view.id), measuresFor(view)]);
    return buildDrillReport({ view, timeline, targets, previous, now: now(), ...(measures ? { measures } : {}) });
  }

  /** Build, store and publish under a claim; `held` when another process has it. */
  async function publish(view: OperationView): Promise<'published' | 'held'> {
    // Measurements end first (a canary may wait its whole target): the claim covers only the publishing.
    await Promise.all(running.get(view.id) ?? []);
    if (!(await reports.claim(view.id, owner, claimMs))) {
      log.info({ opId: view.id }, 'another bot process is publishing this drill report');
      return 'held';
    }
    let report: DrillReport;
    try {
      report = await build(view);
      await reports.save(report);
    } catch (err) {
      await reports.release(view.id, owner).catch(() => undefined);
      throw err;
    }
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
    return 'published';
  }

  const enqueue = (opId: string, work: () => Promise<unknown>): Promise<void> =>
    (queue = queue.then(work).then(
      () => undefined,
      (err: unknown) => log.error({ opId, err: errorInfo(err) }, 'could not build or store the drill report; `dr report` builds it again'),
    ));

  const unsubscribe = engine.subscribe((n) => {
    startMeasures(n);
    if (!reportable(n.op) || handled.has(n.op.id)) return;
    handled.add(n.op.id);
    void enqueue(n.op.id, () => publish(n.op));
  });

  /** A claim held by a process that died stays until it expires: look again then, a few times. */
  const MAX_RECOVERY_TRIES = 3;
  async function recoverOnce(tries: number): Promise<void> {
    if (stopped) return;
    const { last } = await engine.status();
    if (!last || !reportable(last) || handled.has(last.id)) return;
    if (await reports.get(last.id)) return;
    log.warn({ opId: last.id }, 'the last drill finished without a stored report (the bot stopped before it was stored): building and posting it now');
    if ((await publish(last)) === 'published') {
      handled.add(last.id);
      return;
    }
    if (tries >= MAX_RECOVERY_TRIES) {
      log.warn({ opId: last.id }, 'the drill report is still claimed by another process; `dr report` builds it');
      return;
    }
    const wait = (await reports.claimLeftMs(last.id)) + 100;
    const timer = setTimeout(() => {
      retries.delete(timer);
      void enqueue(last.id, () => recoverOnce(tries + 1));
    }, wait);
    timer.unref();
    retries.add(timer);
  }

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
    recover: () => enqueue('last drill', () => recoverOnce(1)),
    idle: () => queue,
    stop: () => {
      stopped = true;
      unsubscribe();
      for (const t of retries) clearTimeout(t);
      retries.clear();
    },
  };
}
