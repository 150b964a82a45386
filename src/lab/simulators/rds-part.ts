/**
 * `dr lab up --postgres rds-replica`: the RDS simulator as a part of the lab, its own detached
 * process in front of the lab's real PostgreSQL pair, and a bot config whose database uses the
 * rds-replica driver against it (the SQL still goes to the servers, as the bot's role).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import { applyRoleFenceGrants, LAB_APP_ROLE } from '../permissions.js';
import { pgQuery } from '../postgres.js';
import type { LabInfo, LabPart } from '../types.js';
import { spawnDetached } from './spawn.js';

const KEY = 'rds';
const FILE = 'rds.json';
const PID_FILE = 'rds.pid';

/** The lab's instances: the ids the simulator serves and the config names. */
export const LAB_RDS = {
  accountId: '123456789012',
  primary: { instanceIdentifier: 'lab-db', region: 'eu-west-1' },
  secondary: { instanceIdentifier: 'lab-db-replica', region: 'eu-central-1' },
} as const;

export function rdsPart(): LabPart {
  const urlOf = (info: LabInfo): string => {
    const s = info.simulators[KEY];
    if (!s) throw new ProviderError('lab', 'the rds part was configured before it started');
    return s.url;
  };
  return {
    name: KEY,
    pidFile: (info) => join(info.dir, KEY, PID_FILE),
    async start(info) {
      const dir = join(info.dir, KEY);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // RDS forbids ALTER SYSTEM: the config fences the application's role, as on real RDS. On the
      // primary, as rds_superuser would; replication carries the role and grants to the standby.
      const admin = info.postgres.primary.url;
      await pgQuery(admin, `CREATE ROLE ${LAB_APP_ROLE} LOGIN`);
      await applyRoleFenceGrants(admin);
      // The service administers its instances: it reads the lab's own (admin) URLs from lab.json.
      const d = await spawnDetached<{ pid: number; url: string }>({
        dir,
        script: 'serve-rds',
        args: ['--lab-dir', info.dir],
        file: FILE,
        pidFile: PID_FILE,
        logName: 'rds.log',
      });
      return { [KEY]: { url: d.url, pid: d.pid, logFile: d.logFile } };
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
        endpoint: urlOf(info),
        promoteTimeoutSeconds: 60,
        rebuildTimeoutMinutes: 5,
      };
    },
    env: () => ({
      // Dummy keys: the SDK's chain wants some; the simulator reads only the signature's region.
      AWS_ACCESS_KEY_ID: 'AKIDLABSIMULATOR',
      AWS_SECRET_ACCESS_KEY: 'lab-simulator-not-a-secret',
    }),
  };
}
