/**
 * `dr lab status`: each server's role, lag and health read from the servers themselves, the
 * simulators' view of the cloud, and warnings about what must never be (two writers, or none).
 */
import { readLabInfo } from './manifest.js';
import { pgStatus, type PgStatus } from './postgres.js';
import { redisStatus, type RedisStatus } from './redis.js';
import { cloudState, labCloud, type CloudState } from './simulators/index.js';
import { isAlive } from './system.js';
import type { LabOutage } from './types.js';

export interface LabStatus {
  dir: string;
  configPath: string;
  postgres: PgStatus[];
  redis: RedisStatus[];
  /** The bot's own state Redis (REDIS_URL in lab.env). */
  stateRedis: RedisStatus | null;
  envFile: string | null;
  simulators: { name: string; url: string; pid: number | null; running: boolean | null }[];
  /** DNS routing, health endpoints and replica counts, from the simulators' control API. */
  cloud: CloudState | { error: string } | null;
  /** A regional outage played by `dr lab outage` and not yet restored. */
  outage: LabOutage | null;
  /** What a person must not miss: two writers (PostgreSQL or Redis), or none. */
  warnings: string[];
}

/**
 * Two servers that both take writes diverge: the state a failover must never leave, and the one
 * an old primary is in when it comes back after an unplanned failover, until the failback.
 */
export function writerWarnings(
  postgres: readonly PgStatus[],
  redis: readonly RedisStatus[],
): string[] {
  const warnings: string[] = [];
  const names = (xs: readonly { name: string }[]): string => xs.map((x) => x.name).join(' and ');
  if (postgres.length === 2 && postgres.every((s) => s.healthy)) {
    const primaries = postgres.filter((s) => s.role === 'primary');
    const writers = primaries.filter((s) => !s.readOnly);
    if (writers.length === 2) {
      warnings.push(
        `two PostgreSQL writers: ${names(writers)} both accept writes (neither is in recovery or fenced read-only), so their data diverges; a failback resyncs the old primary from the other, or fence one (ALTER SYSTEM SET default_transaction_read_only = on)`,
      );
    } else if (writers.length === 0) {
      warnings.push(
        primaries.length === 0
          ? `no PostgreSQL writer: ${names(postgres)} are both standbys (in recovery); promote one`
          : `no PostgreSQL writer: ${names(primaries)} is fenced read-only and ${names(postgres.filter((s) => s.role !== 'primary'))} is a standby; finish the failover (promote the standby) or lift the fence`,
      );
    }
  }
  if (redis.length === 2 && redis.every((s) => s.healthy)) {
    const writers = redis.filter((s) => s.role === 'master' && !s.fenced);
    if (writers.length === 2) {
      warnings.push(
        `two Redis writers: ${names(writers)} are both masters and accept writes, so their data diverges; a failback resyncs the old master as a replica of the other`,
      );
    } else if (writers.length === 0) {
      const fenced = redis.filter((s) => s.fenced);
      warnings.push(
        `no Redis writer: ${fenced.length ? `${names(fenced)} refuses writes (min-replicas-to-write fence)` : `${names(redis)} are both replicas`}; finish the failover or lift the fence`,
      );
    }
  }
  return warnings;
}

/** Each server's role, lag and health, read from the servers themselves. */
export async function labStatus(opts: { dir: string }): Promise<LabStatus> {
  const info = readLabInfo(opts.dir);
  const cloud = labCloud(info);
  const [pgP, pgS, rP, rS, state, cloudNow] = await Promise.all([
    pgStatus(info.postgres.primary),
    pgStatus(info.postgres.secondary),
    redisStatus(info.redis.primary),
    redisStatus(info.redis.secondary),
    info.stateRedis ? redisStatus(info.stateRedis) : Promise.resolve(null),
    cloud ? cloudState(cloud) : Promise.resolve(null),
  ]);
  // A replica only knows its own offset: its lag is the master's offset minus it.
  for (const [a, b] of [
    [rP, rS],
    [rS, rP],
  ] as const) {
    if (
      a.role === 'replica' &&
      b.role === 'master' &&
      a.offset !== undefined &&
      b.offset !== undefined
    )
      a.lagBytes = Math.max(0, b.offset - a.offset);
  }
  return {
    dir: info.dir,
    configPath: info.configPath,
    postgres: [pgP, pgS],
    redis: [rP, rS],
    stateRedis: state,
    envFile: info.envFile ?? null,
    simulators: Object.entries(info.simulators ?? {}).map(([name, s]) => ({
      name,
      url: s.url,
      pid: s.pid ?? null,
      running: s.pid === undefined ? null : isAlive(s.pid),
    })),
    cloud: cloudNow,
    outage: info.outage ?? null,
    warnings: writerWarnings([pgP, pgS], [rP, rS]),
  };
}
