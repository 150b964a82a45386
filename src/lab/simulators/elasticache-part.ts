/**
 * `dr lab up --redis elasticache-global`: the ElastiCache simulator as a part of the lab, its own
 * detached process in front of the lab's real Redis pair, and a bot config whose cache uses the
 * elasticache-global driver against it (the two Redis servers stay the member endpoints). The
 * same process serves CloudWatch's GlobalDatastoreReplicationLag, measured on the real pair.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import type { LabInfo, LabPart } from '../types.js';
import { spawnDetached } from './spawn.js';

const KEY = 'elasticache';
const FILE = 'elasticache.json';
const PID_FILE = 'elasticache.pid';

/** The lab's datastore: the ids the simulator serves and the config names. */
export const LAB_DATASTORE = {
  globalReplicationGroupId: 'ldgnf-lab-cache',
  primary: { region: 'eu-west-1', replicationGroupId: 'lab-cache-primary' },
  secondary: { region: 'eu-central-1', replicationGroupId: 'lab-cache-secondary' },
} as const;

export function elasticachePart(): LabPart {
  const urlOf = (info: LabInfo): string => {
    const s = info.simulators[KEY];
    if (!s) throw new ProviderError('lab', 'the elasticache part was configured before it started');
    return s.url;
  };
  return {
    name: KEY,
    pidFile: (info) => join(info.dir, KEY, PID_FILE),
    async start(info) {
      const dir = join(info.dir, KEY);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The service acts as an admin of its nodes: the lab's own URLs, not the bot's ACL user.
      const d = await spawnDetached<{ pid: number; url: string }>({
        dir,
        script: 'serve-elasticache',
        args: ['--primary', info.redis.primary.url, '--secondary', info.redis.secondary.url],
        file: FILE,
        pidFile: PID_FILE,
        logName: 'elasticache.log',
      });
      return { [KEY]: { url: d.url, pid: d.pid, logFile: d.logFile } };
    },
    configure(config, info) {
      const redis = config.components?.redis;
      if (!redis) return;
      redis.driver = 'elasticache-global';
      // One simulator process answers both APIs (CloudWatch calls by their X-Amz-Target header).
      redis.elasticache = {
        ...LAB_DATASTORE,
        endpoint: urlOf(info),
        cloudwatchEndpoint: urlOf(info),
        failoverTimeoutSeconds: 60,
      };
    },
    env: () => ({
      // Dummy keys: the SDK's chain wants some; the simulator does not check signatures.
      AWS_ACCESS_KEY_ID: 'AKIDLABSIMULATOR',
      AWS_SECRET_ACCESS_KEY: 'lab-simulator-not-a-secret',
    }),
  };
}
