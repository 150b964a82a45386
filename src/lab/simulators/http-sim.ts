/**
 * Shared plumbing for the cloud simulators: a node:http(s) server on a free port, a log of the
 * requests it received (tests assert on what the SDK really sent), and a queue of injected faults
 * served before the normal handler so a test can make "the next call" fail the way the cloud does.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface SimResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** A streamed answer (a Kubernetes watch): the head is sent, then `stream` writes until it ends. */
  stream?: (out: SimStream) => void;
}

export interface SimStream {
  write(chunk: string): void;
  end(): void;
  /** The client went away (or the server closed): stop writing. */
  onClose(fn: () => void): void;
}

type SimHandler = (req: RecordedRequest) => SimResponse | Promise<SimResponse>;

/** A fault to serve instead of the real answer; `times` requests in a row get it. */
interface InjectedFault {
  response: SimResponse;
  times: number;
  /** Only requests this predicate accepts consume the fault (default: every request). */
  match?: (req: RecordedRequest) => boolean;
}

export interface HttpSim {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  inject(fault: InjectedFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startHttpSim(
  handler: SimHandler,
  opts: { port?: number; tls?: { key: string; cert: string } } = {},
): Promise<HttpSim> {
  const requests: RecordedRequest[] = [];
  let faults: InjectedFault[] = [];

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://sim');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(u.pathname),
        query: Object.fromEntries(u.searchParams.entries()),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const fault = faults.find((f) => f.times > 0 && (!f.match || f.match(recorded)));
      const answer = fault
        ? Promise.resolve(fault.response)
        : Promise.resolve().then(() => handler(recorded));
      if (fault) {
        fault.times -= 1;
        faults = faults.filter((f) => f.times > 0);
      }
      answer
        .then((r) => {
          res.writeHead(r.status, r.headers ?? {});
          if (!r.stream) return void res.end(r.body ?? '');
          res.flushHeaders();
          r.stream({
            write: (chunk) => void (res.writableEnded || res.write(chunk)),
            end: () => void (res.writableEnded || res.end()),
            onClose: (fn) => void res.on('close', fn),
          });
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`simulator error: ${err instanceof Error ? err.message : String(err)}`);
        });
    });
  };

  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = opts.tls ? 'https' : 'http';

  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    requests,
    inject(fault) {
      faults.push({ ...fault });
    },
    clearFaults() {
      faults = [];
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}

export function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): SimResponse {
  return {
    status,
    body: JSON.stringify(value),
    headers: { 'content-type': 'application/json', ...headers },
  };
}
