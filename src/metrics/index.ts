/**
 * Prometheus metrics (GET /metrics): what an SRE graphs and alerts on between incidents
 * (readiness, replication lag, the last drill) and during one (operations, steps, RTO, RPO,
 * approvals pending). Fed by the engine's notifications and the readiness monitor's reports, so
 * nothing here talks to a provider. deploy/prometheus/rules.yaml alerts on these names.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OperationView, TimelineEntry } from '../domain/types.js';
import type { ReadinessReport } from '../readiness/types.js';

export interface Metrics {
  readonly contentType: string;
  /** The exposition text, for GET /metrics. */
  render(): Promise<string>;
  readiness(report: ReadinessReport): void;
  notification(n: { op: OperationView; entries: TimelineEntry[] }): void;
  slackError(method: string, code: string): void;
  /** 1 while this process holds the environment's instance lease, 0 while it stands by. */
  setActive(active: boolean): void;
}

/** Seconds: a step takes from milliseconds (a DNS change) to an hour (a rebuild resync). */
const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const OPERATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/** Between incidents: readiness, lag, standby size, the last drill. */
function readinessSeries(registry: Registry) {
  const r = { registers: [registry] };
  return {
    ready: new Gauge({
      name: 'dr_readiness_ok',
      help: 'Whether a readiness check is ok (1) or degraded/unknown (0).',
      labelNames: ['check'],
      ...r,
    }),
    lagSeconds: new Gauge({
      name: 'dr_replication_lag_seconds',
      help: 'Replication lag of the standby behind the primary, in seconds.',
      labelNames: ['component'],
      ...r,
    }),
    lagBytes: new Gauge({
      name: 'dr_replication_lag_bytes',
      help: 'Replication lag of the standby behind the primary, in bytes (WAL or offset gap).',
      labelNames: ['component'],
      ...r,
    }),
    standbyReplicas: new Gauge({
      name: 'dr_standby_replicas',
      help: 'Replicas a secondary-region workload is scaled to (its spec).',
      labelNames: ['workload'],
      ...r,
    }),
    standbySize: new Gauge({
      name: 'dr_standby_size_replicas',
      help: 'Replicas the configuration gives a secondary-region workload at standby.',
      labelNames: ['workload'],
      ...r,
    }),
    lastDrill: new Gauge({
      name: 'dr_last_drill_timestamp_seconds',
      help: 'When the last drill finished (Unix time, seconds).',
      ...r,
    }),
    lastDrillSuccess: new Gauge({
      name: 'dr_last_drill_success',
      help: 'Whether the last drill this process saw finish completed (1) or not (0).',
      ...r,
    }),
  };
}

