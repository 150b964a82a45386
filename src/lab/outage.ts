/**
 * `dr lab outage` / `dr lab restore`: play a regional loss on the lab and end it. The outage stops
 * one region's PostgreSQL the way a crash does (immediate: no shutdown checkpoint, the standby
 * just loses its connection), kills its Redis (SIGKILL) and stops its health endpoint (connections
 * refused). The restore starts them again with the lab's own start code, on the same ports and
 * data directories, so each comes back as what it was: an old primary as a writer on its old
 * timeline beside a promoted standby, ready for a failback.
 */
import { applyRedisAcl } from './permissions.js';
import type { RegionRole } from '../domain/types.js';
import { PreconditionFailed } from '../errors.js';
import { readLabInfo, writeLabInfo } from './manifest.js';
import { pgStart, pgStop, postmasterPid, type PgLabContext } from './postgres.js';
import { redisReplicaOf, redisSave, redisStatus, startRedis, stopRedis } from './redis.js';
import { labCloud, setRegionHealth } from './simulators/index.js';
import { findRedisServer, labUser } from './system.js';
import type { LabInfo, LabOutage } from './types.js';

const other = (r: RegionRole): RegionRole => (r === 'primary' ? 'secondary' : 'primary');

export interface LabOutageResult {
  region: RegionRole;
  postgres: { name: string; stopped: boolean };
  redis: {
    name: string;
    stopped: boolean;
    replicaOf: { host: string; port: number } | null | undefined;
  };
  /** The region's health endpoint: stopped, or why not (no simulators in this lab, or they do not answer). */
  health: { stopped: boolean; note?: string };
}

export interface LabRestoreResult {
  region: RegionRole;
  postgres: { name: string; started: boolean; pid: number | null };
  redis: {
    name: string;
    started: boolean;
    pid: number | null;
    replicaOf: { host: string; port: number } | null;
  };
  health: { started: boolean; note?: string };
}

function pgContext(info: LabInfo): PgLabContext {
  return { bindir: info.postgres.bindir, user: labUser(), socketDir: '' };
}

async function health(
  info: LabInfo,
  region: RegionRole,
  actions: ('stop' | 'start' | 'up')[],
): Promise<{ done: boolean; note?: string }> {
  const cloud = labCloud(info);
  if (!cloud) return { done: false, note: 'this lab runs no simulators' };
  try {
    for (const action of actions) await setRegionHealth(cloud, region, action);
    return { done: true };
  } catch (err) {
    return {
      done: false,
      note: `the simulators did not take it: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/** Take `region` (default primary) down as a regional loss would; recorded in lab.json for the restore. */
export async function labOutage(opts: {
  dir: string;
  region?: RegionRole;
}): Promise<LabOutageResult> {
  const info = readLabInfo(opts.dir);
  const region = opts.region ?? 'primary';
  if (info.outage && info.outage.region !== region) {
    throw new PreconditionFailed(
      `the ${info.outage.region} region is already out (since ${info.outage.at}): run \`npx dr lab restore --dir ${opts.dir}\` first; the lab plays one regional outage at a time`,
    );
  }
  const pg = info.postgres[region];
  const redis = info.redis[region];
  const redisUp = (await redisStatus(redis)).healthy;
  let replicaOf = info.outage?.redisReplicaOf;
  if (redisUp) {
    replicaOf = await redisReplicaOf(redis);
    // The lab's Redis keeps nothing on disk; a real one would (RDB/AOF). Saving right before the
    // kill lets the restore bring its data back, as a persistent server comes back with its own.
    await redisSave(redis);
  }
  const pgUp = postmasterPid(pg.dataDir) !== undefined;
  await Promise.all([
    pgUp ? pgStop(pgContext(info), pg.dataDir, 'immediate', pg.pid) : undefined,
    redisUp ? stopRedis(redis, 'SIGKILL') : undefined,
  ]);
  const h = await health(info, region, ['stop']);
  const outage: LabOutage = {
    region,
    at: info.outage?.at ?? new Date().toISOString(),
    ...(replicaOf !== undefined ? { redisReplicaOf: replicaOf } : {}),
  };
  writeLabInfo({ ...info, outage });
  return {
    region,
    postgres: { name: pg.name, stopped: pgUp },
    redis: { name: redis.name, stopped: redisUp, replicaOf },
    health: { stopped: h.done, ...(h.note ? { note: h.note } : {}) },
  };
}

/**
 * Start the servers of `region` (default: the one `dr lab outage` took down, else primary) again
 * with the same ports and data: PostgreSQL from its data directory, Redis from the snapshot the
 * outage saved, replicating from what it replicated from then (without a record: the primary's
 * Redis as a master, the secondary's as a replica of the primary's). Servers that run are left alone.
 */
export async function labRestore(opts: {
  dir: string;
  region?: RegionRole;
}): Promise<LabRestoreResult> {
  const info = readLabInfo(opts.dir);
  const region = opts.region ?? info.outage?.region ?? 'primary';
  const pg = info.postgres[region];
  const redis = info.redis[region];
  const recorded = info.outage?.region === region ? info.outage.redisReplicaOf : undefined;
  const replicaOf =
    recorded !== undefined
      ? recorded
      : region === 'primary'
        ? null
        : { host: '127.0.0.1', port: info.redis[other(region)].port };

  const pgRunning = postmasterPid(pg.dataDir);
  const redisUp = (await redisStatus(redis)).healthy;
  const [pgPid, redisServer] = await Promise.all([
    pgRunning ?? pgStart(pgContext(info), pg),
    redisUp
      ? undefined
      : startRedis({
          redisServer: findRedisServer(),
          name: redis.name,
          port: redis.port,
          dir: redis.dir,
          ...(replicaOf ? { replicaOf } : {}),
        }),
  ]);
  pg.pid = pgPid;
  if (redisServer) {
    redis.pid = redisServer.pid;
    // ACL SETUSER lives in memory: a restarted server has lost the bot's user.
    await applyRedisAcl(redisServer.url);
  }
  const h = await health(info, region, ['start', 'up']);
  const { outage: _ended, ...rest } = info;
  writeLabInfo(info.outage?.region === region ? rest : info);
  return {
    region,
    postgres: { name: pg.name, started: pgRunning === undefined, pid: pgPid },
    redis: {
      name: redis.name,
      started: !redisUp,
      pid: redisServer?.pid ?? null,
      replicaOf: redisUp ? null : replicaOf,
    },
    health: { started: h.done, ...(h.note ? { note: h.note } : {}) },
  };
}
