/**
 * `dr lab up --postgres aurora-global`: the Aurora Global Database simulator as a part of the lab,
 * its own detached process in front of the lab's real PostgreSQL pair (each server one region's
 * DB cluster), the lab's aurora_global_db_status() stand-in on the servers, and a bot config whose
 * database uses the aurora-global driver against it (the SQL still goes to the servers).
 */
import type { LabPart } from '../types.js';
import { createAuroraStatusFunction } from './aurora-status.js';
import { LAB_AWS_ENV, labService } from './service.js';

const KEY = 'aurora';

/** The lab's global database: the ids the simulator serves and the config names. */
export const LAB_AURORA = {
  accountId: '123456789012',
  globalClusterIdentifier: 'lab-global',
  engineVersion: '16.4',
  primary: { clusterIdentifier: 'lab-aurora-primary', region: 'eu-west-1' },
  secondary: { clusterIdentifier: 'lab-aurora-secondary', region: 'eu-central-1' },
} as const;

export function auroraPart(): LabPart {
  const service = labService(KEY);
  return {
    name: KEY,
    pidFile: service.pidFile,
    async start(info) {
      await createAuroraStatusFunction(info.postgres.primary.url, [
        { port: info.postgres.primary.port, region: LAB_AURORA.primary.region },
        { port: info.postgres.secondary.port, region: LAB_AURORA.secondary.region },
      ]);
      // The service administers its clusters: it reads the lab's own (admin) URLs from lab.json.
      return { [KEY]: await service.spawn(info, ['--lab-dir', info.dir]) };
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
        endpoint: service.started(info).url,
        switchoverTimeoutMinutes: 5,
        failoverTimeoutMinutes: 5,
        rejoinTimeoutMinutes: 10,
        pollIntervalMs: 200,
      };
    },
    env: () => ({ ...LAB_AWS_ENV }),
  };
}
