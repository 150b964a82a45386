/**
 * ClusterProvider for Kubernetes: scales a region's Deployments and StatefulSets between their
 * standby and production replica counts with a merge patch of their /scale subresource
 * ({"spec":{"replicas":N}}, what `kubectl scale` sends), then waits for the pods.
 *
 * Options (config: components.kubernetes):
 * - primary, secondary: { kubeconfig?: path (default: KUBECONFIG / ~/.kube/config), context?: name
 *   (default: the kubeconfig's current context) }. Loaded on first use, so a broken primary
 *   kubeconfig does not stop a failover that never touches the primary.
 * - workloads: [{ kind: 'Deployment' | 'StatefulSet', namespace, name, productionReplicas, standbyReplicas }]
 * - readyTimeoutSeconds: how long scale() waits for ready replicas (default 600); then it fails
 *   with code 'timeout' and the operation pauses
 * - pollMs: the fallback poll while waiting (default 2000); the wait reacts to a watch of the
 *   workloads at once, and polls only if the watch is refused or breaks
 * - log: pino logger
 *
 * - workloads[].autoscaler: 'raise' (default) | 'leave', for a workload a HorizontalPodAutoscaler
 *   scales: its bounds are raised to hold production size and restored at standby, or by
 *   releaseAutoscalers once the region serves on its own (kubernetes-hpa.ts); or it is refused
 *
 * A workload counts as scaled when its count is right and its rollout is done as `kubectl rollout
 * status` judges it (kubernetes-rollout.ts); a rollout past its progress deadline fails the wait
 * at once, with the pods not ready, their reasons and the last events.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Evidence, RegionRole } from '../domain/types.js';
import { PreconditionFailed, ProviderError } from '../errors.js';
import type { ActionResult, ClusterProvider, Progress, ScaleProfile } from './types.js';
import {
  NAME,
  call,
  label,
  regionClient,
  type KubernetesContext,
  type KubernetesProviderOptions,
  type WorkloadConfig,
} from './kubernetes-client.js';
import {
  boundsText,
  findAutoscalers,
  leftAlone,
  raiseAutoscaler,
  restoreAutoscaler,
  type Autoscaler,
} from './kubernetes-hpa.js';
import { reachable, readiness } from './kubernetes-readiness.js';
import { diagnose } from './kubernetes-rollout.js';
import { watchWorkloads, type ChangeFeed } from './kubernetes-watch.js';
import {
  countToSet,
  observeAll,
  progressLine,
  settled,
  target,
  type Observed,
} from './kubernetes-workloads.js';

export { loadKubeConfig, mapKubernetesError } from './kubernetes-client.js';
export type { ClusterRef, KubernetesProviderOptions, WorkloadConfig } from './kubernetes-client.js';

type Autoscalers = Map<WorkloadConfig, Autoscaler>;
interface ScaleArgs {
  region: RegionRole;
  profile: ScaleProfile;
  progress: Progress;
  wait?: boolean;
  onlyFrom?: ScaleProfile;
  beforeChange?: () => Promise<void>;
}

/** One PATCH: the count is all it sets, so there is no read-modify-write to race with. */
async function setReplicas(
  ctx: KubernetesContext,
  region: RegionRole,
  w: WorkloadConfig,
  replicas: number,
): Promise<void> {
  const doing = `scaling ${label(w)} to ${replicas}`;
  await call(ctx, region, doing, async (c) => {
    const args = { name: w.name, namespace: w.namespace, body: { spec: { replicas } } };
    if (w.kind === 'Deployment') await c.apps.patchNamespacedDeploymentScale(args, ctx.mergePatch);
    else await c.apps.patchNamespacedStatefulSetScale(args, ctx.mergePatch);
  });
}

/** The region's autoscalers; refused before any change when one is to be left alone. */
async function autoscalers(ctx: KubernetesContext, region: RegionRole): Promise<Autoscalers> {
  const hpas = await findAutoscalers(ctx, region);
  const refused = leftAlone(hpas, region);
  if (refused.length > 0)
    throw new PreconditionFailed(
      `kubernetes (${region}): ${refused.join(' ')} Nothing was changed.`,
    );
  return hpas;
}

async function isScaled(
  ctx: KubernetesContext,
  region: RegionRole,
  profile: ScaleProfile,
): Promise<boolean> {
  const hpas = await findAutoscalers(ctx, region);
  // A workload to be left alone is "not scaled", so the step runs and scale() says why.
  if (leftAlone(hpas, region).length > 0) return false;
  const all = await observeAll(ctx, region, hpas);
  return all.every((o) => settled(o, profile));
}

