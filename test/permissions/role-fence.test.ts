/**
 * The role fence (fence.method `role`) on lab servers, with the bot's least-privilege role plus
 * deploy/permissions/postgres-role-fence.sql and no superuser: preflight checks exactly the
 * rights this method needs; a failover makes the application role's new sessions read-only and
 * ends its old ones; the failback lifts it again.
 */
import pg from 'pg';
import type { LabInfo } from '../../src/lab/index.js';
import { applyRoleFenceGrants, BOT_PG_ROLE, botPgUrl } from '../../src/lab/permissions.js';
import { labResyncCommand } from '../../src/lab/resync-command.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import { createWriteLoadProvider } from '../../src/providers/write-load.js';
import { labPostgresProvider, silentLog, sql, startLab, stopLabs, until } from '../support/lab.js';

let lab: LabInfo;
let provider: DatabaseProvider;
let adminP: string;
let adminS: string;
const appUrl = (port: number): string => `postgresql://app@127.0.0.1:${port}/postgres`;
const progress = (): void => undefined;

beforeAll(async () => {
  lab = await startLab();
  adminP = lab.postgres.primary.url;
  adminS = lab.postgres.secondary.url;
  // The application: its own login role writing its own table.
  await sql(adminP, 'CREATE ROLE app LOGIN');
  await sql(adminP, 'CREATE TABLE public.orders (id serial PRIMARY KEY, note text)');
  await sql(adminP, 'GRANT SELECT, INSERT ON public.orders TO app');
  await sql(adminP, 'GRANT USAGE ON SEQUENCE public.orders_id_seq TO app');
  await applyRoleFenceGrants(adminP);
  await replicated(`SELECT rolcreaterole FROM pg_roles WHERE rolname = '${BOT_PG_ROLE}'`);
  provider = labPostgresProvider(
    botPgUrl(lab.postgres.primary.port),
    botPgUrl(lab.postgres.secondary.port),
    {
      fence: { method: 'role', roles: ['app'] },
      resync: { command: labResyncCommand(lab.dir), timeoutSeconds: 300 },
    },
  );
});

afterAll(async () => {
  await provider?.close();
  await stopLabs();
});

/** Wait until the standby has replayed what makes the scalar query `check` return `want` there. */
async function replicated(check: string, want = true): Promise<void> {
  await until('the standby to replay the change', async () => {
    const [row] = await sql<{ v: unknown }>(adminS, `SELECT (${check}) AS v`);
    return row?.v === want;
  });
}

