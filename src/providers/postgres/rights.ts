/**
 * The bot's own rights on each side, checked by preflight before anyone can approve: every right
 * deploy/permissions/postgres.sql grants that the configured procedure uses, and with fence method
 * `role` what postgres-role-fence.sql adds (role-fence.ts). Read-only: each check
 * is a has_*_privilege / pg_has_role query, never the action itself.
 */
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { DrError } from '../../errors.js';
import { quoteIdent, type PgContext } from './context.js';
import { roleFenceRights } from './role-fence.js';

/** One right: what it is for, the SQL that tells whether the current role has it, and its GRANT. */
interface PgRight {
  name: string;
  /** A boolean SQL expression, true when the current role holds the right. */
  held: string;
  /** The statement that grants it; ROLE stands for the bot's role. */
  grant: string;
  /** Only on this version or later (the right does not exist before). */
  minVersion?: number;
  /** Only for this fence method. */
  fence?: 'read-only';
  /** Used only where the bot promotes and rewinds the servers itself (driver streaming). */
  ownServers?: true;
}

const member = (role: string): string => `pg_has_role(current_user, '${role}', 'MEMBER')`;
const fn = (sig: string): string => `has_function_privilege('${sig}', 'EXECUTE')`;

/** The rights in postgres.sql, in its order (test/permissions checks each GRANT is in the file). */
export const PG_RIGHTS: readonly PgRight[] = [
  {
    name: 'pg_read_all_stats (replication state with LSNs, sessions to end)',
    held: member('pg_read_all_stats'),
    grant: 'GRANT pg_read_all_stats TO ROLE;',
  },
  {
    name: 'pg_read_all_settings (where the fence came from)',
    held: member('pg_read_all_settings'),
    grant: 'GRANT pg_read_all_settings TO ROLE;',
  },
  {
    name: 'pg_checkpoint (CHECKPOINT before the final LSN and a resync)',
    held: member('pg_checkpoint'),
    grant: 'GRANT pg_checkpoint TO ROLE;',
    minVersion: 150000,
  },
  {
    name: 'pg_signal_backend (end the sessions that predate the fence)',
    held: member('pg_signal_backend'),
    grant: 'GRANT pg_signal_backend TO ROLE;',
  },
  {
    name: 'ALTER SYSTEM on default_transaction_read_only (the fence)',
    held: `has_parameter_privilege('default_transaction_read_only', 'ALTER SYSTEM')`,
    grant: 'GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO ROLE;',
    minVersion: 150000,
    fence: 'read-only',
  },
  {
    name: 'EXECUTE pg_reload_conf() (apply the fence)',
    held: fn('pg_reload_conf()'),
    grant: 'GRANT EXECUTE ON FUNCTION pg_reload_conf() TO ROLE;',
    fence: 'read-only',
  },
  {
    name: 'EXECUTE pg_promote() (promote the standby)',
    held: fn('pg_promote(boolean, integer)'),
    grant: 'GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO ROLE;',
    ownServers: true,
  },
  {
    name: 'EXECUTE pg_read_file() (timeline history for failback)',
    held: fn('pg_read_file(text)'),
    grant: 'GRANT EXECUTE ON FUNCTION pg_read_file(text) TO ROLE;',
    ownServers: true,
  },
  {
    name: 'EXECUTE pg_ls_waldir() (rewind or rebuild for failback)',
    held: fn('pg_ls_waldir()'),
    grant: 'GRANT EXECUTE ON FUNCTION pg_ls_waldir() TO ROLE;',
    ownServers: true,
  },
];

/**
 * Which rights a driver needs: `all` (the streaming procedure: fence, promote, rewind); `fence`
 * (the bot fences and waits for the catch-up, the platform promotes and rebuilds: rds-replica,
 * azure-flexible, where pg_promote cannot even be granted); or `tables` only (the write probe and
 * the consistency tables), where the platform does the rest.
 */
type RightsScope = 'all' | 'fence' | 'tables';

/** A right the current role lacks on one side, with the GRANT that fixes it. */
interface MissingRight {
  side: RegionRole;
  name: string;
  grant: string;
}

const SIDES: readonly RegionRole[] = ['primary', 'secondary'];

