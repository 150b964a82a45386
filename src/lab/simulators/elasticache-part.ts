/**
 * `dr lab up --redis elasticache-global`: the ElastiCache simulator as a part of the lab, its own
 * detached process in front of the lab's real Redis pair, and a bot config whose cache uses the
 * elasticache-global driver against it (the two Redis servers stay the member endpoints). The
 * same process serves CloudWatch's GlobalDatastoreReplicationLag, measured on the real pair.
 */
import type { LabPart } from '../types.js';
import { LAB_AWS_ENV, labService } from './service.js';

const KEY = 'elasticache';

/** The lab's datastore: the ids the simulator serves and the config names. */
export const LAB_DATASTORE = {
  globalReplicationGroupId: 'ldgnf-lab-cache',
  primary: { region: 'eu-west-1', replicationGroupId: 'lab-cache-primary' },
  secondary: { region: 'eu-central-1', replicationGroupId: 'lab-cache-secondary' },
} as const;

export function elasticachePart(): LabPart {
  const service = labService(KEY);
  return {
    name: KEY,
    pidFile: service.pidFile,
    async start(info) {
      // The service acts as an admin of its nodes: the lab's own URLs, not the bot's ACL user.
      const args = ['--primary', info.redis.primary.url, '--secondary', info.redis.secondary.url];
      return { [KEY]: await service.spawn(info, args) };
    },
    configure(config, info) {
      const redis = config.components?.redis;
      if (!redis) return;
      redis.driver = 'elasticache-global';
      // One simulator process answers both APIs (CloudWatch calls by their X-Amz-Target header).
      const { url } = service.started(info);
      redis.elasticache = {
        ...LAB_DATASTORE,
        endpoint: url,
        cloudwatchEndpoint: url,
        failoverTimeoutSeconds: 60,
      };
    },
    env: () => ({ ...LAB_AWS_ENV }),
  };
}
