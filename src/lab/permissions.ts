/**
 * The bot's least-privilege identities in the lab, made from the very files operators are given
 * (deploy/permissions/postgres.sql and redis.acl), so every lab run proves those rights suffice.
 * The lab's own admin work (test tables, pg_basebackup, pg_rewind) keeps the `postgres` superuser
 * and the Redis `default` user; only the bot's config uses these.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ProviderError } from '../errors.js';
import { pgQuery } from './postgres.js';

export const BOT_PG_ROLE = 'dr_bot';
export const BOT_REDIS_USER = 'dr-bot';

/** A file under deploy/permissions of this checkout (or image). */
function permissionsFile(name: 'postgres.sql' | 'postgres-role-fence.sql' | 'redis.acl'): string {
  return fileURLToPath(new URL(`../../deploy/permissions/${name}`, import.meta.url));
}

/** The bot's connection string to a lab PostgreSQL server (trust auth: no password). */
export function botPgUrl(port: number): string {
  return `postgresql://${BOT_PG_ROLE}@127.0.0.1:${port}/postgres`;
}

/** The bot's connection string to a lab Redis server: its ACL user, no password (nopass). */
export function botRedisUrl(port: number): string {
  return `redis://${BOT_REDIS_USER}@127.0.0.1:${port}`;
}

/** Run postgres.sql as the superuser at `adminUrl` (the primary: the standby gets it by replication). */
export async function applyPostgresRole(adminUrl: string): Promise<void> {
  await pgQuery(adminUrl, readFileSync(permissionsFile('postgres.sql'), 'utf8'));
  // The lab's application is the superuser: the SELECT postgres.sql asks for on every table whose
  // consistency is checked, given once for the tables tests create later.
  await pgQuery(
    adminUrl,
    `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO ${BOT_PG_ROLE}`,
  );
}

/** The application login role the shipped postgres-role-fence.sql names (its app_roles list). */
export const LAB_APP_ROLE = 'app';

/**
 * Run postgres-role-fence.sql as the superuser at `adminUrl`: the bot may then fence the roles
 * its app_roles list names (`app`, as shipped). `dr lab up` uses it only for the RDS lab; the
 * streaming lab's fence is read-only.
 */
export async function applyRoleFenceGrants(adminUrl: string): Promise<void> {
  await pgQuery(adminUrl, readFileSync(permissionsFile('postgres-role-fence.sql'), 'utf8'));
}

/** The ACL rules redis.acl gives `user` (the words after `user NAME`). */
function aclRules(text: string, user = BOT_REDIS_USER): string[] {
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'user' && words[1] === user) return words.slice(2);
  }
  throw new ProviderError('lab', `redis.acl has no "user ${user}" line`);
}

/**
 * ACL SETUSER the bot's user on one Redis server (ACLs are per server, not replicated), with
 * nopass: the lab has no secrets. `default` stays open for the lab's own admin work.
 */
export async function applyRedisAcl(adminUrl: string): Promise<void> {
  const rules = aclRules(readFileSync(permissionsFile('redis.acl'), 'utf8'));
  const r = new Redis(adminUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.call('ACL', 'SETUSER', BOT_REDIS_USER, ...rules, 'nopass');
  } finally {
    r.disconnect();
  }
}
