import type { DrConfigInput } from '../config/schema.js';
import type { PgServerInfo } from './postgres.js';
import type { RedisServerInfo } from './redis.js';

/** A local stand-in for a cloud control plane (Route 53, Traffic Manager, Kubernetes, health). */
export interface LabSimulatorInfo {
  url: string;
  /** A detached simulator process: `dr lab down` stops it by this pid. */
  pid?: number;
  /** Where its pid is written when it is spawned (used when `pid` is not known yet). */
  pidFile?: string;
  [key: string]: unknown;
}

/** What `dr lab up` started, as written to DIR/lab.json. */
export interface LabInfo {
  dir: string;
  /** The account the servers run as (PostgreSQL refuses root). */
  user: string;
  createdAt: string;
  configPath: string;
  postgres: {
    bindir: string;
    version: string;
    /** Physical slot on the primary the standby streams from. */
    slot: string;
    /**
     * pg_walinspect was created on the primary (and so is on the standby): failback counts the
     * transactions an old primary would lose. False where this PostgreSQL does not ship it.
     */
    walinspect?: boolean;
    primary: PgServerInfo;
    secondary: PgServerInfo;
  };
  redis: {
    version: string;
    primary: RedisServerInfo;
    secondary: RedisServerInfo;
  };
  /** The bot's own state store (REDIS_URL): never the application's Redis that it fails over. */
  stateRedis: RedisServerInfo;
  /** DIR/lab.env: `export` lines for what cannot live in the config (REDIS_URL, AWS credentials). */
  envFile: string;
  /** Cloud simulators, keyed by name; filled in by the parts that start them. */
  simulators: Record<string, LabSimulatorInfo>;
  /** A regional outage played by `dr lab outage`, until `dr lab restore` ends it. */
  outage?: LabOutage;
}

/** What `dr lab outage` stopped, and what `dr lab restore` needs to start it again as it was. */
export interface LabOutage {
  region: 'primary' | 'secondary';
  at: string;
  /** The region's Redis replicated from this server at the outage (null: it was a master; absent: it was already down). */
  redisReplicaOf?: { host: string; port: number } | null;
}

/**
 * A part of the lab started after the data tier (the cloud simulators, health endpoints). Parts
 * run detached processes under `info.dir` so they outlive `dr lab up`; `dr lab down` stops every
 * returned pid.
 */
export interface LabPart {
  name: string;
  /**
   * Where the part's process writes its pid as soon as it is spawned: recorded in lab.json before
   * start(), so a `dr lab down` after an `up` killed mid-start stops it too.
   */
  pidFile?(info: LabInfo): string;
  /** Start; return what runs where, keyed by name (merged into `simulators`). */
  start(info: LabInfo): Promise<Record<string, LabSimulatorInfo>>;
  /** Add this part's settings (dns, kubernetes, verification...) to the lab's bot config. */
  configure?(config: DrConfigInput, info: LabInfo): void;
  /** Environment the bot needs for this part (written to DIR/lab.env); never real secrets. */
  env?(info: LabInfo): Record<string, string>;
}
