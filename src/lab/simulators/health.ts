/**
 * A region's public health endpoint: 200 {"status":"ok"} while healthy, 503 otherwise. It can be
 * switched, and stopped and started again on the same port, to play a region going away.
 */
import { json, startHttpSim, type HttpSim, type RecordedRequest } from './http-sim.js';

export interface HealthServer {
  readonly url: string;
  readonly region: string;
  readonly port: number;
  readonly healthy: boolean;
  /** True while it accepts connections. */
  readonly running: boolean;
  readonly requests: RecordedRequest[];
  setHealthy(healthy: boolean): void;
  /** Close the port: connections are refused, as from a lost region. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
}

export async function startHealthServer(opts: {
  region: string;
  healthy?: boolean;
  port?: number;
}): Promise<HealthServer> {
  let healthy = opts.healthy ?? true;
  const requests: RecordedRequest[] = [];
  const handler = (req: RecordedRequest) => {
    requests.push(req);
    return healthy
      ? json(200, { status: 'ok', region: opts.region })
      : json(503, { status: 'unavailable', region: opts.region });
  };
  let sim: HttpSim | undefined = await startHttpSim(handler, { port: opts.port });
  const port = sim.port;
  return {
    url: `http://127.0.0.1:${port}/healthz`,
    region: opts.region,
    port,
    get healthy() {
      return healthy;
    },
    get running() {
      return sim !== undefined;
    },
    requests,
    setHealthy(value) {
      healthy = value;
    },
    async stop() {
      await sim?.close();
      sim = undefined;
    },
    async start() {
      if (!sim) sim = await startHttpSim(handler, { port });
    },
  };
}