/** During one: operations, steps, RTO and RPO, approvals, this instance, Slack. */
function operationSeries(registry: Registry) {
  const r = { registers: [registry] };
  return {
    operations: new Counter({
      name: 'dr_operations_total',
      help: 'Operations that finished, by kind and result (the final phase).',
      labelNames: ['kind', 'result'],
      ...r,
    }),
    operationDuration: new Histogram({
      name: 'dr_operation_duration_seconds',
      help: 'From request to the end of an operation, in seconds.',
      labelNames: ['kind', 'result'],
      buckets: OPERATION_BUCKETS,
      ...r,
    }),
    stepDuration: new Histogram({
      name: 'dr_step_duration_seconds',
      help: 'How long a step ran, in seconds, by kind, step and result.',
      labelNames: ['kind', 'step', 'result'],
      buckets: STEP_BUCKETS,
      ...r,
    }),
    rto: new Gauge({
      name: 'dr_last_rto_seconds',
      help: 'RTO of the last completed operation of a kind: final approval to green verification.',
      labelNames: ['kind'],
      ...r,
    }),
    rpoSeconds: new Gauge({
      name: 'dr_last_rpo_seconds',
      help: 'RPO measured by the last completed operation of a kind, per component, in seconds.',
      labelNames: ['kind', 'component'],
      ...r,
    }),
    rpoBytes: new Gauge({
      name: 'dr_last_rpo_bytes',
      help: 'RPO measured by the last completed operation of a kind, per component, in bytes.',
      labelNames: ['kind', 'component'],
      ...r,
    }),
    approvalsPending: new Gauge({
      name: 'dr_approvals_pending',
      help: 'Operations waiting for approval.',
      ...r,
    }),
    active: new Gauge({
      name: 'dr_instance_active',
      help: "Whether this process holds the environment's instance lease (1) or stands by (0).",
      ...r,
    }),
    slackErrors: new Counter({
      name: 'dr_slack_api_errors_total',
      help: 'Slack Web API calls that failed, by method and error code.',
      labelNames: ['method', 'error'],
      ...r,
    }),
  };
}
type Series = ReturnType<typeof readinessSeries> & ReturnType<typeof operationSeries>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function observeReadiness(s: Series, report: ReadinessReport): void {
  for (const result of report.results) {
    s.ready.set({ check: result.id }, result.status === 'ok' ? 1 : 0);
    const e = result.evidence ?? {};
    const component = result.id === 'postgres' || result.id === 'redis' ? result.id : null;
    if (component) {
      const seconds = num(e.lagSeconds);
      const bytes = num(e.lagBytes) ?? num(e.offsetGapBytes);
      if (seconds !== null) s.lagSeconds.set({ component }, seconds);
      if (bytes !== null) s.lagBytes.set({ component }, bytes);
    }
    if (result.id === 'drill' && num(e.lastDrillAt) !== null)
      s.lastDrill.set(Math.floor((e.lastDrillAt as number) / 1000));
    if (result.id === 'standby-workloads' && e.workloads && typeof e.workloads === 'object')
      for (const [name, w] of Object.entries(e.workloads as Record<string, unknown>)) {
        const spec = num((w as Record<string, unknown>)?.spec);
        const standby = num((w as Record<string, unknown>)?.standby);
        if (spec !== null) s.standbyReplicas.set({ workload: name }, spec);
        if (standby !== null) s.standbySize.set({ workload: name }, standby);
      }
  }
}

function observeEntry(s: Series, op: OperationView, entry: TimelineEntry): void {
  const kind = op.kind;
  if (entry.type === 'StepSucceeded' || entry.type === 'StepFailed') {
    const result = entry.type === 'StepSucceeded' ? entry.outcome.result : 'failed';
    s.stepDuration.observe({ kind, step: entry.stepId, result }, entry.durationMs / 1000);
  }
  if (entry.type === 'OperationCompleted') {
    if (entry.rtoMs !== undefined) s.rto.set({ kind }, entry.rtoMs / 1000);
    for (const rpo of entry.rpo ?? []) {
      if (rpo.seconds !== null) s.rpoSeconds.set({ kind, component: rpo.component }, rpo.seconds);
      if (rpo.bytes !== null) s.rpoBytes.set({ kind, component: rpo.component }, rpo.bytes);
    }
  }
}

const FINAL = new Set(['completed', 'rejected', 'aborted', 'expired', 'refused']);

export function createMetrics(opts: { env: string; defaultMetrics?: boolean }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ environment: opts.env });
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const s: Series = { ...readinessSeries(registry), ...operationSeries(registry) };
  s.active.set(0);
  const pending = new Set<string>();
  const finished = new Set<string>();
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    readiness: (report) => observeReadiness(s, report),
    slackError: (method, code) => s.slackErrors.inc({ method, error: code }),
    setActive: (active) => s.active.set(active ? 1 : 0),
    notification({ op, entries }) {
      for (const entry of entries) observeEntry(s, op, entry);
      if (op.phase === 'awaitingApproval') pending.add(op.id);
      else pending.delete(op.id);
      s.approvalsPending.set(pending.size);
      // A resumed operation notifies its final phase again: count it once per process.
      if (!FINAL.has(op.phase) || finished.has(op.id)) return;
      finished.add(op.id);
      s.operations.inc({ kind: op.kind, result: op.phase });
      const end = op.finishedAt ?? Date.now();
      s.operationDuration.observe({ kind: op.kind, result: op.phase }, (end - op.createdAt) / 1000);
      if (op.kind === 'drill') {
        s.lastDrillSuccess.set(op.phase === 'completed' ? 1 : 0);
        s.lastDrill.set(Math.floor(end / 1000));
      }
    },
  };
}
