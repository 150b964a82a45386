/**
 * Lab Redis servers: a primary and a replica, daemonized with a pidfile so they outlive the CLI,
 * no persistence (the lab's data is disposable), files under the lab dir.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ProviderError } from '../errors.js';
import { commandOf, isAlive, run, waitFor, waitForExit } from './system.js';

export interface RedisServerInfo {
  name: string;
  port: number;
  url: string;
  dir: string;
  logFile: string;
  pidFile: string;
  pid: number;
}

export function redisUrl(port: number): string {
  return `redis://127.0.0.1:${port}`;
}

async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    disconnectTimeout: 100,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    // QUIT, not disconnect(): disconnect() leaves a 2 s timer that keeps `dr lab up` alive.
    if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
    else r.disconnect();
  }
}

function logTail(file: string): string {
  if (!existsSync(file)) return '(no log written)';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
}

function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Where a lab redis-server keeps its pid file and log: known before it starts, so an interrupted start can be stopped. */
export function redisFiles(dir: string): { pidFile: string; logFile: string } {
  return { pidFile: join(dir, 'redis.pid'), logFile: join(dir, 'redis.log') };
}

/** Start one redis-server (a replica of `replicaOf` when given) and wait until it answers (and has synced). */
export async function startRedis(opts: {
  redisServer: string;
  name: string;
  port: number;
  dir: string;
  replicaOf?: { host: string; port: number };
  /**
   * Keep an append-only file fsynced on every write (the bot's state Redis: \`dr start\` refuses
   * one without persistence). The application Redis servers of the lab keep none.
   */
  durable?: boolean;
  /**
   * Require this password from clients (`requirepass`), and give it to the primary as a replica
   * (`masterauth`): a Sentinel group shares one, as any member may become the primary.
   */
  password?: string;
  /** Stop waiting when aborted (the server itself is stopped by whoever aborted, by its pid file). */
  signal?: AbortSignal;
}): Promise<RedisServerInfo> {
  mkdirSync(opts.dir, { recursive: true });
  const { pidFile, logFile } = redisFiles(opts.dir);
  // A server that was killed (a test's regional loss) leaves its pidfile: waiting on it would return the dead pid.
  const previous = readPid(pidFile);
  if (previous !== undefined && !isAlive(previous)) rmSync(pidFile, { force: true });
  const args = [
    '--port',
    String(opts.port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    '--daemonize',
    'yes',
    '--pidfile',
    pidFile,
    '--logfile',
    logFile,
    '--dir',
    opts.dir,
    '--save',
    '',
    '--appendonly',
    opts.durable ? 'yes' : 'no',
    ...(opts.durable ? ['--appendfsync', 'always'] : []),
    // The default 5 s wait for more replicas before a diskless sync would dominate lab start-up and resyncs.
    '--repl-diskless-sync-delay',
    '0',
    ...(opts.replicaOf ? ['--replicaof', opts.replicaOf.host, String(opts.replicaOf.port)] : []),
    ...(opts.password === undefined
      ? []
      : ['--requirepass', opts.password, '--masterauth', opts.password]),
  ];
  await run(opts.redisServer, args, { cwd: opts.dir, timeoutMs: 20_000 });
  const url =
    opts.password === undefined
      ? redisUrl(opts.port)
      : `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}`;
  const pid = await waitFor(
    `${opts.name} to write ${pidFile}`,
    10_000,
    async () => readPid(pidFile),
    opts.signal,
  ).catch((err: Error) => {
    if (opts.signal?.aborted) throw err;
    throw new ProviderError('lab', `${err.message}; redis log: ${logTail(logFile)}`, {
      code: 'timeout',
      cause: err,
    });
  });
  await waitFor(
    `${opts.name} to answer PING${opts.replicaOf ? ' and sync with its primary' : ''}`,
    20_000,
    () =>
      withRedis(url, async (r) => {
        if (!opts.replicaOf) return (await r.ping()) === 'PONG' ? true : undefined;
        const info = await r.info('replication');
        return /master_link_status:up/.test(info) ? true : undefined;
      }),
    opts.signal,
  );
  return { name: opts.name, port: opts.port, url, dir: opts.dir, logFile, pidFile, pid };
}

/**
 * Stop by pid (the pidfile's, else the recorded one), only if it is still a redis-server. SIGTERM
 * by default; SIGKILL is what a regional loss looks like (`dr lab outage`).
 */
export async function stopRedis(
  server: Pick<RedisServerInfo, 'pidFile' | 'name'> & { pid?: number },
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  const pids = new Set(
    [readPid(server.pidFile), server.pid].filter((p): p is number => p !== undefined),
  );
  for (const pid of pids) {
    if (!isAlive(pid) || !(commandOf(pid) ?? '').includes('redis')) continue;
    process.kill(pid, signal);
    if (!(await waitForExit(pid, 5000))) {
      process.kill(pid, 'SIGKILL');
      if (!(await waitForExit(pid, 5000)))
        throw new ProviderError('lab', `${server.name}: redis-server pid ${pid} did not exit`);
    }
  }
}

export interface RedisStatus {
  name: string;
  url: string;
  pid: number | null;
  healthy: boolean;
  role?: 'master' | 'replica';
  linkUp?: boolean;
  offset?: number;
  /** Master: bytes its slowest replica is behind (the lab fills it in for the replica from both sides). */
  lagBytes?: number | null;
  /**
   * Master fenced by min-replicas-to-write (the provider's fence on Redis < 6.2): it has fewer good
   * replicas than that, so it refuses every write (NOREPLICAS).
   */
  fenced?: { minReplicasToWrite: number; goodReplicas: number };
  error?: string;
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function redisStatus(server: RedisServerInfo): Promise<RedisStatus> {
  const pid = readPid(server.pidFile) ?? server.pid;
  const base = { name: server.name, url: server.url, pid: isAlive(pid) ? pid : null };
  try {
    return await withRedis(server.url, async (r) => {
      const info = await r.info('replication');
      const master = field(info, 'role') === 'master';
      const offset = Number(field(info, 'master_repl_offset') ?? 0);
      if (master) {
        const replicaOffsets = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) =>
          Number(m[1]),
        );
        const lag = replicaOffsets.length ? offset - Math.min(...replicaOffsets) : null;
        // CONFIG may be renamed away; then nothing can have fenced it this way either.
        const toWrite = await r.config('GET', 'min-replicas-to-write').then(
          (v) => Number((v as string[])[1] ?? 0),
          () => 0,
        );
        const good = Number(
          field(info, 'min_slaves_good_slaves') ?? field(info, 'connected_slaves') ?? 0,
        );
        const fenced =
          toWrite > good ? { fenced: { minReplicasToWrite: toWrite, goodReplicas: good } } : {};
        return {
          ...base,
          healthy: true,
          role: 'master' as const,
          offset,
          lagBytes: lag,
          ...fenced,
        };
      }
      const replicaOffset = Number(field(info, 'slave_repl_offset') ?? 0);
      return {
        ...base,
        healthy: true,
        role: 'replica' as const,
        linkUp: field(info, 'master_link_status') === 'up',
        offset: replicaOffset,
      };
    });
  } catch (err) {
    return { ...base, healthy: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** What a server replicates from (null for a master), as `dr lab outage` records it for the restore. */
export async function redisReplicaOf(
  server: Pick<RedisServerInfo, 'url'>,
): Promise<{ host: string; port: number } | null> {
  return withRedis(server.url, async (r) => {
    const info = await r.info('replication');
    if (field(info, 'role') === 'master') return null;
    return {
      host: field(info, 'master_host') ?? '127.0.0.1',
      port: Number(field(info, 'master_port')),
    };
  });
}

/** SAVE: write its data to DIR/dump.rdb, which redis-server loads when it starts in that dir again. */
export async function redisSave(server: Pick<RedisServerInfo, 'url'>): Promise<void> {
  await withRedis(server.url, async (r) => void (await r.call('SAVE')));
}
