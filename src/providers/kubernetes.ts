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
 * A workload counts as scaled when the controller has observed the new spec (observedGeneration),
 * status.replicas equals the target (old pods gone on the way down) and readyReplicas reach it.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CheckResult, ComponentReadiness, Evidence, RegionRole } from '../domain/types.js';
import { ProviderError, errorInfo } from '../errors.js';
import type { ActionResult, ClusterProvider, Progress, ScaleProfile } from './types.js';
import {
  NAME,
  call,
  label,
  regionClient,
  type KubernetesContext,
  type KubernetesProviderOptions,
  type RegionClient,
  type WorkloadConfig,
} from './kubernetes-client.js';
import { watchWorkloads, type ChangeFeed } from './kubernetes-watch.js';

export { loadKubeConfig, mapKubernetesError } from './kubernetes-client.js';
export type { ClusterRef, KubernetesProviderOptions, WorkloadConfig } from './kubernetes-client.js';

interface Observed {
  w: WorkloadConfig;
  spec: number;
  replicas: number;
  ready: number;
  observed: boolean;
  resourceVersion?: string;
}

const target = (w: WorkloadConfig, profile: ScaleProfile): number =>
  profile === 'production' ? w.productionReplicas : w.standbyReplicas;
const settled = (o: Observed, want: number): boolean =>
  o.observed && o.spec === want && o.replicas === want && o.ready >= want;

async function observe(
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
  const spec = obj.spec?.replicas ?? 1;
  return {
    w,
    spec,
    replicas: obj.status?.replicas ?? 0,
    ready: obj.status?.readyReplicas ?? 0,
    observed: (obj.status?.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0),
    resourceVersion: obj.metadata?.resourceVersion,
  };
}

const observeAll = (ctx: KubernetesContext, region: RegionRole): Promise<Observed[]> =>
  Promise.all(ctx.opts.workloads.map((w) => observe(ctx, region, w)));

const progressLine = (all: Observed[], profile: ScaleProfile): string =>
  all.map((o) => `${o.w.name} ${o.ready}/${target(o.w, profile)} ready`).join(', ');

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

async function isScaled(
  ctx: KubernetesContext,
  region: RegionRole,
  profile: ScaleProfile,
): Promise<boolean> {
  const all = await observeAll(ctx, region);
  return all.every((o) => settled(o, target(o.w, profile)));
}

