// Building a drill's report and handing it to the adapters due, under a claim so two processes
// never publish it at once, then marking it published (of record) or delivered (the others).
import { FINAL_PHASES, type OperationView } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import {
  buildDrillReport,
  renderDrillMarkdown,
  type AfterDrillCheck,
  type DrillReport,
} from '../report/index.js';
import { measuresFor } from './reporter-measures.js';
import type { ReportAdapter, ReporterContext, ReportListener } from './reporter-types.js';

/** Only a drill that was approved ran anything worth reporting; a rejected request has no report. */
export function reportable(view: OperationView): boolean {
  return (
    view.kind === 'drill' && FINAL_PHASES.includes(view.phase) && view.approvedAt !== undefined
  );
}

export async function build(ctx: ReporterContext, view: OperationView): Promise<DrillReport> {
  const [timeline, previous, measures, afterDrill] = await Promise.all([
    ctx.engine.timeline(view.id),
    ctx.reports.previous(view.env, view.id, view.finishedAt),
    measuresFor(ctx, view),
    afterDrillChecks(ctx),
  ]);
  return buildDrillReport({
    view,
    timeline,
    targets: ctx.targets,
    previous,
    now: ctx.now(),
    ...(measures ? { measures } : {}),
    ...(afterDrill.length > 0 ? { afterDrill } : {}),
  });
}

/** The readiness rows read now, once the failback is done; a check that throws says so in its row. */
async function afterDrillChecks(ctx: ReporterContext): Promise<AfterDrillCheck[]> {
  return Promise.all(
    ctx.afterDrill.map(async (check): Promise<AfterDrillCheck> => {
      const { id, title } = check;
      try {
        const { status, detail, measured, target } = await check.run();
        return { id, title, status, detail, measured, target };
      } catch (err) {
        const detail = `could not be read: ${errorInfo(err).message}`;
        return { id, title, status: 'unknown', detail, measured: null, target: null };
      }
    }),
  );
}

type Due = {
  record: [ReportListener, ReportAdapter][];
  others: [ReportListener, ReportAdapter][];
  published: boolean;
};

/** The adapters of this process that still have to be handed `opId`'s report. */
export async function due({ reports, listeners }: ReporterContext, opId: string): Promise<Due> {
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
  ctx: ReporterContext,
  report: DrillReport,
  todo: Due,
  recovered: boolean,
): Promise<'published' | 'delivered' | 'failed'> {
  const { reports, log, now } = ctx;
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
export async function publish(
  ctx: ReporterContext,
  opId: string,
  finished?: OperationView,
): Promise<Outcome> {
  const { reports, log, listeners } = ctx;
  // Measurements end first (a canary may wait its whole target): the claim covers only the publishing.
  await Promise.all(ctx.running.get(opId) ?? []);
  if (!(await reports.claim(opId, ctx.owner, ctx.claimMs))) {
    log.info({ opId }, 'another bot process is publishing this drill report');
    return 'held';
  }
  try {
    const todo = await due(ctx, opId);
    if (listeners.size > 0 && todo.record.length === 0 && todo.others.length === 0)
      return 'nothing';
    // The process that ran the drill builds its report itself, with the measurements it took: a
    // report stored meanwhile by someone else (`dr report` in another process, before those
    // measurements ended) lacks them. Recovery publishes the stored report as it is.
    let report = finished ? null : await reports.get(opId);
    if (!report) {
      const view = finished ?? (await ctx.engine.get(opId));
      if (!view || !reportable(view)) return 'unfinished';
      report = await build(ctx, view);
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
    const outcome = await deliver(ctx, report, todo, !finished);
    if (outcome === 'published') log.info({ opId }, 'drill report published');
    // The console prints it; the incident channel gets it from the bot's next start.
    if (outcome === 'delivered')
      log.info(
        { opId },
        'drill report shown; it awaits publication in the incident channel (no adapter of record in this process)',
      );
    return outcome;
  } finally {
    await reports.release(opId, ctx.owner).catch(() => undefined);
  }
}

/** Report work runs one piece at a time, in order; a failure is logged, never thrown. */
export function enqueue(
  ctx: ReporterContext,
  opId: string,
  work: () => Promise<unknown>,
): Promise<void> {
  return (ctx.queue = ctx.queue.then(work).then(
    () => undefined,
    (err: unknown) =>
      ctx.log.error(
        { opId, err: errorInfo(err) },
        'could not build or store the drill report; `dr report` builds it again',
      ),
  ));
}
