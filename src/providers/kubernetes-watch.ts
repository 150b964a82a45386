/**
 * Wake-ups for the Kubernetes provider's readiness wait: one watch per workload (the collection
 * with fieldSelector metadata.name, what `kubectl wait` does), started from the resourceVersion
 * the wait last read, so no change between that read and the watch is missed. The wait re-reads
 * on each event instead of after a fixed poll interval; the interval stays as the fallback when a
 * watch is refused (no `watch` permission) or breaks.
 */
import { KubeConfig, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';

interface WatchedWorkload {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
  /** From the read the wait is based on ("list, then watch from its resourceVersion"). */
  resourceVersion?: string;
}

export interface ChangeFeed {
  /** Resolves at the next change of a watched workload, or after `maxMs` (the fallback poll). */
  next(maxMs: number): Promise<void>;
  stop(): void;
}

const collection = (w: WatchedWorkload): string =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(w.namespace)}/${w.kind === 'Deployment' ? 'deployments' : 'statefulsets'}`;

export function watchWorkloads(
  kc: KubeConfig,
  workloads: WatchedWorkload[],
  log: Logger,
): ChangeFeed {
  let changed = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const controllers: AbortController[] = [];
  const poke = (): void => {
    changed = true;
    wake?.();
  };

  const start = (w: WatchedWorkload, from: string | undefined): void => {
    let last = from;
    const query = { fieldSelector: `metadata.name=${w.name}`, resourceVersion: last };
    const onEvent = (
      type: string,
      obj: { metadata?: { resourceVersion?: string }; code?: number },
    ) => {
      if (type === 'ERROR') {
        // 410 Expired: the version is older than the server's history; start from now again.
        log.debug({ workload: w.name, status: obj.code }, 'kubernetes: watch expired, restarting');
        last = undefined;
        return poke();
      }
      last = obj.metadata?.resourceVersion ?? last;
      if (type !== 'BOOKMARK') poke();
    };
    const onDone = (err: unknown): void => {
      if (stopped) return;
      if (!err) return start(w, last); // the server ended the watch (timeoutSeconds): resume it
      log.warn(
        { workload: w.name, err: (err as Error).message },
        'kubernetes: watch failed, polling instead',
      );
      poke();
    };
    new Watch(kc)
      .watch(collection(w), query, onEvent, onDone)
      .then((c) => (stopped ? c.abort() : controllers.push(c)), onDone);
  };
  for (const w of workloads) start(w, w.resourceVersion);

  return {
    next(maxMs) {
      if (changed) {
        changed = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          wake = undefined;
          changed = false;
          resolve();
        };
        const timer = setTimeout(done, maxMs);
        wake = done;
      });
    },
    stop() {
      stopped = true;
      wake?.();
      for (const c of controllers) c.abort();
    },
  };
}
