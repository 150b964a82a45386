/**
 * A TCP proxy between a client and a real server (redis-server, or PostgreSQL: it only sees bytes)
 * that can lose one reply the way a network does: the command goes through, the server runs it,
 * and the connection drops before the reply gets back. Optionally the proxy then refuses connections for a while (stops listening),
 * as a partition or a restarting load balancer does, so ioredis gives up on the command.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePorts } from '../../src/lab/index.js';

export interface LoseOptions {
  /** Drop the connection before the command reaches Redis (Redis never runs it). Default false. */
  beforeForward?: boolean;
  /** After the drop, refuse new connections for this long. Default 0: reconnects go through at once. */
  outageMs?: number;
}

export interface LossyProxy {
  /** redis://127.0.0.1:<port> of the proxy. */
  url: string;
  /** The proxy's port, for a client of another protocol (a PostgreSQL URL). */
  port: number;
  /** How many times `marker` has gone through to the server so far (counted from this call on). */
  count(marker: string): () => number;
  /**
   * The next command whose bytes contain `marker` loses its reply. Resolves once the connection
   * was dropped (after Redis replied, unless beforeForward).
   */
  loseReplyTo(marker: string, opts?: LoseOptions): Promise<void>;
  /** Refuse connections for `ms` (drops the open ones too). */
  outage(ms: number): Promise<void>;
  /**
   * Hold every command for `ms` (connections stay open, nothing is answered), then let them
   * through in order: a Redis that does not answer for a while, as when it is stuck or paused.
   */
  stall(ms: number): Promise<void>;
  /** Resolves when the current outage (if any) is over and the proxy listens again. */
  listening(): Promise<void>;
  close(): Promise<void>;
}

interface Trap {
  marker: string;
  opts: LoseOptions;
  sprung: () => void;
}

export async function startLossyProxy(target: {
  host?: string;
  port: number;
}): Promise<LossyProxy> {
  const [port] = await freePorts(1);
  const sockets = new Set<Socket>();
  let trap: Trap | undefined;
  let server: Server | undefined;
  let back: Promise<void> = Promise.resolve();
  let closed = false;
  /** While set, what clients send waits here (per connection, in order) instead of reaching Redis. */
  let held: { chunks: { upstream: Socket; chunk: Buffer }[] } | undefined;
  const counted = new Map<string, number>();

  function onClient(client: Socket): void {
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    sockets.add(client);
    sockets.add(upstream);
    let swallow: Trap | undefined;
    // A command may arrive split over chunks: keep the tail of the last one to match across them.
    let tail = '';
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      for (const [marker, n] of counted)
        counted.set(marker, n + occurrences(text, marker, tail.length));
      tail = text.slice(-256);
      const t = trap;
      if (t && text.includes(t.marker)) {
        trap = undefined;
        if (t.opts.beforeForward) {
          drop();
          spring(t);
          return;
        }
        swallow = t;
      }
      if (held) held.chunks.push({ upstream, chunk });
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (swallow) {
        // Redis has run the command and this is (the start of) its reply: lose it.
        const t = swallow;
        swallow = undefined;
        drop();
        spring(t);
        return;
      }
      client.write(chunk);
    });
  }

  function spring(t: Trap): void {
    if (t.opts.outageMs) void outage(t.opts.outageMs);
    t.sprung();
  }

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createServer(onClient);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        server = s;
        resolve();
      });
    });
  }

  function dropAll(): void {
    for (const s of sockets) s.destroy();
    sockets.clear();
  }

  async function outage(ms: number): Promise<void> {
    const s = server;
    server = undefined;
    // Not listening: connects are refused (ECONNREFUSED), as with a server that is away.
    s?.close();
    dropAll();
    back = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() =>
      closed ? undefined : listen(),
    );
    await back;
  }

  async function stall(ms: number): Promise<void> {
    const h = { chunks: [] as { upstream: Socket; chunk: Buffer }[] };
    held = h;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (held === h) held = undefined;
    for (const { upstream, chunk } of h.chunks) if (!upstream.destroyed) upstream.write(chunk);
  }

  await listen();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    count(marker) {
      counted.set(marker, counted.get(marker) ?? 0);
      const from = counted.get(marker)!;
      return () => counted.get(marker)! - from;
    },
    loseReplyTo(marker, opts = {}) {
      return new Promise<void>((resolve) => {
        trap = { marker, opts, sprung: resolve };
      });
    },
    outage,
    stall,
    listening: () => back,
    async close() {
      closed = true;
      trap = undefined;
      await back.catch(() => {});
      const s = server;
      server = undefined;
      dropAll();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** Occurrences of `marker` in `text` that end past `seen` (the tail already counted). */
function occurrences(text: string, marker: string, seen: number): number {
  let n = 0;
  for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 1))
    if (i + marker.length > seen) n += 1;
  return n;
}
