// The measurements a drill takes beside its steps, started at their moments as notifications
// arrive, and collected for the report (a missing one says why).
import type { OperationView } from '../domain/types.js';
import type { EngineNotification } from '../engine/types.js';
import { errorInfo } from '../errors.js';
import type { DrillMeasure } from '../report/index.js';
import type { DrillMeasurer, DrillMoment } from './measures.js';
import type { ReporterContext } from './reporter-types.js';

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

export function startMeasures(ctx: ReporterContext, n: EngineNotification): void {
  const { reports, log, measuring, running } = ctx;
  if (!ctx.measures || n.op.kind !== 'drill') return;
  const moments = momentsOf(n);
  for (const m of ctx.measures.measurers) {
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

export async function measuresFor(
  ctx: ReporterContext,
  view: OperationView,
): Promise<DrillMeasure[] | undefined> {
  if (!ctx.measures) return undefined;
  await Promise.all(ctx.running.get(view.id) ?? []);
  ctx.running.delete(view.id);
  const stored = await ctx.reports.measures(view.id);
  const taken = ctx.measures.measurers.map(
    (m) => stored.find((s) => s.component === m.component) ?? missing(m, view),
  );
  return [...taken, ...ctx.measures.notConfigured];
}
