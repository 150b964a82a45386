/**
 * The Kubernetes provider's read-only side: is a region's API server reachable, and can its
 * workloads reach production size (each one there, no autoscaler the config says to leave alone
 * in the way). The approval card shows the plan, autoscaler bounds included.
 */
import type { CheckResult, ComponentReadiness, RegionRole } from '../domain/types.js';
import { errorInfo } from '../errors.js';
import {
  NAME,
  call,
  label,
  regionClient,
  type KubernetesContext,
  type WorkloadConfig,
} from './kubernetes-client.js';
import { boundsText, findAutoscalers, leftAlone, type Autoscaler } from './kubernetes-hpa.js';
import { observe, target, type Observed } from './kubernetes-workloads.js';

export async function reachable(ctx: KubernetesContext, region: RegionRole): Promise<CheckResult> {
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

/** "api 2/2→6", with the autoscaler's bounds and how they change: "(autoscaler 2–4→6–6)". */
function planOf(o: Observed): string {
  const want = target(o.w, 'production');
  const count = `${o.w.name} ${o.ready}/${o.spec}${o.spec >= want && (o.hpa || o.spec === want) ? '' : `→${want}`}`;
  if (!o.hpa) return count;
  const b = o.hpa.bounds;
  const raised = {
    minReplicas: Math.max(b.minReplicas, want),
    maxReplicas: Math.max(b.maxReplicas, want),
  };
  const change = boundsText(raised) === boundsText(b) ? '' : `→${boundsText(raised)}`;
  return `${count} (autoscaler ${boundsText(b)}${change})`;
}

async function observeEach(
  ctx: KubernetesContext,
  region: RegionRole,
): Promise<{ observed: Observed[]; errors: string[] }> {
  let hpas = new Map<WorkloadConfig, Autoscaler>();
  const errors: string[] = [];
  try {
    hpas = await findAutoscalers(ctx, region);
  } catch (err) {
    errors.push(`autoscalers: ${errorInfo(err).message}`);
  }
  const results = await Promise.all(
    ctx.opts.workloads.map((w) =>
      observe(ctx, region, w).then(
        (o) => ({ o: { ...o, hpa: hpas.get(w) }, error: undefined as string | undefined }),
        (err: unknown) => ({ o: undefined, error: `${label(w)}: ${errorInfo(err).message}` }),
      ),
    ),
  );
  for (const r of results) if (r.error) errors.push(r.error);
  errors.push(...leftAlone(hpas, region));
  return { observed: results.flatMap((r) => (r.o ? [r.o] : [])), errors };
}

export async function readiness(
  ctx: KubernetesContext,
  region: RegionRole,
): Promise<ComponentReadiness> {
  const { opts } = ctx;
  // The region being made the serving side is the one that has to reach production size.
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
  const { observed, errors } = await observeEach(ctx, region);
  if (errors.length > 0)
    return {
      component: 'cluster',
      status: 'blocked',
      summary: `${errors.length} problem(s) with the workloads in the ${region}: ${errors.join('; ')}`,
      details: { errors },
      planFacts,
    };
  const warnings = observed
    .filter((o) => o.ready < o.spec)
    .map((o) => `${label(o.w)} has only ${o.ready}/${o.spec} ready replicas in the ${region} now`);
  return {
    component: 'cluster',
    status: warnings.length > 0 ? 'warning' : 'ready',
    summary: `${observed.length} workloads in the ${region} (${regionClient(ctx, region).server}): ${observed.map(planOf).join(', ')}`,
    details: Object.fromEntries(
      observed.map((o) => [
        label(o.w),
        {
          spec: o.spec,
          ready: o.ready,
          standby: o.w.standbyReplicas,
          production: o.w.productionReplicas,
          ...(o.hpa
            ? { autoscaler: `${o.hpa.namespace}/${o.hpa.name} ${boundsText(o.hpa.bounds)}` }
            : {}),
        },
      ]),
    ),
    planFacts,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
