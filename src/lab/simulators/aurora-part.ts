/**
 * `dr lab up --postgres aurora-global`: the Aurora Global Database simulator as a part of the lab,
 * its own detached process in front of the lab's real PostgreSQL pair (each server one region's
 * DB cluster), the lab's aurora_global_db_status() stand-in on the servers, and a bot config whose
 * database uses the aurora-global driver against it (the SQL still goes to the servers).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import type { LabInfo, LabPart } from '../types.js';
import { createAuroraStatusFunction } from './aurora-status.js';
import { spawnDetached } from './spawn.js';

const KEY = 'aurora';
const FILE = 'aurora.json';
const PID_FILE = 'aurora.pid';

/** The lab's global database: the ids the simulator serves and the config names. */
export const LAB_AURORA = {
  accountId: '123456789012',
  globalClusterIdentifier: 'lab-global',
  engineVersion: '16.4',
  primary: { clusterIdentifier: 'lab-aurora-primary', region: 'eu-west-1' },
  secondary: { clusterIdentifier: 'lab-aurora-secondary', region: 'eu-central-1' },
} as const;

export function auroraPart(): LabPart {
  const urlOf = (info: LabInfo): string => {
    const s = info.simulators[KEY];
    if (!s) throw new ProviderError('lab', 'the aurora part was configured before it started');
    return s.url;
  };
  return {
    name: KEY,
    pidFile: (info) => join(info.dir, KEY, PID_FILE),
    async start(info) {
      const dir = join(info.dir, KEY);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await createAuroraStatusFunction(info.postgres.primary.url, [
        { port: info.postgres.primary.port, region: LAB_AURORA.primary.region },
        { port: info.postgres.secondary.port, region: LAB_AURORA.secondary.region },
      ]);
      // The service administers its clusters: it reads the lab's own (admin) URLs from lab.json.
      const d = await spawnDetached<{ pid: number; url: string }>({
        dir,
        script: 'serve-aurora',
        args: ['--lab-dir', info.dir],
        file: FILE,
        pidFile: PID_FILE,
        logName: 'aurora.log',
      });
      return { [KEY]: { url: d.url, pid: d.pid, logFile: d.logFile } };
    },
    configure(config, info) {
      const postgres = config.components?.postgres;
      if (!postgres) return;
      postgres.driver = 'aurora-global';
      // Aurora fences during a switchover and rebuilds the old region itself: no fence, no resync.
      delete postgres.resync;
      delete postgres.fence;
      postgres.aurora = {
        globalClusterIdentifier: LAB_AURORA.globalClusterIdentifier,
        accountId: LAB_AURORA.accountId,
        primary: { ...LAB_AURORA.primary },
        secondary: { ...LAB_AURORA.secondary },
        endpoint: urlOf(info),
        switchoverTimeoutMinutes: 5,
        failoverTimeoutMinutes: 5,
        rejoinTimeoutMinutes: 10,
        pollIntervalMs: 200,
      };
    },
    env: () => ({
      // Dummy keys: the SDK's chain wants some; the simulator reads only the signature's region.
      AWS_ACCESS_KEY_ID: 'AKIDLABSIMULATOR',
      AWS_SECRET_ACCESS_KEY: 'lab-simulator-not-a-secret',
    }),
  };
}