/** After the counts are set: read, then wait for the watch (or the fallback poll), until settled. */
async function waitScaled(
  ctx: KubernetesContext,
  args: { region: RegionRole; profile: ScaleProfile; progress: Progress },
  toChange: Observed[],
  evidence: Evidence,
): Promise<ActionResult> {
  let feed: ChangeFeed | undefined;
  try {
    return await waitLoop(ctx, args, toChange, evidence, (now) => {
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

async function waitLoop(
  ctx: KubernetesContext,
  { region, profile, progress }: { region: RegionRole; profile: ScaleProfile; progress: Progress },
  toChange: Observed[],
  evidence: Evidence,
  nextChange: (now: Observed[]) => Promise<void>,
): Promise<ActionResult> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const now = await observeAll(ctx, region);
    const line = progressLine(now, profile);
    if (now.every((o) => settled(o, target(o.w, profile)))) {
      const ms = Date.now() - started;
      const secs = Math.round(ms / 1000);
      ctx.log.info({ region, profile, ms }, 'kubernetes: workloads scaled and ready');
      return {
        noop: false,
        summary: `scaled the ${region} to ${profile}: ${toChange.map((o) => `${o.w.name} ${o.spec}→${target(o.w, profile)}`).join(', ') || 'counts already set'}; all ready after ${ms < 10_000 ? `${ms} ms` : `${secs} s`}`,
        evidence: {
          ...evidence,
          after: Object.fromEntries(now.map((o) => [label(o.w), `${o.ready}/${o.spec}`])),
          readySeconds: secs,
          readyMs: ms,
        },
      };
    }
    if (line !== last)
      progress(line, { ready: Object.fromEntries(now.map((o) => [label(o.w), o.ready])) });
    last = line;
    if (Date.now() - started >= ctx.timeoutMs) {
      const lagging = now.filter((o) => !settled(o, target(o.w, profile)));
      throw new ProviderError(
        NAME,
        `(${region}) not ready after ${Math.round((Date.now() - started) / 1000)} s: ${lagging.map((o) => `${label(o.w)} ${o.ready}/${target(o.w, profile)} ready`).join(', ')}. The new replica counts are set; look at the pods (kubectl -n ${lagging[0].w.namespace} describe ${lagging[0].w.kind.toLowerCase()} ${lagging[0].w.name}: image pulls, quotas, node capacity), then retry.`,
        { code: 'timeout', retryable: true },
      );
    }
    await nextChange(now);
  }
}

async function scale(
  ctx: KubernetesContext,
  args: { region: RegionRole; profile: ScaleProfile; progress: Progress },
): Promise<ActionResult> {
  const { region, profile, progress } = args;
  const before = await observeAll(ctx, region);
  const evidence = {
    region,
    profile,
    before: Object.fromEntries(before.map((o) => [label(o.w), `${o.ready}/${o.spec}`])),
  };
  const toChange = before.filter((o) => o.spec !== target(o.w, profile));
  if (toChange.length === 0 && before.every((o) => settled(o, target(o.w, profile))))
    return {
      noop: true,
      summary: `already at ${profile} counts in the ${region}: ${progressLine(before, profile)}`,
      evidence,
    };
  for (const o of toChange) {
    progress(`scaling ${label(o.w)} from ${o.spec} to ${target(o.w, profile)}`);
    await setReplicas(ctx, region, o.w, target(o.w, profile));
  }
  return waitScaled(ctx, args, toChange, evidence);
}

async function reachable(ctx: KubernetesContext, region: RegionRole): Promise<CheckResult> {
  const t0 = Date.now();
  try {
    const v = await call(ctx, region, 'reading /version', (c) => c.version.getCode());
    return {
      name: `kubernetes ${region} API`,
      kind: 'cluster',
      ok: true,
      detail: `${v.gitVersion} at ${regionClient(ctx, region).server} in ${Date.now() - t0} ms`,
      durationMs: Date.now() - t0,
    };
  } catch (err) {
    return {
      name: `kubernetes ${region} API`,
      kind: 'cluster',
      ok: false,
      detail: errorInfo(err).message,
      durationMs: Date.now() - t0,
    };
  }
}

async function readiness(ctx: KubernetesContext, region: RegionRole): Promise<ComponentReadiness> {
  const { opts } = ctx;
  // The region being made the serving side is the one that has to reach production size.
  const profile: ScaleProfile = 'production';
  const planFacts = { provider: NAME, region, workloads: opts.workloads.map(label).join(',') };
  const api = await reachable(ctx, region);
  if (!api.ok)
    return {
      component: 'cluster',
      status: 'blocked',
      summary: api.detail,
      details: { api: api.detail },
      planFacts,
    };
  const results = await Promise.all(
    opts.workloads.map((w) =>
      observe(ctx, region, w).then(
        (o) => ({ o, error: undefined as string | undefined }),
        (err: unknown) => ({ o: undefined, error: `${label(w)}: ${errorInfo(err).message}` }),
      ),
    ),
  );
  const errors = results.filter((r) => r.error).map((r) => r.error!);
  if (errors.length > 0)
    return {
      component: 'cluster',
      status: 'blocked',
      summary: `${errors.length} of ${opts.workloads.length} workloads unusable in the ${region}: ${errors.join('; ')}`,
      details: { errors },
      planFacts,
    };
  const observed = results.map((r) => r.o!);
  const warnings = observed
    .filter((o) => o.ready < o.spec)
    .map((o) => `${label(o.w)} has only ${o.ready}/${o.spec} ready replicas in the ${region} now`);
  const plan = observed
    .map(
      (o) =>
        `${o.w.name} ${o.ready}/${o.spec}${o.spec === target(o.w, profile) ? '' : `→${target(o.w, profile)}`}`,
    )
    .join(', ');
  return {
    component: 'cluster',
    status: warnings.length > 0 ? 'warning' : 'ready',
    summary: `${observed.length} workloads in the ${region} (${regionClient(ctx, region).server}): ${plan}`,
    details: Object.fromEntries(
      observed.map((o) => [
        label(o.w),
        {
          spec: o.spec,
          ready: o.ready,
          standby: o.w.standbyReplicas,
          production: o.w.productionReplicas,
        },
      ]),
    ),
    planFacts,
    ...(warnings.length > 0 ? { warnings } : {}),
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
    readiness: (region) => readiness(ctx, region),
    async close() {
      // The client holds no pooled connections of its own to release.
    },
  };
}