/** After the counts are set: read, then wait for the watch (or the fallback poll), until settled. */
async function waitScaled(
  ctx: KubernetesContext,
  args: ScaleArgs & { hpas: Autoscalers },
  changed: string[],
  evidence: Evidence,
): Promise<ActionResult> {
  let feed: ChangeFeed | undefined;
  try {
    return await waitLoop(ctx, args, changed, evidence, (now) => {
      // List, then watch from what was read: a change in between is not missed.
      feed ??= watchWorkloads(
        regionClient(ctx, args.region).kc,
        now.map((o) => ({ ...o.w, resourceVersion: o.resourceVersion })),
        ctx.log,
      );
      return feed.next(ctx.pollMs);
    });
  } finally {
    feed?.stop();
  }
}

/** Why the wait failed: a short line per workload, the pods and events in the progress data. */
async function failWait(
  ctx: KubernetesContext,
  { region, profile, progress }: ScaleArgs,
  lagging: Observed[],
  headline: string,
): Promise<never> {
  const found = await Promise.all(lagging.map((o) => diagnose(ctx, region, o.w, o)));
  const lines = lagging.map((o, i) => `${label(o.w)} ${found[i]!.line}`);
  progress(`${headline}: ${lines.join('; ')}`, {
    diagnosis: Object.fromEntries(lagging.map((o, i) => [label(o.w), found[i]!.evidence])),
  });
  const first = lagging[0]!.w;
  throw new ProviderError(
    NAME,
    `(${region}) ${profile} size: ${headline}: ${lines.join('; ')}. Fix the pods (kubectl -n ${first.namespace} describe ${first.kind.toLowerCase()} ${first.name}), then retry.`,
    { code: 'timeout', retryable: true },
  );
}

function scaledResult(
  args: ScaleArgs,
  now: Observed[],
  changed: string[],
  evidence: Evidence,
  ms: number,
): ActionResult {
  const secs = Math.round(ms / 1000);
  return {
    noop: false,
    summary: `scaled the ${args.region} to ${args.profile}: ${changed.join(', ') || 'counts already set'}; all ready after ${ms < 10_000 ? `${ms} ms` : `${secs} s`}`,
    evidence: {
      ...evidence,
      after: Object.fromEntries(now.map((o) => [label(o.w), `${o.ready}/${o.spec}`])),
      readySeconds: secs,
      readyMs: ms,
    },
  };
}

async function waitLoop(
  ctx: KubernetesContext,
  args: ScaleArgs & { hpas: Autoscalers },
  changed: string[],
  evidence: Evidence,
  nextChange: (now: Observed[]) => Promise<void>,
): Promise<ActionResult> {
  const { region, profile, progress } = args;
  const started = Date.now();
  let last = '';
  for (;;) {
    const now = await observeAll(ctx, region, args.hpas);
    const lagging = now.filter((o) => !settled(o, profile));
    if (lagging.length === 0) {
      ctx.log.info({ region, profile, ms: Date.now() - started }, 'kubernetes: workloads ready');
      return scaledResult(args, now, changed, evidence, Date.now() - started);
    }
    const stuck = lagging.filter((o) => o.deadlineExceeded);
    if (stuck.length > 0) return failWait(ctx, args, stuck, 'rollout stuck');
    const line = progressLine(now, profile);
    if (line !== last)
      progress(line, { ready: Object.fromEntries(now.map((o) => [label(o.w), o.ready])) });
    last = line;
    if (Date.now() - started >= ctx.timeoutMs)
      return failWait(
        ctx,
        args,
        lagging,
        `not ready after ${Math.round((Date.now() - started) / 1000)} s`,
      );
    await nextChange(now);
  }
}

/** Raise (production) or restore (standby) each autoscaler; what changed, for the evidence. */
async function adjustAutoscalers(
  ctx: KubernetesContext,
  { region, profile, progress }: ScaleArgs,
  hpas: Autoscalers,
): Promise<Record<string, string>> {
  const done: Record<string, string> = {};
  for (const [w, a] of hpas) {
    const from = boundsText(a.bounds);
    const set =
      profile === 'production'
        ? await raiseAutoscaler(ctx, region, a, target(w, profile))
        : await restoreAutoscaler(ctx, region, a);
    if (!set) continue;
    // What the wait judges from now on (the list is not read again).
    hpas.set(w, {
      ...a,
      bounds: set,
      saved: profile === 'production' ? (a.saved ?? a.bounds) : undefined,
    });
    done[label(w)] = `${a.namespace}/${a.name} ${from}→${boundsText(set)}`;
    progress(`autoscaler ${a.namespace}/${a.name} of ${label(w)}: ${from}→${boundsText(set)}`);
  }
  return done;
}

