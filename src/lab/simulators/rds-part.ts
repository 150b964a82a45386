/**
 * `dr lab up --postgres rds-replica`: the RDS simulator as a part of the lab, its own detached
 * process in front of the lab's real PostgreSQL pair, and a bot config whose database uses the
 * rds-replica driver against it (the SQL still goes to the servers, as the bot's role).
 */
import { LAB_APP_ROLE } from '../permissions.js';
import type { LabPart } from '../types.js';
import { createFencedAppRole, LAB_AWS_ENV, labService } from './service.js';

const KEY = 'rds';

/** The lab's instances: the ids the simulator serves and the config names. */
export const LAB_RDS = {
  accountId: '123456789012',
  primary: { instanceIdentifier: 'lab-db', region: 'eu-west-1' },
  secondary: { instanceIdentifier: 'lab-db-replica', region: 'eu-central-1' },
} as const;

export function rdsPart(): LabPart {
  const service = labService(KEY);
  return {
    name: KEY,
    pidFile: service.pidFile,
    async start(info) {
      // RDS forbids ALTER SYSTEM: the config fences the application's role, as on real RDS.
      await createFencedAppRole(info);
      // The service administers its instances: it reads the lab's own (admin) URLs from lab.json.
      return { [KEY]: await service.spawn(info, ['--lab-dir', info.dir]) };
    },
    configure(config, info) {
      const postgres = config.components?.postgres;
      if (!postgres) return;
      postgres.driver = 'rds-replica';
      // RDS rebuilds the old primary (CreateDBInstanceReadReplica): no host command, no `dr lab resync`.
      delete postgres.resync;
      postgres.fence = { method: 'role', roles: [LAB_APP_ROLE] };
      postgres.rds = {
        ...LAB_RDS,
        endpoint: service.started(info).url,
        promoteTimeoutSeconds: 60,
        rebuildTimeoutMinutes: 5,
      };
    },
    env: () => ({ ...LAB_AWS_ENV }),
  };
}
