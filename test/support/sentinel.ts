/**
 * A replicated state Redis for tests: a durable primary, a durable replica and one Redis Sentinel
 * (`redis-server --sentinel`, quorum 1) watching them, so a test can kill the primary and see
 * the replica promoted, as a production state store does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  findRedisServer,
  freePorts,
  startRedis,
  stopRedis,
  type RedisServerInfo,
} from '../../src/lab/index.js';

const MASTER_NAME = 'drstate';

export interface ReplicatedState {
  primary: RedisServerInfo;
  replica: RedisServerInfo;
  sentinelPort: number;
  masterName: string;
  /** What REDIS_SENTINELS and REDIS_SENTINEL_MASTER become (openStateRedis's form, no password). */
  url: string;
  /** The current primary's port, as the sentinel reports it. */
  masterPort(): Promise<number>;
  close(): Promise<void>;
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ReplicatedStateOptions {
  /** The sentinel requires this password from its clients (`requirepass` in sentinel.conf). */
  sentinelPassword?: string;
  /** The primary and the replica require this password (`requirepass`, `masterauth`, `auth-pass`). */
  masterPassword?: string;
}

export async function startReplicatedState(
  dir: string,
  opts: ReplicatedStateOptions = {},
): Promise<ReplicatedState> {
  const redisServer = findRedisServer();
  const [p, r, s] = (await freePorts(3)) as [number, number, number];
  const primary = await startRedis({
    redisServer,
    name: 'state primary',
    port: p,
    dir: join(dir, 'primary'),
    durable: true,
    ...(opts.masterPassword === undefined ? {} : { password: opts.masterPassword }),
  });
  const replica = await startRedis({
    redisServer,
    name: 'state replica',
    port: r,
    dir: join(dir, 'replica'),
    durable: true,
    replicaOf: { host: '127.0.0.1', port: p },
    ...(opts.masterPassword === undefined ? {} : { password: opts.masterPassword }),
  });
  mkdirSync(join(dir, 'sentinel'), { recursive: true });
  const conf = join(dir, 'sentinel', 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${s}`,
      'bind 127.0.0.1',
      `dir ${join(dir, 'sentinel')}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${p} 1`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 10000`,
      ...(opts.sentinelPassword === undefined ? [] : [`requirepass ${opts.sentinelPassword}`]),
      ...(opts.masterPassword === undefined
        ? []
        : [`sentinel auth-pass ${MASTER_NAME} ${opts.masterPassword}`]),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(redisServer, [conf, '--sentinel'], { stdio: 'ignore' });
  const sentinel = new Redis(s, '127.0.0.1', {
    maxRetriesPerRequest: 1,
    lazyConnect: false,
    ...(opts.sentinelPassword === undefined ? {} : { password: opts.sentinelPassword }),
  });
  sentinel.on('error', () => undefined);
  await until('the sentinel to see the replica', 20_000, async () => {
    const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
    return replicas.length > 0 ? true : undefined;
  });
  return {
    primary,
    replica,
    sentinelPort: s,
    masterName: MASTER_NAME,
    url: `redis-sentinel://127.0.0.1:${s}/${MASTER_NAME}`,
    async masterPort() {
      const [, port] = (await sentinel.call(
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        MASTER_NAME,
      )) as [string, string];
      return Number(port);
    },
    async close() {
      sentinel.disconnect();
      child.kill('SIGKILL');
      await stopRedis(replica, 'SIGKILL').catch(() => undefined);
      await stopRedis(primary, 'SIGKILL').catch(() => undefined);
    },
  };
}

/** Waits until the sentinel names another primary than `port`. */
export function failedOverFrom(state: ReplicatedState, port: number): Promise<number> {
  return until('the sentinel to promote the replica', 30_000, async () => {
    const now = await state.masterPort();
    return now !== port ? now : undefined;
  });
}