/** Superusers hold everything; otherwise each applicable right, plus the probe and checked tables. */
async function missingOn(
  ctx: PgContext,
  side: RegionRole,
  scope: RightsScope,
): Promise<MissingRight[]> {
  return ctx.withClient(side, 'checking the bot role’s rights', async (c) => {
    const who = await c.query<{ role: string; su: boolean; v: number }>(
      `SELECT current_user AS role, rolsuper AS su, current_setting('server_version_num')::int AS v
         FROM pg_roles WHERE rolname = current_user`,
    );
    const { role, su, v } = who.rows[0]!;
    if (su) return [];
    const rights: { name: string; held: string; grant: string }[] =
      scope === 'tables'
        ? []
        : PG_RIGHTS.filter(
            (r) =>
              (r.minVersion ?? 0) <= v &&
              (!r.fence || r.fence === ctx.opts.fence.method) &&
              (scope === 'all' || !r.ownServers),
          ).map((r) => ({ ...r, grant: r.grant.replace('ROLE', quoteIdent(role)) }));
    if (scope !== 'tables') rights.push(...roleFenceRights(ctx, role, v));
    rights.push(...extraRights(ctx, role));
    const { rows } = await c.query<Record<string, boolean | null>>(
      `SELECT ${rights.map((r, i) => `(${r.held}) AS r${i}`).join(', ')}`,
    );
    return rights
      .filter((_, i) => rows[0]![`r${i}`] !== true)
      .map((r) => ({ side, name: r.name, grant: r.grant }));
  });
}

/** The write probe's table (or a schema to create it in) and the tables consistency reads. */
function extraRights(
  ctx: PgContext,
  role: string,
): { name: string; held: string; grant: string }[] {
  const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  const out: { name: string; held: string; grant: string }[] = [];
  if (!ctx.opts.probe.statement) {
    const t = q(quoteIdent(ctx.opts.probe.table));
    out.push({
      name: `the write probe table ${ctx.opts.probe.table} (create it, or insert and update it)`,
      held: `CASE WHEN to_regclass(${t}) IS NULL THEN has_schema_privilege(current_schema(), 'CREATE')
              ELSE has_table_privilege(to_regclass(${t}), 'INSERT, UPDATE') END`,
      grant: `CREATE SCHEMA IF NOT EXISTS dr_bot AUTHORIZATION ${quoteIdent(role)}; ALTER ROLE ${quoteIdent(role)} SET search_path = dr_bot, public;`,
    });
  }
  for (const table of ctx.opts.consistencyTables) {
    const t = q(quoteIdent(table));
    out.push({
      name: `SELECT on ${table} (consistency check)`,
      held: `to_regclass(${t}) IS NULL OR has_table_privilege(to_regclass(${t}), 'SELECT')`,
      grant: `GRANT SELECT ON ${quoteIdent(table)} TO ${quoteIdent(role)};`,
    });
  }
  return out;
}

/** Every missing right on each reachable side (an unreachable side is the readiness's concern). */
async function missingRights(ctx: PgContext, scope: RightsScope): Promise<MissingRight[]> {
  const per = await Promise.all(
    SIDES.map((side) =>
      missingOn(ctx, side, scope).catch((err: unknown) => {
        if (err instanceof DrError && err.retryable) return [];
        throw err;
      }),
    ),
  );
  return per.flat();
}

/**
 * Readiness with the missing rights folded in: blocked, one line per right naming it and the
 * GRANT to run on the primary (the standby receives it by replication).
 */
export async function withRights(
  ctx: PgContext,
  readiness: () => Promise<ComponentReadiness>,
  scope: RightsScope = 'all',
): Promise<ComponentReadiness> {
  // Side by side: a missing right may be why the readiness itself fails.
  const [judged, missing] = await Promise.all([
    readiness().catch((err: unknown) => err as Error),
    missingRights(ctx, scope),
  ]);
  if (missing.length === 0) {
    if (judged instanceof Error) throw judged;
    return judged;
  }
  const r: ComponentReadiness =
    judged instanceof Error
      ? {
          component: 'database',
          status: 'blocked',
          summary: judged.message,
          details: { error: judged.message },
          planFacts: {},
        }
      : judged;
  const lines = missing.map(
    (m) => `${m.side}: missing ${m.name}: run on the primary \`${m.grant}\``,
  );
  return {
    ...r,
    status: 'blocked',
    summary: `the bot's role lacks ${missing.length} right${missing.length === 1 ? '' : 's'}: ${lines.join('; ')}`,
    details: { ...r.details, missingRights: lines },
    planFacts: { ...r.planFacts, missingRights: missing.length },
    warnings: [...(r.warnings ?? []), ...lines],
  };
}
