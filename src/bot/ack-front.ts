/**
 * HTTP mode's front door, in a worker thread: it owns the port, checks each Slack request's
 * signature, acknowledges it at once (the HTTP 200 Slack waits 3 s for) and hands the event to
 * Bolt on the main thread, where the engine also runs. So an ack never queues behind a failover's
 * provider calls on the main event loop, and the client's connection is answered by a thread
 * with nothing else to do. Every other path (/healthz, /metrics, the Alertmanager webhook) is
 * passed on to a server the main thread keeps on 127.0.0.1.
 *
 * The worker is plain JavaScript evaluated as a string: it loads nothing of the bot, so it runs
 * the same from the TypeScript sources, the build and the tests.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { App, Receiver } from '@slack/bolt';
import type { Logger } from 'pino';

/** What the worker sends to the main thread. */
type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'event'; body: Record<string, unknown>; retryNum?: number; retryReason?: string }
  | { type: 'refused'; status: number; reason: string }
  | { type: 'closed' };

/**
 * The worker's code. Signature rules as Bolt's verifySlackRequest (v0 HMAC-SHA256 of
 * `v0:timestamp:body`, timestamps older than 5 minutes refused) and body parsing as Bolt's
 * HTTPReceiver (form bodies, a form `payload` holding JSON, JSON otherwise; `ssl_check=1` and
 * url_verification answered here), as https://docs.slack.dev/authentication/verifying-requests-from-slack
 * describes.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { createServer, request } = require('node:http');
const { createHmac, timingSafeEqual } = require('node:crypto');
const { parse } = require('node:querystring');
const { signingSecret, port, upstreamPort, bodyLimit } = workerData;

function signatureProblem(headers, raw) {
  const ts = headers['x-slack-request-timestamp'];
  const signature = headers['x-slack-signature'];
  if (typeof ts !== 'string' || typeof signature !== 'string' || Number.isNaN(Number(ts))) return 'missing or unreadable signature headers';
  if (Number(ts) < Math.floor(Date.now() / 1000) - 300) return 'a timestamp more than 5 minutes old';
  const ours = Buffer.from('v0=' + createHmac('sha256', signingSecret).update('v0:' + ts + ':' + raw).digest('hex'));
  const theirs = Buffer.from(signature);
  return theirs.length === ours.length && timingSafeEqual(theirs, ours) ? null : 'a signature that does not match';
}

function parseBody(raw, contentType) {
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parse(raw);
    return typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
  }
  return JSON.parse(raw);
}

function retryOf(headers) {
  const n = headers['x-slack-retry-num'];
  const reason = headers['x-slack-retry-reason'];
  return {
    ...(n !== undefined && !Number.isNaN(Number(n)) ? { retryNum: Number(n) } : {}),
    ...(typeof reason === 'string' ? { retryReason: reason } : {}),
  };
}

function refuse(res, status, reason) {
  res.writeHead(status).end();
  parentPort.postMessage({ type: 'refused', status, reason });
}

function slack(req, res) {
  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > bodyLimit) tooBig = true;
    else chunks.push(c);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (tooBig) return refuse(res, 413, 'a body over ' + bodyLimit + ' bytes');
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.headers['content-type'] === 'application/x-www-form-urlencoded' && parse(raw).ssl_check === '1') return res.writeHead(200).end();
    const problem = signatureProblem(req.headers, raw);
    if (problem) return refuse(res, 401, problem);
    let body;
    try {
      body = parseBody(raw, req.headers['content-type']);
    } catch {
      return refuse(res, 400, 'a body that is not a form or JSON');
    }
    if (body && body.type === 'url_verification' && typeof body.challenge === 'string') {
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ challenge: body.challenge }));
    }
    res.writeHead(200).end();
    parentPort.postMessage({ type: 'event', body, ...retryOf(req.headers) });
  });
}

function passOn(req, res) {
  const up = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode || 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
}

const server = createServer((req, res) => {
  const path = (req.url || '').split('?')[0];
  if (req.method === 'POST' && path === '/slack/events') slack(req, res);
  else passOn(req, res);
});
server.on('error', (err) => parentPort.postMessage({ type: 'failed', message: String(err && err.message), code: err && err.code }));
server.listen(port, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (m) => {
  if (m && m.type === 'close') {
    server.close(() => parentPort.postMessage({ type: 'closed' }));
    server.closeIdleConnections();
  }
});
`;

/** Bolt's HTTPReceiver default: 10 MB. */
const BODY_LIMIT = 10 * 1024 * 1024;
/** How long stop() lets requests in progress finish before the worker is ended. */
const CLOSE_GRACE_MS = 5000;

interface AckFrontOptions {
  signingSecret: string;
  /** The public port (0: any free one). */
  port: number;
  /** Serves every path but POST /slack/events; listened on 127.0.0.1 by start(). */
  routes: Server;
  log: Logger;
}

/** A Bolt receiver whose HTTP side (and so every ack) runs in a worker thread. */
export class AckFrontReceiver implements Receiver {
  /** The public port, once started. */
  port: number | undefined;
  private app: App | undefined;
  private worker: Worker | undefined;
  private stopping = false;

  constructor(private readonly opts: AckFrontOptions) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {
    const { routes, log } = this.opts;
    await new Promise<void>((resolve, reject) => {
      routes.once('error', reject);
      routes.listen(0, '127.0.0.1', () => resolve());
    });
    this.stopping = false;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        signingSecret: this.opts.signingSecret,
        port: this.opts.port,
        upstreamPort: (routes.address() as AddressInfo).port,
        bodyLimit: BODY_LIMIT,
      },
    });
    this.worker = worker;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => log.error({ err }, 'the Slack HTTP front (worker thread) failed'));
    worker.on('exit', (code) => {
      if (!this.stopping)
        log.error(
          { code },
          'the Slack HTTP front (worker thread) stopped: Slack cannot reach the bot',
        );
    });
    const [first] = (await once(worker, 'message')) as [FromWorker];
    if (first.type !== 'listening') {
      await this.stopWorker();
      await closeServer(routes);
      // With its code (EADDRINUSE, EACCES), which start-up turns into what to fix.
      throw Object.assign(
        new Error(
          first.type === 'failed' ? first.message : `unexpected ${first.type} from the worker`,
        ),
        first.type === 'failed' && first.code ? { code: first.code } : {},
      );
    }
    this.port = first.port;
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    await closeServer(this.opts.routes);
    this.port = undefined;
  }

  private onMessage(m: FromWorker): void {
    const { log } = this.opts;
    if (m.type === 'refused') {
      log.warn({ status: m.status }, `refused a request to /slack/events: ${m.reason}`);
    } else if (m.type === 'event') {
      // Acknowledged already, by the worker: the listeners' ack() has nothing left to send.
      this.app
        ?.processEvent({
          body: m.body,
          ack: async () => undefined,
          ...(m.retryNum !== undefined ? { retryNum: m.retryNum } : {}),
          ...(m.retryReason !== undefined ? { retryReason: m.retryReason } : {}),
        })
        .catch((err: unknown) => log.error({ err }, 'a Slack event failed in its listener'));
    }
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.stopping = true;
    this.worker = undefined;
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (m: FromWorker) => m.type === 'closed' && resolve());
      worker.once('exit', () => resolve());
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
    });
    worker.postMessage({ type: 'close' });
    await closed;
    clearTimeout(timer);
    await worker.terminate();
  }
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
