/**
 * HorizontalPodAutoscalers (autoscaling/v2) in front of the configured workloads. An autoscaler
 * sets its target's replicas at every sync, so an exact count patched into /scale is overwritten;
 * to hold production size its bounds are raised instead (minReplicas to the production count,
 * maxReplicas too if lower), and put back when the region returns to standby.
 *
 * The bounds it had are saved on the autoscaler itself, in the same patch that raises them: the
 * failback that restores them is another operation than the failover that raised them, and a
 * crash between a patch and the step's record cannot lose them. The step's evidence shows them.
 */
import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { RegionRole } from '../domain/types.js';
import { PreconditionFailed } from '../errors.js';
import { call, label, type KubernetesContext, type WorkloadConfig } from './kubernetes-client.js';

/** Where the bounds from before the raise are kept, as JSON {minReplicas, maxReplicas}. */
export const SAVED_BOUNDS = 'dr-bot.io/saved-autoscaler-bounds';

interface Bounds {
  minReplicas: number;
  maxReplicas: number;
}

export interface Autoscaler {
  namespace: string;
  name: string;
  bounds: Bounds;
  /** Bounds saved by an earlier raise not yet restored. */
  saved?: Bounds;
}

const hpaLabel = (a: Autoscaler): string => `HorizontalPodAutoscaler ${a.namespace}/${a.name}`;
export const boundsText = (b: Bounds): string => `${b.minReplicas}–${b.maxReplicas}`;

function parseSaved(raw: string | undefined): Bounds | undefined {
  if (!raw) return undefined;
  try {
    const b = JSON.parse(raw) as Partial<Bounds>;
    if (Number.isInteger(b.minReplicas) && Number.isInteger(b.maxReplicas))
      return { minReplicas: b.minReplicas!, maxReplicas: b.maxReplicas! };
  } catch {
    // Not ours, or edited by hand: treated as absent, so nothing is restored from it.
  }
  return undefined;
}

function toAutoscaler(h: V2HorizontalPodAutoscaler): Autoscaler {
  return {
    namespace: h.metadata?.namespace ?? '',
    name: h.metadata?.name ?? '',
    bounds: { minReplicas: h.spec?.minReplicas ?? 1, maxReplicas: h.spec?.maxReplicas ?? 1 },
    saved: parseSaved(h.metadata?.annotations?.[SAVED_BOUNDS]),
  };
}

/**
 * The autoscaler of each configured workload in `region` (same namespace, scaleTargetRef naming
 * it). Two on one workload fight each other (the controller refuses to act, AmbiguousSelector):
 * refused with both names.
 */
export async function findAutoscalers(
  ctx: KubernetesContext,
  region: RegionRole,
): Promise<Map<WorkloadConfig, Autoscaler>> {
  const namespaces = [...new Set(ctx.opts.workloads.map((w) => w.namespace))];
  const lists = await Promise.all(
    namespaces.map((namespace) =>
      call(ctx, region, `listing HorizontalPodAutoscalers in ${namespace}`, (c) =>
        c.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace }),
      ).then((l) => l.items),
    ),
  );
  const all = lists.flat();
  const found = new Map<WorkloadConfig, Autoscaler>();
  for (const w of ctx.opts.workloads) {
    const mine = all.filter((h) => {
      const ref = h.spec?.scaleTargetRef;
      return (
        h.metadata?.namespace === w.namespace &&
        ref?.kind === w.kind &&
        ref.name === w.name &&
        (ref.apiVersion ?? 'apps/v1').startsWith('apps/')
      );
    });
    if (mine.length > 1)
      throw new PreconditionFailed(
        `kubernetes (${region}): ${label(w)} has ${mine.length} HorizontalPodAutoscalers (${mine.map((h) => h.metadata?.name).join(', ')}); the autoscaler controller acts on none of them. Delete all but one.`,
      );
    if (mine[0]) found.set(w, toAutoscaler(mine[0]));
  }
  return found;
}

/** Autoscaled workloads whose config says `autoscaler: leave`: the reason each cannot be scaled. */
export function leftAlone(found: Map<WorkloadConfig, Autoscaler>, region: RegionRole): string[] {
  return [...found]
    .filter(([w]) => w.autoscaler === 'leave')
    .map(
      ([w, a]) =>
        `${label(w)} is scaled by ${hpaLabel(a)} (${boundsText(a.bounds)} replicas) and its config says autoscaler: leave, so the bot cannot hold it at production size in the ${region}. Set autoscaler: raise for it, or take it out of components.kubernetes.workloads.`,
    );
}

async function patchBounds(
  ctx: KubernetesContext,
  region: RegionRole,
  a: Autoscaler,
  body: object,
  doing: string,
): Promise<void> {
  await call(ctx, region, `${doing} of ${hpaLabel(a)}`, (c) =>
    c.autoscaling.patchNamespacedHorizontalPodAutoscaler(
      { name: a.name, namespace: a.namespace, body },
      ctx.mergePatch,
    ),
  );
}

/** Raise the bounds to hold `replicas`; returns the bounds set, or null when they already do. */
export async function raiseAutoscaler(
  ctx: KubernetesContext,
  region: RegionRole,
  a: Autoscaler,
  replicas: number,
): Promise<Bounds | null> {
  if (a.bounds.minReplicas >= replicas && a.bounds.maxReplicas >= replicas) return null;
  const set: Bounds = {
    minReplicas: Math.max(a.bounds.minReplicas, replicas),
    maxReplicas: Math.max(a.bounds.maxReplicas, replicas),
  };
  // A raise retried after a crash keeps the bounds saved by the first one: those are the originals.
  const annotations = a.saved ? {} : { [SAVED_BOUNDS]: JSON.stringify(a.bounds) };
  await patchBounds(ctx, region, a, { metadata: { annotations }, spec: set }, 'raising the bounds');
  return set;
}

/** Put the saved bounds back and drop the note; null when nothing was saved. */
export async function restoreAutoscaler(
  ctx: KubernetesContext,
  region: RegionRole,
  a: Autoscaler,
): Promise<Bounds | null> {
  if (!a.saved) return null;
  const body = { metadata: { annotations: { [SAVED_BOUNDS]: null } }, spec: a.saved };
  await patchBounds(ctx, region, a, body, 'restoring the bounds');
  return a.saved;
}
