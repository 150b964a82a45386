/**
 * The bot's own ACL on each Redis side, checked by preflight before anyone can approve: ACL DRYRUN
 * (Redis 7+) of every command the procedure sends, with the keys it sends them on. DRYRUN runs
 * nothing; the commands below are the ones deploy/permissions/redis.acl allows.
 */
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import { withClient, type RedisCtx } from './connection.js';

/** One command as the procedure sends it, and the ACL rule that allows it. */
interface RedisRight {
  /** The command and sample arguments DRYRUN checks (keys as the bot uses them). */
  command: readonly string[];
  /** The ACL rule that adds it: +cmd, +cmd|sub, or a key pattern. */
  rule: string;
  /** The key pattern the command needs (added when DRYRUN denies the key). */
  keys?: string;
}

const r = (command: string[], rule: string, keys?: string): RedisRight => ({
  command,
  rule,
  ...(keys ? { keys } : {}),
});

/** Every command the bot sends to the application's Redis (test/permissions checks redis.acl allows each). */
export const REDIS_RIGHTS: readonly RedisRight[] = [
  r(['PING'], '+ping'),
  r(['INFO', 'replication'], '+info'),
  r(['ROLE'], '+role'),
  r(['CLIENT', 'SETNAME', 'dr-bot'], '+client|setname'),
  r(['CONFIG', 'GET', 'min-replicas-to-write'], '+config|get'),
  r(['CONFIG', 'SET', 'min-replicas-to-write', '0'], '+config|set'),
  r(['CLIENT', 'PAUSE', '1000', 'WRITE'], '+client|pause'),
  r(['CLIENT', 'UNPAUSE'], '+client|unpause'),
  r(['REPLICAOF', 'NO', 'ONE'], '+replicaof'),
  r(['FAILOVER', 'TO', '127.0.0.1', '6379'], '+failover'),
  r(['DBSIZE'], '+dbsize'),
  r(['SCAN', '0'], '+scan'),
  r(['RANDOMKEY'], '+randomkey'),
  r(['TYPE', 'any-key'], '+type', '%R~*'),
  r(['EXISTS', 'any-key'], '+exists', '%R~*'),
  r(['GET', 'dr_drill_load:run'], '+get', '%R~*'),
  r(['STRLEN', 'any-key'], '+strlen', '%R~*'),
  r(['GETRANGE', 'any-key', '0', '262143'], '+getrange', '%R~*'),
  r(['HSCAN', 'any-key', '0', 'COUNT', '2048'], '+hscan', '%R~*'),
  r(['SSCAN', 'any-key', '0', 'COUNT', '2048'], '+sscan', '%R~*'),
  r(['ZRANGE', 'any-key', '0', '2047', 'WITHSCORES'], '+zrange', '%R~*'),
  r(['LRANGE', 'any-key', '0', '2047'], '+lrange', '%R~*'),
  r(['XRANGE', 'any-key', '-', '+', 'COUNT', '2048'], '+xrange', '%R~*'),
  r(['DUMP', 'any-key'], '+dump', '%R~*'),
  r(['SET', 'dr:probe:secondary', 'x'], '+set', '~dr:probe:*'),
  r(['INCR', 'dr_drill_load:run'], '+incr', '~dr_drill_load:*'),
  r(['DEL', 'dr_drill_load:run'], '+del', '~dr_drill_load:*'),
];

/** A command the bot's user may not send on one side, with the ACL SETUSER that allows it. */
interface MissingCommand {
  side: RegionRole;
  command: string;
  fix: string;
}

const SIDES: readonly RegionRole[] = ['primary', 'secondary'];

/** The server's major version from HELLO (always allowed, unlike INFO). */
function major(hello: unknown): number {
  const fields = Array.isArray(hello) ? (hello as unknown[]) : [];
  return Number(String(fields[fields.indexOf('version') + 1] ?? '0').split('.')[0]);
}

/** DRYRUN each command as the connected user; null when the server cannot tell (Redis < 7). */
async function missingOn(ctx: RedisCtx, side: RegionRole): Promise<MissingCommand[] | null> {
  return withClient(ctx, side, 'checking the bot user’s ACL', async (c) => {
    if (major(await c.call('HELLO')) < 7) return null;
    let user: string;
    try {
      user = String(await c.call('ACL', 'WHOAMI'));
      await c.call('ACL', 'DRYRUN', user, 'PING');
    } catch (err) {
      const fix = 'ACL SETUSER <bot user> +acl|whoami +acl|dryrun';
      return [{ side, command: `ACL WHOAMI / ACL DRYRUN (${(err as Error).message})`, fix }];
    }
    const out: MissingCommand[] = [];
    for (const right of REDIS_RIGHTS) {
      const verdict = String(await c.call('ACL', 'DRYRUN', user, ...right.command));
      if (verdict === 'OK') continue;
      const keyDenied = /key/i.test(verdict) && right.keys !== undefined;
      out.push({
        side,
        command: right.command.slice(0, right.rule.includes('|') ? 2 : 1).join(' '),
        fix: `ACL SETUSER ${user} ${keyDenied ? right.keys! : right.rule}`,
      });
    }
    return out;
  });
}

/**
 * Readiness with the ACL folded in: blocked, one line per command naming it and the ACL SETUSER
 * that allows it (on each server: ACLs are not replicated). Redis < 7 cannot dry-run: a warning.
 */
export async function withAcl(
  ctx: RedisCtx,
  readiness: () => Promise<ComponentReadiness>,
): Promise<ComponentReadiness> {
  // Side by side: a missing right (INFO) may be why the readiness itself fails.
  const [judged, per] = await Promise.all([
    readiness().catch((err: unknown) => err as Error),
    Promise.all(
      SIDES.map((side) =>
        missingOn(ctx, side).catch((err: unknown) => {
          if (err instanceof DrError && err.retryable) return [];
          throw err;
        }),
      ),
    ),
  ]);
  const unknown = SIDES.filter((_, i) => per[i] === null);
  const missing = per.flatMap((m) => m ?? []);
  const note = unknown.length
    ? [`${unknown.join(' and ')}: Redis < 7 has no ACL DRYRUN: the bot's rights are not checked`]
    : [];
  if (missing.length === 0) {
    if (judged instanceof Error) throw judged;
    return note.length ? { ...judged, warnings: [...(judged.warnings ?? []), ...note] } : judged;
  }
  const r = judged instanceof Error ? failedReadiness(judged) : judged;
  const lines = missing.map((m) => `${m.side}: may not run ${m.command}: run \`${m.fix}\``);
  return {
    ...r,
    status: 'blocked',
    summary: `the bot's Redis user lacks ${missing.length} command${missing.length === 1 ? '' : 's'}: ${lines.join('; ')}`,
    details: { ...r.details, missingCommands: lines },
    planFacts: { ...r.planFacts, missingCommands: missing.length },
    warnings: [...(r.warnings ?? []), ...lines, ...note],
  };
}

/** A readiness that failed (for want of a right): what the card shows beside the missing rights. */
function failedReadiness(err: Error): ComponentReadiness {
  return {
    component: 'cache',
    status: 'blocked',
    summary: err.message,
    details: { error: err.message },
    planFacts: {},
  };
}
