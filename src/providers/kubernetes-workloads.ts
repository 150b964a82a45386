/**
 * One read of the configured workloads and the rules for "at the profile's size": an exact
 * count, or, for a workload an autoscaler scales, bounds that hold production size (and then at
 * least that many replicas) or the bounds it had before (and whatever count it chose).
 */
import type { RegionRole } from '../domain/types.js';
import type { ScaleProfile } from './types.js';
import {
  call,
  label,
  type KubernetesContext,
  type RegionClient,
  type WorkloadConfig,
} from './kubernetes-client.js';
import type { Autoscaler } from './kubernetes-hpa.js';
import { rolledOut, rolloutLine, rolloutStatus, type RolloutStatus } from './kubernetes-rollout.js';

export interface Observed extends RolloutStatus {
  w: WorkloadConfig;
  resourceVersion?: string;
  /** The autoscaler that sets its count, when one targets it. */
  hpa?: Autoscaler;
}

export const target = (w: WorkloadConfig, profile: ScaleProfile): number =>
  profile === 'production' ? w.productionReplicas : w.standbyReplicas;

/** The count it must be patched to, or null when the count is right (or the autoscaler's). */
export function countToSet(o: Observed, profile: ScaleProfile): number | null {
  const want = target(o.w, profile);
  if (!o.hpa) return o.spec === want ? null : want;
  // Raised bounds bring the autoscaler there at its next sync; the patch only saves that wait.
  return profile === 'production' && o.spec < want ? want : null;
}

function sized(o: Observed, profile: ScaleProfile): boolean {
  const want = target(o.w, profile);
  if (!o.hpa) return o.spec === want;
  if (profile === 'standby') return !o.hpa.saved;
  return o.spec >= want && o.hpa.bounds.minReplicas >= want && o.hpa.bounds.maxReplicas >= want;
}

export const settled = (o: Observed, profile: ScaleProfile): boolean =>
  sized(o, profile) && rolledOut(o);

export async function observe(
  ctx: KubernetesContext,
  region: RegionRole,
  w: WorkloadConfig,
): Promise<Observed> {
  const read =
    w.kind === 'Deployment'
      ? (c: RegionClient) =>
          c.apps.readNamespacedDeployment({ name: w.name, namespace: w.namespace })
      : (c: RegionClient) =>
          c.apps.readNamespacedStatefulSet({ name: w.name, namespace: w.namespace });
  const obj = await call(ctx, region, `reading ${label(w)}`, read);
  return { w, ...rolloutStatus(obj), resourceVersion: obj.metadata?.resourceVersion };
}

export const observeAll = (
  ctx: KubernetesContext,
  region: RegionRole,
  hpas: Map<WorkloadConfig, Autoscaler>,
): Promise<Observed[]> =>
  Promise.all(
    ctx.opts.workloads.map((w) =>
      observe(ctx, region, w).then((o) => ({ ...o, hpa: hpas.get(w) })),
    ),
  );

export const progressLine = (all: Observed[], profile: ScaleProfile): string =>
  all
    .map((o) =>
      o.observed && o.replicas <= o.spec && o.updated >= o.spec
        ? `${o.w.name} ${o.ready}/${o.hpa ? o.spec : target(o.w, profile)} ready`
        : `${o.w.name} ${rolloutLine(o)}`,
    )
    .join(', ');
