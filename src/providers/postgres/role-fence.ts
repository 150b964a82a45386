/**
 * The role fence (fence.method `role`), for servers where the bot may not ALTER SYSTEM (before
 * PostgreSQL 15 without a superuser; RDS, Aurora, Cloud SQL): ALTER ROLE <each fence.roles> SET
 * default_transaction_read_only = on, so every new session of the application's roles is
 * read-only, and lifting it again. Role settings live in a shared catalog that replication copies,
 * so a promoted standby carries the fence too: the promotion lifts it there (unfence).
 */
import type pg from 'pg';
import type { RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import { NAME, type PgContext, type PostgresProviderOptions } from './context.js';

const SETTING = 'default_transaction_read_only=on';

/** A role name as an identifier (role names may hold dots, unlike quoteIdent's qualified names). */
function roleIdent(role: string): string {
  return `"${role.replace(/"/g, '""')}"`;
}

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function roles(ctx: PgContext): readonly string[] {
  return ctx.opts.fence.roles ?? [];
}

/** The configured roles whose own (all-database) setting makes them read-only, in SQL. */
function fencedRolesSql(list: readonly string[]): string {
  return `SELECT r.rolname FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
           WHERE s.setdatabase = 0 AND ${literal(SETTING)} = ANY(s.setconfig)
             AND r.rolname IN (${list.map(literal).join(', ')})`;
}

export type PgFence = PostgresProviderOptions['fence'];

/**
 * The role fence makes the application's roles read-only, not the bot's: the drill's write load,
 * standing in for the application, makes its session `c` read-only on a server fenced that way.
 */
export async function obeyRoleFence(c: pg.Client, fence: PgFence): Promise<void> {
  if (fence.method !== 'role') return;
  const { rows } = await c.query(`SELECT ${fencedSql(fence)} AS fenced`);
  if (rows[0].fenced === true) await c.query('SET default_transaction_read_only = on');
}

/**
 * A boolean SQL expression: true when the server is fenced the `fence` way. read-only and command
 * fences show in the session's own default; the role fence in every configured role's setting.
 */
export function fencedSql(fence: PgFence): string {
  const list = fence.roles ?? [];
  if (fence.method !== 'role' || list.length === 0)
    return `current_setting('default_transaction_read_only') = 'on'`;
  return `((SELECT count(DISTINCT rolname) FROM (${fencedRolesSql(list)}) f) = ${new Set(list).size})`;
}

/**
 * ALTER ROLE every configured role read-only, in one transaction: all of them or none. A refusal
 * (no CREATEROLE, no ADMIN OPTION on 16+, a superuser role) names the right and changes nothing.
 */
export async function setRoleFence(ctx: PgContext, side: RegionRole): Promise<void> {
  await ctx.withClient(side, 'fencing the application roles (ALTER ROLE)', async (c) => {
    await c.query('BEGIN');
    try {
      for (const role of roles(ctx))
        await c.query(`ALTER ROLE ${roleIdent(role)} SET default_transaction_read_only = on`);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      const e = err as { code?: string; message?: string };
      if (e.code !== '42501' && e.code !== '42704') throw err;
      throw new ProviderError(
        NAME,
        `${ctx.where(side)}: the role fence was refused (${e.message}); nothing was fenced. The bot's role needs CREATEROLE (and on PostgreSQL 16+ ADMIN OPTION on each of fence.roles), and each role must exist and not be a superuser: see deploy/permissions/postgres-role-fence.sql.`,
        { code: 'precondition-failed', cause: err },
      );
    }
  });
}

/** The SQL a person runs to lift the configured fence by hand. */
export function liftHint(ctx: PgContext): string {
  if (ctx.opts.fence.method !== 'role')
    return 'ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();';
  return roles(ctx)
    .map((r) => `ALTER ROLE ${roleIdent(r)} RESET default_transaction_read_only;`)
    .join(' ');
}

/** Lift the role fence from `side` where the configured roles carry it; false when none does. */
export async function liftRoleFence(ctx: PgContext, side: RegionRole): Promise<boolean> {
  const list = roles(ctx);
  if (list.length === 0) return false;
  return ctx.withClient(side, 'lifting the role fence (ALTER ROLE ... RESET)', async (c) => {
    const { rows } = await c.query<{ rolname: string }>(fencedRolesSql(list));
    if (rows.length === 0) return false;
    await c.query('BEGIN');
    for (const { rolname } of rows)
      await c.query(`ALTER ROLE ${roleIdent(rolname)} RESET default_transaction_read_only`);
    await c.query('COMMIT');
    return true;
  });
}

/** One right the role fence needs, as rights.ts checks them: a SQL test and the fix. */
interface RoleFenceRight {
  name: string;
  held: string;
  grant: string;
}

/**
 * What the role fence needs on a server of version `v`, per role: it exists and is no superuser
 * (neither CREATEROLE nor pg_signal_backend reaches a superuser), and the bot may ALTER it: before
 * 16 CREATEROLE alone; from 16, CREATEROLE plus ADMIN OPTION on the role (PostgreSQL 16 release
 * notes, "Restrict the privileges of CREATEROLE"; ALTER ROLE, Notes).
 */
export function roleFenceRights(ctx: PgContext, botRole: string, v: number): RoleFenceRight[] {
  if (ctx.opts.fence.method !== 'role') return [];
  const bot = roleIdent(botRole);
  const createrole = `(SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user)`;
  return roles(ctx).flatMap((role) => {
    const exists = `EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(role)} AND NOT rolsuper)`;
    const admin = `pg_has_role(current_user, ${literal(role)}, 'MEMBER WITH ADMIN OPTION')`;
    return [
      {
        name: `fence role ${role}: an existing role that is not a superuser`,
        held: exists,
        grant: `ALTER ROLE ${roleIdent(role)} NOSUPERUSER;`,
      },
      {
        name: `ALTER ROLE ${role} (the role fence)`,
        held:
          v >= 160000
            ? `CASE WHEN ${exists} THEN ${createrole} AND ${admin} ELSE false END`
            : `${createrole} AND ${exists}`,
        grant:
          v >= 160000
            ? `ALTER ROLE ${bot} CREATEROLE; GRANT ${roleIdent(role)} TO ${bot} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;`
            : `ALTER ROLE ${bot} CREATEROLE;`,
      },
    ];
  });
}
