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
import type { Logger } from 'pino';
import { FINAL_PHASES, type OperationView } from '../domain/types.js';
import type { Engine, EngineNotification } from '../engine/types.js';
import { errorInfo } from '../errors.js';
import {
  buildDrillReport,
  renderDrillMarkdown,
  type DrillMeasure,
  type DrillReport,
  type DrillTargets,
  type ReportStore,
} from '../report/index.js';
import type { DrillMeasurer, DrillMeasures, DrillMoment } from './measures.js';

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

/** Only a drill that was approved ran anything worth reporting; a rejected request has no report. */
function reportable(view: OperationView): boolean {
  return (
    view.kind === 'drill' && FINAL_PHASES.includes(view.phase) && view.approvedAt !== undefined
  );
}

/** How many drills awaiting publication one start publishes (more means publishing keeps failing). */
const RECOVERED_PER_START = 10;
/**
 * How many it looks through for those: without Slack (the lab) every drill stays awaiting
 * publication, and the console skips those it showed already.
 */
const SCANNED_PER_START = 200;

export function createDrillReporter(deps: DrillReporterDeps): DrillReporter {
  const { engine, environment, reports, targets } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'drill-reporter' });
  const listeners = new Map<ReportListener, ReportAdapter>();
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
  /** Drills this process has recorded as awaiting publication. */
  const awaiting = new Set<string>();

  /** The moments of a drill a notification carries: the final approval, the secondary serving. */
  function momentsOf(n: EngineNotification): Set<DrillMoment> {
    const moments = new Set<DrillMoment>();
    for (const e of n.entries) {
      if (e.type === 'OperationApproved') moments.add('approved');
      // The integration tests run (or are skipped as not configured) exactly while the secondary serves.
      if (
        (e.type === 'StepStarted' || e.type === 'StepSkipped') &&
        e.stepId === 'run-integration-tests'
      )
        moments.add('secondary-serving');
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
          log.info(
            {
              opId,
              component: measure.component,
              status: measure.status,
              seconds: measure.seconds,
            },
            'drill measurement recorded',
          );
        })
        .catch((err: unknown) =>
          log.warn(
            { opId, component: m.component, err: errorInfo(err) },
            'could not record the drill measurement; the report says it was not measured',
          ),
        );
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
    return {
      component: m.component,
      status: 'failed',
      seconds: null,
      targetMinutes: m.targetMinutes,
      description: why,
    };
  }

  async function measuresFor(view: OperationView): Promise<DrillMeasure[] | undefined> {
    if (!deps.measures) return undefined;
    await Promise.all(running.get(view.id) ?? []);
    running.delete(view.id);
    const stored = await reports.measures(view.id);
    const taken = deps.measures.measurers.map(
      (m) => stored.find((s) => s.component === m.component) ?? missing(m, view),
    );
    return [...taken, ...deps.measures.notConfigured];
  }

  /**
   * As soon as a drill is approved (long before it finishes), so that a stop anywhere between
   * its end and its publication leaves it for the next start even when other operations finish
   * meanwhile. Tried again on the next notification when Redis refused it.
   */
  function markAwaiting(view: OperationView): void {
    if (view.kind !== 'drill' || view.approvedAt === undefined || awaiting.has(view.id)) return;
    awaiting.add(view.id);
    reports.awaitPublication(view.env, view.id, view.approvedAt).catch((err: unknown) => {
      awaiting.delete(view.id);
      log.warn(
        { opId: view.id, err: errorInfo(err) },
        'could not record the drill as awaiting its report; trying again on its next change',
      );
    });
  }

  async function build(view: OperationView): Promise<DrillReport> {
    const [timeline, previous, measures] = await Promise.all([
      engine.timeline(view.id),
      reports.previous(view.env, view.id, view.finishedAt),
      measuresFor(view),
    ]);
    return buildDrillReport({
      view,
      timeline,
      targets,
      previous,
      now: now(),
      ...(measures ? { measures } : {}),
    });
  }

  type Due = {
    record: [ReportListener, ReportAdapter][];
    others: [ReportListener, ReportAdapter][];
    published: boolean;
  };

  /** The adapters of this process that still have to be handed `opId`'s report. */
  async function due(opId: string): Promise<Due> {
    const published = await reports.isPublished(opId);
    const record: Due['record'] = [];
    const others: Due['others'] = [];
    for (const [l, a] of listeners) {
      if (a.ofRecord) {
        if (!published) record.push([l, a]);
      } else if (!(await reports.isDelivered(opId, a.name))) others.push([l, a]);
    }
    return { record, others, published };
  }

  /**
   * Hands the report to the adapters due, those of record first; marks it published when they all
   * took it (and there was one), and each other adapter's delivery apart. 'failed' when one failed.
   */
  async function deliver(
    report: DrillReport,
    todo: Due,
    recovered: boolean,
  ): Promise<'published' | 'delivered' | 'failed'> {
    const markdown = renderDrillMarkdown(report);
    const hand = async (
      l: ReportListener,
      a: ReportAdapter,
      published: boolean,
    ): Promise<boolean> => {
      try {
        await l(report, markdown, { recovered, published });
        return true;
      } catch (err) {
        // One adapter failing to post must not keep the report from the others (it is stored anyway).
        log.error(
          { opId: report.opId, adapter: a.name, err: errorInfo(err) },
          'publishing the drill report failed: the next start hands it to this adapter again',
        );
        return false;
      }
    };
    let recordOk = true;
    for (const [l, a] of todo.record) recordOk = (await hand(l, a, false)) && recordOk;
    const published = todo.published || (todo.record.length > 0 && recordOk);
    let othersOk = true;
    const shown: string[] = [];
    for (const [l, a] of todo.others) {
      if (await hand(l, a, published)) shown.push(a.name);
      else othersOk = false;
    }
    if (todo.record.length > 0 && recordOk)
      await reports.markPublished(report.env, report.opId, now());
    for (const name of shown) await reports.markDelivered(report.opId, name, now());
    if (!recordOk || !othersOk) return 'failed';
    return todo.record.length > 0 ? 'published' : 'delivered';
  }

  type Outcome = 'published' | 'delivered' | 'held' | 'failed' | 'nothing' | 'unfinished';

  /**
   * Under a claim: the stored report (when recovering; the drill's end builds it afresh from
   * `finished`), or one built and stored now from the drill's view, handed to the adapters due
   * and then marked published (when the adapters of record took it) or delivered (the others).
   * `delivered`: only adapters that are no record were due (it stays awaiting publication). `held`:
   * another process has the claim. `nothing`: no adapter of this process is due (published
   * meanwhile by the process whose claim we waited for, or already shown by the console).
   * `unfinished`: no report and the drill is still running (its end publishes it) or cannot be read.
   * Without any adapter the report is still built and stored (it awaits publication).
   *
   * Delivery is at least once, not exactly once: the mark is written after the adapters
   * published, so a process that dies in between (or a mark Redis refuses) leaves the report to be
   * published again at the next start; Slack then skips what it recorded as posted (see
   * bot/drill-report.ts), the console prints it again. Without a stop it is published once: the
   * claim serializes processes, and whoever gets it looks at the mark first.
   */
  async function publish(opId: string, finished?: OperationView): Promise<Outcome> {
    // Measurements end first (a canary may wait its whole target): the claim covers only the publishing.
    await Promise.all(running.get(opId) ?? []);
    if (!(await reports.claim(opId, owner, claimMs))) {
      log.info({ opId }, 'another bot process is publishing this drill report');
      return 'held';
    }
    try {
      const todo = await due(opId);
      if (listeners.size > 0 && todo.record.length === 0 && todo.others.length === 0)
        return 'nothing';
      // The process that ran the drill builds its report itself, with the measurements it took: a
      // report stored meanwhile by someone else (`dr report` in another process, before those
      // measurements ended) lacks them. Recovery publishes the stored report as it is.
      let report = finished ? null : await reports.get(opId);
      if (!report) {
        const view = finished ?? (await engine.get(opId));
        if (!view || !reportable(view)) return 'unfinished';
        report = await build(view);
        await reports.save(report);
        log.info(
          { opId, passed: report.passed, deviations: report.deviations.length },
          'drill report stored',
        );
      }
      if (listeners.size === 0) {
        log.warn(
          { opId },
          'no adapter publishes drill reports in this process: the report stays unpublished for the next start',
        );
        return 'failed';
      }
      if (!finished && todo.record.length > 0)
        log.warn(
          { opId },
          "a finished drill's report was not published (the bot stopped first, or posting failed): publishing it now",
        );
      const outcome = await deliver(report, todo, !finished);
      if (outcome === 'published') log.info({ opId }, 'drill report published');
      // The console prints it; the incident channel gets it from the bot's next start.
      if (outcome === 'delivered')
        log.info(
          { opId },
          'drill report shown; it awaits publication in the incident channel (no adapter of record in this process)',
        );
      return outcome;
    } finally {
      await reports.release(opId, owner).catch(() => undefined);
    }
  }

  const enqueue = (opId: string, work: () => Promise<unknown>): Promise<void> =>
    (queue = queue.then(work).then(
      () => undefined,
      (err: unknown) =>
        log.error(
          { opId, err: errorInfo(err) },
          'could not build or store the drill report; `dr report` builds it again',
        ),
    ));

  const unsubscribe = engine.subscribe((n) => {
    startMeasures(n);
    markAwaiting(n.op);
    if (!reportable(n.op) || handled.has(n.op.id)) return;
    handled.add(n.op.id);
    void enqueue(n.op.id, () => publish(n.op.id, n.op));
  });

  /** A claim held by a process that died stays until it expires: look again then, a few times. */
  const MAX_RECOVERY_TRIES = 3;
  async function recoverDrill(opId: string, tries: number): Promise<void> {
    if (stopped || handled.has(opId)) return;
    const outcome = await publish(opId);
    // Failed: left unpublished for the next start, not retried in a loop against a channel that refuses it.
    if (outcome === 'published' || outcome === 'delivered' || outcome === 'nothing')
      handled.add(opId);
    if (outcome !== 'held') return;
    if (tries >= MAX_RECOVERY_TRIES) {
      log.warn(
        { opId },
        'the drill report is still claimed by another process; the next start publishes it if that process did not',
      );
      return;
    }
    const wait = (await reports.claimLeftMs(opId)) + 100;
    const timer = setTimeout(() => {
      retries.delete(timer);
      void enqueue(opId, () => recoverDrill(opId, tries + 1));
    }, wait);
    timer.unref();
    retries.add(timer);
  }

  async function recoverAll(): Promise<void> {
    if (stopped) return;
    const ids = await reports.awaitingPublication(environment, SCANNED_PER_START);
    // A drill that finished before drills were marked as awaiting publication: the last finished
    // operation, reported unless it has a stored report (then it was published, as it was then).
    const { last } = await engine.status();
    if (last && reportable(last) && !ids.includes(last.id) && !(await reports.get(last.id)))
      ids.push(last.id);
    let tried = 0;
    for (const opId of ids) {
      if (handled.has(opId)) continue;
      if (listeners.size > 0) {
        // Looked at again under the claim; this only passes over what no adapter here is due (shown by the console already).
        const todo = await due(opId).catch(() => null);
        if (todo && todo.record.length === 0 && todo.others.length === 0) continue;
      }
      if (++tried > RECOVERED_PER_START) break;
      // One drill whose report cannot be built must not keep the others from theirs.
      await recoverDrill(opId, 1).catch((err: unknown) =>
        log.error(
          { opId, err: errorInfo(err) },
          'could not build or store the drill report; the next start tries again, `dr report` builds it',
        ),
      );
    }
  }

  return {
    onReport(listener, adapter) {
      listeners.set(listener, adapter);
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
    recover: () => enqueue('drills awaiting publication', recoverAll),
    idle: () => queue,
    stop: () => {
      stopped = true;
      unsubscribe();
      for (const t of retries) clearTimeout(t);
      retries.clear();
    },
  };
}