/** Insert as the application on `port`; the error message when refused. */
async function appInsert(port: number, note: string): Promise<string> {
  try {
    await sql(appUrl(port), 'INSERT INTO public.orders (note) VALUES ($1)', [note]);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

async function nothingChanged(): Promise<unknown> {
  return {
    standby: (await sql(adminS, 'SELECT pg_is_in_recovery() AS r'))[0],
    roleSettings: await sql(adminP, 'SELECT setconfig FROM pg_db_role_setting ORDER BY 1'),
  };
}

test('preflight checks the role fence’s rights, not ALTER SYSTEM: without CREATEROLE a red row names it; the fence is refused and nothing changes', async () => {
  // Not needed by this method: its absence must not block.
  await sql(
    adminP,
    `REVOKE ALTER SYSTEM ON PARAMETER default_transaction_read_only FROM ${BOT_PG_ROLE}`,
  );
  await replicated(
    `SELECT has_parameter_privilege('${BOT_PG_ROLE}', 'default_transaction_read_only', 'ALTER SYSTEM')`,
    false,
  );
  expect((await provider.readiness('secondary')).status).toBe('ready');

  await sql(adminP, `ALTER ROLE ${BOT_PG_ROLE} NOCREATEROLE`);
  await replicated(`SELECT rolcreaterole FROM pg_roles WHERE rolname = '${BOT_PG_ROLE}'`, false);
  const before = await nothingChanged();
  const r = await provider.readiness('secondary');
  expect(r.status).toBe('blocked');
  expect(r.summary).toContain(
    `primary: missing ALTER ROLE app (the role fence): run on the primary \`ALTER ROLE "${BOT_PG_ROLE}" CREATEROLE;\``,
  );
  expect(r.summary).toContain('secondary: missing ALTER ROLE app (the role fence)');
  // A promotion anyway is refused at the fence, all or nothing: the application still writes.
  await expect(
    provider.promote({ target: 'secondary', mode: 'planned', progress }),
  ).rejects.toThrow(/the role fence was refused .*nothing was fenced/);
  expect(await nothingChanged()).toEqual(before);
  expect(await appInsert(lab.postgres.primary.port, 'still writable')).toBe('ok');
  await applyRoleFenceGrants(adminP);
  await replicated(`SELECT rolcreaterole FROM pg_roles WHERE rolname = '${BOT_PG_ROLE}'`);
});

test('a superuser application role cannot be fenced: preflight names it', async () => {
  await sql(adminP, 'ALTER ROLE app SUPERUSER');
  try {
    await replicated(`SELECT rolsuper FROM pg_roles WHERE rolname = 'app'`);
    const r = await provider.readiness('secondary');
    expect(r.status).toBe('blocked');
    expect(r.summary).toContain(
      'primary: missing fence role app: an existing role that is not a superuser: run on the primary `ALTER ROLE "app" NOSUPERUSER;`',
    );
  } finally {
    await sql(adminP, 'ALTER ROLE app NOSUPERUSER');
  }
  await replicated(`SELECT rolsuper FROM pg_roles WHERE rolname = 'app'`, false);
  expect((await provider.readiness('secondary')).status).toBe('ready');
});

test('a planned failover with the role fence: the app’s old session is ended, its new ones are read-only, the new primary takes its writes, a drill load loses nothing; the bot is no superuser', async () => {
  const [me] = await sql<{ su: boolean }>(
    botPgUrl(lab.postgres.primary.port),
    'SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user',
  );
  expect(me!.su).toBe(false);
  const old = new pg.Client({ connectionString: appUrl(lab.postgres.primary.port) });
  old.on('error', () => undefined);
  await old.connect();
  await old.query(`INSERT INTO public.orders (note) VALUES ('before')`);
  // A drill's write load, as the bot's role: it must obey the role fence like the application.
  const load = createWriteLoadProvider({
    postgres: {
      primaryUrl: botPgUrl(lab.postgres.primary.port),
      secondaryUrl: botPgUrl(lab.postgres.secondary.port),
      fence: { method: 'role', roles: ['app'] },
    },
    intervalMs: 10,
    log: silentLog,
  });
  await load.start({ runId: 'ROLE-1', progress });
  await until(
    'load writes on the primary',
    async () => (load.sample()?.database?.onPrimary ?? 0) >= 5,
  );

  const result = await provider.promote({ target: 'secondary', mode: 'planned', progress });
  await until(
    'load writes on the new primary',
    async () => (load.sample()?.database?.onSecondary ?? 0) >= 5,
  );
  const drill = await load.stop({ runId: 'ROLE-1', progress });
  expect(drill.evidence.database).toMatchObject({ writer: 'secondary', lost: 0 });
  expect(drill.rpo[0]!.description).toMatch(/^zero loss/);
  expect(result.evidence).toMatchObject({ fenceMethod: 'role', fencedSide: 'primary' });
  expect(result.evidence.terminatedSessions).toBeGreaterThanOrEqual(1);
  // The fence replicated with the catalog; the promotion lifted it on the new primary.
  expect(result.evidence.unfenced).toBe(true);

  await expect(old.query('SELECT 1')).rejects.toThrow();
  await old.end().catch(() => undefined);
  expect(await appInsert(lab.postgres.primary.port, 'after, old primary')).toMatch(
    /read-only transaction/,
  );
  const [fresh] = await sql(
    appUrl(lab.postgres.primary.port),
    'SHOW default_transaction_read_only',
  );
  expect(fresh).toEqual({ default_transaction_read_only: 'on' });
  expect(await appInsert(lab.postgres.secondary.port, 'after, new primary')).toBe('ok');
  const notes = await sql<{ note: string }>(
    appUrl(lab.postgres.secondary.port),
    'SELECT note FROM public.orders ORDER BY id',
  );
  expect(notes.map((n) => n.note)).toEqual(['still writable', 'before', 'after, new primary']);
});

test('the failback rejoins the old primary, fences the app on the secondary and lifts it on the primary', async () => {
  const resynced = await provider.resync({ standby: 'primary', progress });
  expect(resynced.summary).toMatch(/streaming from secondary/);
  const back = await provider.promote({ target: 'primary', mode: 'planned', progress });
  expect(back.evidence).toMatchObject({ fenceMethod: 'role', fencedSide: 'secondary' });
  expect(await appInsert(lab.postgres.primary.port, 'failed back')).toBe('ok');
  expect(await appInsert(lab.postgres.secondary.port, 'refused')).toMatch(/read-only transaction/);
  const notes = await sql<{ note: string }>(
    appUrl(lab.postgres.primary.port),
    'SELECT note FROM public.orders ORDER BY id',
  );
  expect(notes.map((n) => n.note)).toEqual([
    'still writable',
    'before',
    'after, new primary',
    'failed back',
  ]);
});
