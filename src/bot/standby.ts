/**
 * What a standby `dr start` serves on PORT while another instance holds the environment's lease:
 * no Slack connection (no Socket Mode session, no Bolt receiver), only
 *
 * - GET /healthz: 200 `{ ok: true, role: "standby", active: "…" }` while the state Redis answers
 *   (a standby is healthy: an orchestrator must not restart it), 503 when it does not;
 * - GET /metrics, when given: the Prometheus metrics (dr_instance_active 0);
 * - GET /readyz and anything else: 503, so a Service routes no Slack request here;
 * - anything else (/slack/events, /webhooks/alertmanager): 503 with Retry-After, so Slack and
 *   Alertmanager retry and nothing is acted on here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/index.js';
import type { OperationStore } from '../store/types.js';
import { healthy, metricsHandler } from './health.js';

export interface StandbyServer {
  port: number;
  close(): Promise<void>;
}

export interface StandbyServerOptions {
  port: number;
  environment: string;
  store: OperationStore;
  /** Who is active now, as the standby last saw it. */
  active: () => string;
  /** Served on GET /metrics (dr_instance_active 0), so a scrape sees the standby too. */
  metrics?: Metrics;
  log: Logger;
}

export async function startStandbyServer(opts: StandbyServerOptions): Promise<StandbyServer> {
  const log = opts.log.child({ component: 'standby' });
  const send = (
    res: ServerResponse,
    status: number,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const metrics = opts.metrics ? metricsHandler(opts.metrics, log) : undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // The body is not read: nothing a standby receives is acted on.
    req.resume();
    if (metrics && req.method === 'GET' && req.url?.split('?')[0] === '/metrics')
      return metrics(req, res);
    if (req.method === 'GET' && req.url?.split('?')[0] === '/healthz') {
      void healthy(opts.store, log).then((ok) =>
        ok
          ? send(res, 200, { ok: true, role: 'standby', active: opts.active() })
          : send(res, 503, {
              ok: false,
              role: 'standby',
              error: 'the state Redis does not answer',
            }),
      );
      return;
    }
    send(
      res,
      503,
      {
        ok: false,
        role: 'standby',
        error: `standby: another instance is active for environment ${opts.environment} (${opts.active()}); try again`,
      },
      { 'retry-after': '5' },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold the port the active bot is about to listen on.
        server.closeAllConnections();
      }),
  };
}
