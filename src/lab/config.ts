/**
 * The bot config that points at a lab. Built as data and validated against the real schema before
 * it is written, so `dr lab up` never hands out a config that `dr start` would reject.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { configSchema, type DrConfigInput } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { botPgUrl, botRedisUrl } from './permissions.js';
import { labResyncCommand } from './resync-command.js';
import type { LabInfo } from './types.js';

/** Two made-up approvers so a lab operation can be approved from the console. */
export const LAB_APPROVERS = ['U0LABAPPR1', 'U0LABAPPR2'];
export const LAB_CHANNEL = 'C0LAB00001';

export function labConfig(info: LabInfo): DrConfigInput {
  return {
    environment: 'lab',
    regions: { primary: { name: 'lab-primary' }, secondary: { name: 'lab-secondary' } },
    slack: { incidentChannel: LAB_CHANNEL },
    approvals: { approvers: LAB_APPROVERS, required: 1, timeoutMinutes: 30 },
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
    components: {
      postgres: {
        // The bot's own least-privilege role (deploy/permissions/postgres.sql), never the superuser.
        primary: { url: botPgUrl(info.postgres.primary.port) },
        secondary: { url: botPgUrl(info.postgres.secondary.port) },
        promoteTimeoutSeconds: 30,
        catchUpTimeoutSeconds: 30,
        resync: { command: labResyncCommand(info.dir), timeoutSeconds: 300 },
        consistencyTables: [],
      },
      redis: {
        // The bot's ACL user (deploy/permissions/redis.acl), never `default`.
        primary: { url: botRedisUrl(info.redis.primary.port) },
        secondary: { url: botRedisUrl(info.redis.secondary.port) },
        promoteTimeoutSeconds: 10,
      },
    },
  };
}

/** Validate and write `config` as YAML to `path`. */
export function writeLabConfig(path: string, config: DrConfigInput): void {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    // A bug in the lab, not the user's input: say which field.
    throw new ConfigError(
      `the lab built an invalid config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  writeFileSync(
    path,
    `# Written by \`dr lab up\`: a bot config pointing at the local lab.\n${stringify(config)}`,
  );
}
