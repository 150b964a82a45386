/**
 * When a workload's rollout is finished, and why it is not. The test is kubectl's
 * (`kubectl rollout status`, kubectl/pkg/polymorphichelpers/rollout_status.go): the controller has
 * observed the spec (status.observedGeneration >= metadata.generation), every replica runs the
 * current template (updatedReplicas), no old replica is left (status.replicas), all are ready; and a
 * Deployment whose Progressing condition says ProgressDeadlineExceeded has failed.
 *
 * Why: the pods not ready with their reasons (CrashLoopBackOff, Unschedulable, ...) and the last
 * events of the workload, its ReplicaSets and its pods, as `kubectl describe` shows them.
 */
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { Evidence, RegionRole } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import { call, type KubernetesContext, type WorkloadConfig } from './kubernetes-client.js';

/** What one read of a workload says about its rollout. */
export interface RolloutStatus {
  spec: number;
  replicas: number;
  ready: number;
  updated: number;
  observed: boolean;
  /** Progressing False, ProgressDeadlineExceeded (Deployments only). */
  deadlineExceeded: boolean;
  /** spec.selector.matchLabels as a labelSelector ("app=api"). */
  selector: string;
}

interface WorkloadObject {
  metadata?: { generation?: number };
  kind?: string;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

/**
 * The updated replicas that count. A StatefulSet updates only the pods at or above its partition,
 * and none by itself with OnDelete (kubectl does not wait there either): the others count as done.
 */
function updatedToWaitFor(obj: WorkloadObject, spec: number, replicas: number): number {
  const updated = obj.status?.updatedReplicas ?? replicas;
  const strategy = obj.spec?.updateStrategy;
  if (obj.kind !== 'StatefulSet' || !strategy) return updated;
  if (strategy.type === 'OnDelete') return Math.max(updated, spec);
  return updated + Math.min(spec, strategy.rollingUpdate?.partition ?? 0);
}

export function rolloutStatus(obj: WorkloadObject): RolloutStatus {
  const spec = obj.spec?.replicas ?? 1;
  const replicas = obj.status?.replicas ?? 0;
  const progressing = obj.status?.conditions?.find((c) => c.type === 'Progressing');
  return {
    spec,
    replicas,
    ready: obj.status?.readyReplicas ?? 0,
    updated: updatedToWaitFor(obj, spec, replicas),
    observed: (obj.status?.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0),
    deadlineExceeded:
      progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded',
    selector: Object.entries(obj.spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}

/** Finished: observed, all replicas updated, none left over, all ready. */
export const rolledOut = (s: RolloutStatus): boolean =>
  s.observed && s.updated >= s.spec && s.replicas === s.spec && s.ready >= s.spec;

/** One line on where the rollout is, in kubectl's words. */
export function rolloutLine(s: RolloutStatus): string {
  if (!s.observed) return 'spec update not yet observed';
  if (s.deadlineExceeded) return 'exceeded its progress deadline';
  if (s.updated < s.spec) return `${s.updated} of ${s.spec} new replicas updated`;
  if (s.replicas > s.spec) return `${s.replicas - s.spec} old replicas pending termination`;
  return `${s.ready} of ${s.spec} ready`;
}

/** The pod's reason in one word or two (and its restarts), and the detail behind it. */
function podReason(p: V1Pod): { reason: string; detail?: string } {
  const c = p.status?.containerStatuses?.find((s) => !s.ready);
  const restarts = c?.restartCount ? ` (${c.restartCount} restarts)` : '';
  const waiting = c?.state?.waiting;
  if (waiting?.reason) return { reason: `${waiting.reason}${restarts}`, detail: waiting.message };
  const ended = c?.state?.terminated;
  if (ended?.reason) return { reason: `${ended.reason}${restarts}`, detail: ended.message };
  const unscheduled = p.status?.conditions?.find(
    (x) => x.type === 'PodScheduled' && x.status === 'False',
  );
  if (unscheduled)
    return { reason: unscheduled.reason ?? 'not scheduled', detail: unscheduled.message };
  return { reason: p.status?.phase ?? 'unknown' };
}

const clip = (text: string, max = 100): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** "2/6 ready", and where the rollout is when that is not the whole story. */
function countLine(s: RolloutStatus): string {
  const where = rolloutLine(s);
  return where.endsWith(' ready')
    ? `${s.ready}/${s.spec} ready`
    : `${s.ready}/${s.spec} ready, ${where}`;
}

const eventTime = (e: CoreV1Event): number =>
  new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();

/**
 * Why `w` is not rolled out: a short line for the message, and the pods and the last events for
 * the step's evidence. A cluster that will not show pods or events (no rights) says so instead.
 */
export async function diagnose(
  ctx: KubernetesContext,
  region: RegionRole,
  w: WorkloadConfig,
  s: RolloutStatus,
): Promise<{ line: string; evidence: Evidence }> {
  try {
    const [pods, events] = await Promise.all([
      call(ctx, region, `listing the pods of ${w.name}`, (c) =>
        c.core.listNamespacedPod({ namespace: w.namespace, labelSelector: s.selector }),
      ),
      call(ctx, region, `listing the events in ${w.namespace}`, (c) =>
        c.core.listNamespacedEvent({ namespace: w.namespace }),
      ),
    ]);
    const notReady = pods.items
      .filter((p) => !p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
      .map((p) => ({ pod: p.metadata?.name ?? '?', ...podReason(p) }));
    // The workload, its ReplicaSets and its pods: what `kubectl describe` gathers events for.
    const names = new Set([
      w.name,
      ...pods.items.map((p) => p.metadata?.name ?? ''),
      ...pods.items.flatMap((p) => (p.metadata?.ownerReferences ?? []).map((o) => o.name)),
    ]);
    const last = events.items
      .filter((e) => names.has(e.involvedObject.name ?? ''))
      .sort((a, b) => eventTime(a) - eventTime(b))
      .slice(-5)
      .map((e) => `${e.type ?? ''} ${e.reason ?? ''} ${e.involvedObject.name}: ${e.message ?? ''}`);
    const listed = notReady
      .slice(0, 2)
      .map((p) => `${p.pod} ${p.reason}`)
      .join(', ');
    const more = notReady.length > 2 ? ` and ${notReady.length - 2} more` : '';
    const line = [
      countLine(s),
      ...(notReady.length > 0 ? [`pods not ready: ${listed}${more}`] : []),
      ...(last.length > 0 ? [`last event: ${clip(last.at(-1)!)}`] : []),
    ].join('; ');
    return {
      line,
      evidence: {
        podsNotReady: notReady.map((p) => ({ ...p, detail: p.detail ?? '' })),
        lastEvents: last,
      },
    };
  } catch (err) {
    const why = errorInfo(err).message;
    return {
      line: `${countLine(s)} (pods unreadable: ${why})`,
      evidence: { diagnosis: why },
    };
  }
}
