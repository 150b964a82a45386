/**
 * What every part of the Kubernetes provider shares: the config types, one API client per region
 * (made on first use), calls retried when worth it, and API errors mapped to ours.
 */
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
  VersionApi,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { RegionRole } from '../domain/types.js';
import { DrError, PreconditionFailed, ProviderError, errorInfo } from '../errors.js';
import { sleep } from './dns-resolve.js';

export interface ClusterRef {
  kubeconfig?: string;
  context?: string;
}

export interface WorkloadConfig {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
  productionReplicas: number;
  standbyReplicas: number;
  /**
   * When a HorizontalPodAutoscaler scales it: 'raise' (default) lifts its bounds to hold
   * production size and restores them at standby (the primary's when failback ends); 'leave'
   * refuses to scale the workload.
   */
  autoscaler?: 'raise' | 'leave';
}

export interface KubernetesProviderOptions {
  primary: ClusterRef;
  secondary: ClusterRef;
  workloads: WorkloadConfig[];
  readyTimeoutSeconds?: number;
  pollMs?: number;
  log: Logger;
}

export interface RegionClient {
  kc: KubeConfig;
  apps: AppsV1Api;
  autoscaling: AutoscalingV2Api;
  core: CoreV1Api;
  version: VersionApi;
  server: string;
}

export const NAME = 'kubernetes';
export const label = (w: WorkloadConfig): string => `${w.kind}/${w.namespace}/${w.name}`;
function statusMessage(err: ApiException<unknown>): string {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? err.message;
}

/** Map a client error to ours; 404 of a workload is a wrong target, refused. */
export function mapKubernetesError(err: unknown, region: RegionRole, doing: string): DrError {
  if (err instanceof DrError) return err;
  if (err instanceof ApiException) {
    const msg = statusMessage(err);
    if (err.code === 404)
      return new PreconditionFailed(
        `kubernetes (${region}): ${doing}: ${msg}. Check components.kubernetes.workloads and the ${region} context.`,
        { code: 'not-found', cause: err },
      );
    if (err.code === 401)
      return new ProviderError(
        NAME,
        `(${region}) ${doing}: the API server rejected the credentials (401). Refresh the token in the ${region} kubeconfig.`,
        { code: 'forbidden', cause: err },
      );
    if (err.code === 403)
      return new ProviderError(
        NAME,
        `(${region}) ${doing}: forbidden: ${msg}. Give the bot's service account the Role in deploy/permissions/kubernetes-rbac.yaml: get on deployments/statefulsets and patch on their scale subresource, list/patch on horizontalpodautoscalers, list on pods and events.`,
        { code: 'forbidden', cause: err },
      );
    if (err.code === 429)
      return new ProviderError(NAME, `(${region}) ${doing}: throttled by the API server: ${msg}`, {
        code: 'throttled',
        retryable: true,
        cause: err,
      });
    return new ProviderError(NAME, `(${region}) ${doing}: HTTP ${err.code}: ${msg}`, {
      retryable: err.code >= 500 || err.code === 409,
      cause: err,
    });
  }
  const e = err as { code?: string; message?: string };
  return new ProviderError(
    NAME,
    `(${region}) ${doing}: cannot reach the API server: ${e.code ?? ''} ${e.message ?? String(err)}`.replace(
      /\s+/g,
      ' ',
    ) + '. Check the network path and the kubeconfig server address.',
    { retryable: true, cause: err },
  );
}

/** The kubeconfig of one region, switched to its configured context; a bad file or context is refused. */
export function loadKubeConfig(ref: ClusterRef, region: RegionRole): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (ref.kubeconfig) kc.loadFromFile(ref.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new PreconditionFailed(
      `kubernetes (${region}): cannot load kubeconfig ${ref.kubeconfig ?? '(default)'}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (ref.context) {
    if (!kc.getContextObject(ref.context))
      throw new PreconditionFailed(
        `kubernetes (${region}): context "${ref.context}" is not in kubeconfig ${ref.kubeconfig ?? '(default)'} (it has: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
        { code: 'not-found' },
      );
    kc.setCurrentContext(ref.context);
  }
  return kc;
}

/** What every function of the provider works with; one per provider instance. */
export interface KubernetesContext {
  opts: KubernetesProviderOptions;
  timeoutMs: number;
  pollMs: number;
  log: Logger;
  /** One client per region, made on first use. */
  clients: Partial<Record<RegionRole, RegionClient>>;
  mergePatch: ReturnType<typeof setHeaderOptions>;
}

export function regionClient(ctx: KubernetesContext, region: RegionRole): RegionClient {
  const existing = ctx.clients[region];
  if (existing) return existing;
  const kc = loadKubeConfig(ctx.opts[region], region);
  const created: RegionClient = {
    kc,
    apps: kc.makeApiClient(AppsV1Api),
    autoscaling: kc.makeApiClient(AutoscalingV2Api),
    core: kc.makeApiClient(CoreV1Api),
    version: kc.makeApiClient(VersionApi),
    server: kc.getCurrentCluster()?.server ?? '?',
  };
  ctx.clients[region] = created;
  return created;
}

/** Retries what is worth retrying (throttling, 5xx, network) a few times with a short backoff. */
export async function call<T>(
  ctx: KubernetesContext,
  region: RegionRole,
  doing: string,
  fn: (c: RegionClient) => Promise<T>,
): Promise<T> {
  const c = regionClient(ctx, region);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(c);
    } catch (err) {
      const mapped = mapKubernetesError(err, region, doing);
      if (!mapped.retryable || attempt >= 3) {
        ctx.log.warn({ region, err: errorInfo(mapped) }, `kubernetes: ${doing} failed`);
        throw mapped;
      }
      await sleep(Math.min(ctx.pollMs, 250) * 2 ** (attempt - 1));
    }
  }
}
