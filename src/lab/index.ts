/**
 * The local two-region lab (DESIGN.md section 6): a PostgreSQL primary with a streaming standby
 * and a Redis primary with a replica, each on a free port under one directory, the cloud
 * simulators (by default), a separate Redis as the bot's own state store, a bot config pointing at
 * all of it and DIR/lab.env with the rest of what `dr start` needs. Everything is a detached
 * process recorded by pid in DIR/lab.json, so `dr lab up` can exit and a later `dr lab down` stops
 * exactly what was started.
 *
 * This is the lab's entry point: each concern (up, down, status, lab.json, the directory, the
 * servers, the simulators) lives in its own module and is re-exported here by name.
 */
export type { LabInfo, LabOutage, LabPart, LabSimulatorInfo } from './types.js';
export type { PgServerInfo, PgStatus, PgLabContext } from './postgres.js';
export type { RedisServerInfo, RedisStatus } from './redis.js';
export { LAB_APPROVERS, LAB_CHANNEL, labConfig, writeLabConfig } from './config.js';
export {
  createPrimary,
  createStandby,
  ensureExtension,
  pgStart,
  pgStop,
  pgQuery,
  postmasterPid,
  resyncAsStandby,
} from './postgres.js';
export { startRedis, stopRedis } from './redis.js';
export { findPostgresBin, findRedisServer, freePorts, labUser } from './system.js';
export { LAB_ENV_FILE, readLabEnv } from './env-file.js';
export {
  simulatorsPart,
  labCloud,
  cloudState,
  setRegionHealth,
  type LabCloud,
  type CloudState,
  type CloudWorkloadState,
} from './simulators/index.js';
export { labDown } from './down.js';
export { LAB_FILE, readLabInfo, writeLabInfo } from './manifest.js';
export { LAB_CONFIG_FILE, defaultLabParts, labUp, type LabUpOptions } from './up.js';
export { labStatus, writerWarnings, type LabStatus } from './status.js';
