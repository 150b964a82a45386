/**
 * GET /healthz (liveness) and GET /readyz (readiness): 200 while the bot's state Redis answers,
 * 503 otherwise, so an orchestrator restarts or reroutes a bot that could not persist an
 * operation. A standby answers /healthz only (bot/standby.ts): it must not get Slack traffic.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/index.js';
import type { OperationStore } from '../store/types.js';

export async function healthy(store: OperationStore, log: Logger): Promise<boolean> {
  // A Redis that is down may leave PING queued for a long time; health must answer quickly.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2000);
  });
  try {
    return await Promise.race([
      store.ping().catch((err: unknown) => {
        log.warn({ err }, 'health check: the state Redis did not answer PING');
        return false;
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthHandler(store: OperationStore, log: Logger) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    void healthy(store, log).then((ok) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(ok ? { ok: true } : { ok: false, error: 'the state Redis does not answer' }),
      );
    });
  };
}

/** GET /metrics: the Prometheus text format. */
export function metricsHandler(metrics: Metrics, log: Logger) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'could not render /metrics');
        res.writeHead(500).end();
      },
    );
  };
}