async function scale(ctx: KubernetesContext, args: ScaleArgs): Promise<ActionResult> {
  const { region, profile, progress } = args;
  const hpas = await autoscalers(ctx, region);
  const before = await observeAll(ctx, region, hpas);
  const evidence: Evidence = {
    region,
    profile,
    before: Object.fromEntries(before.map((o) => [label(o.w), `${o.ready}/${o.spec}`])),
    ...(hpas.size > 0
      ? {
          autoscalersBefore: Object.fromEntries(
            [...hpas].map(([w, a]) => [label(w), boundsText(a.bounds)]),
          ),
        }
      : {}),
  };
  if (args.onlyFrom && !before.every((o) => settled(o, args.onlyFrom!)))
    return {
      noop: true,
      summary: `left as it is: the ${region} is not at ${args.onlyFrom} size (${progressLine(before, args.onlyFrom)})`,
      evidence,
    };
  const toSet = before.flatMap((o) => {
    const n = countToSet(o, profile);
    return n === null ? [] : [{ o, n }];
  });
  if (toSet.length === 0 && before.every((o) => settled(o, profile)))
    return {
      noop: true,
      summary: `already at ${profile} counts in the ${region}: ${progressLine(before, profile)}`,
      evidence,
    };
  await args.beforeChange?.();
  const adjusted = await adjustAutoscalers(ctx, args, hpas);
  if (Object.keys(adjusted).length > 0) evidence.autoscalers = adjusted;
  for (const { o, n } of toSet) progress(`scaling ${label(o.w)} from ${o.spec} to ${n}`);
  // Each PATCH sets one workload's count alone: all at once, the wait starts after the slowest.
  await Promise.all(toSet.map(({ o, n }) => setReplicas(ctx, region, o.w, n)));
  const changed = [
    ...toSet.map(({ o, n }) => `${o.w.name} ${o.spec}→${n}`),
    ...Object.entries(adjusted).map(([, v]) => `autoscaler ${v}`),
  ];
  if (args.wait === false)
    return {
      noop: false,
      summary: `set the ${region} to ${profile}: ${changed.join(', ') || 'counts already set'}`,
      evidence,
    };
  return waitScaled(ctx, { ...args, hpas }, changed, evidence);
}

/** The autoscalers the bot may touch (not `autoscaler: leave`) that hold bounds it raised. */
async function raisedAutoscalers(ctx: KubernetesContext, region: RegionRole): Promise<Autoscalers> {
  const hpas = await findAutoscalers(ctx, region);
  return new Map([...hpas].filter(([w, a]) => w.autoscaler !== 'leave' && a.saved));
}

/** The region serves again on its own: its autoscalers get back the bounds they had before. */
async function releaseAutoscalers(
  ctx: KubernetesContext,
  { region, progress }: { region: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const raised = await raisedAutoscalers(ctx, region);
  if (raised.size === 0)
    return { noop: true, summary: `no autoscaler raised in the ${region}`, evidence: { region } };
  // Restoring is what a scale to standby does to an autoscaler; the counts are left to it.
  const restored = await adjustAutoscalers(ctx, { region, profile: 'standby', progress }, raised);
  return {
    noop: false,
    summary: `restored the ${region}'s autoscalers: ${Object.values(restored).join(', ')}`,
    evidence: { region, autoscalers: restored },
  };
}

export function createKubernetesProvider(opts: KubernetesProviderOptions): ClusterProvider {
  const ctx: KubernetesContext = {
    opts,
    timeoutMs: (opts.readyTimeoutSeconds ?? 600) * 1000,
    pollMs: opts.pollMs ?? 2000,
    // The factory hands in a logger already bound to the provider name.
    log: opts.log,
    clients: {},
    // The generated client sends PATCH bodies as JSON Patch unless told otherwise (client-node 1.x: a header middleware).
    mergePatch: setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  };
  return {
    name: NAME,
    isScaled: (region, profile) => isScaled(ctx, region, profile),
    scale: (args) => scale(ctx, args),
    reachable: (region) => reachable(ctx, region),
    releaseAutoscalers: (args) => releaseAutoscalers(ctx, args),
    autoscalersReleased: async (region) => (await raisedAutoscalers(ctx, region)).size === 0,
    readiness: (region) => readiness(ctx, region),
    async close() {
      // The client holds no pooled connections of its own to release.
    },
  };
}
