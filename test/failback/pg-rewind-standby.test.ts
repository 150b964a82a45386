/**
 * deploy/resync/pg-rewind-standby.sh against lab servers, run as the data directory's owner with
 * the resync role of deploy/resync/resync-role.sql (not a superuser, not the bot's role): it
 * refuses a wrong direction untouched; as the bot's resync command it rewinds a diverged old
 * primary into a streaming standby; when pg_rewind cannot work it exits 4, and the rebuild then
 * brings the server back as a streaming standby.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labUser, type LabInfo, type PgServerInfo } from '../../src/lab/index.js';
import { botPgUrl } from '../../src/lab/permissions.js';
import type { DatabaseProvider } from '../../src/providers/types.js';
import { labPostgresProvider, sql, startLab, stopLabs, until } from '../support/lab.js';

const SCRIPT = fileURLToPath(new URL('../../deploy/resync/pg-rewind-standby.sh', import.meta.url));
const ROLE_SQL = fileURLToPath(new URL('../../deploy/resync/resync-role.sql', import.meta.url));
const progress = (): void => undefined;

let lab: LabInfo;
let provider: DatabaseProvider;
/** The script as installed on the database host: a copy the lab's user can read (a checkout may not be). */
let script: string;

/** The host settings of `server`'s script, following `source` as the resync role. */
function hostEnv(server: PgServerInfo, source: PgServerInfo): Record<string, string> {
  return {
    PGDATA: server.dataDir,
    PGBIN: lab.postgres.bindir,
    SOURCE_CONNINFO: `host=127.0.0.1 port=${source.port} user=dr_resync dbname=postgres`,
    LOCAL_CONNINFO: `host=127.0.0.1 port=${server.port} user=postgres dbname=postgres`,
    PG_CTL_OPTIONS: `-p ${server.port} -c cluster_name=${server.name}`,
    STANDBY_WAIT_SECONDS: '60',
    RESYNC_ENV_FILE: '/dev/null',
  };
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script as a shell command line run as the lab's database user, with `env` set. */
function commandLine(env: Record<string, string>): string {
  const user = labUser();
  const asUser = user.uid === undefined ? [] : ['runuser', '-u', user.name, '--'];
  const vars = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  return [...asUser, 'env', ...vars, '/bin/sh', quote(script)].join(' ');
}

/** Run the script by hand with `method` from `cwd`; its exit code and output. */
function runScript(
  env: Record<string, string>,
  method: string,
  cwd = dirname(env.PGDATA ?? '/'),
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', `${commandLine(env)} ${method} 2>&1`],
      { cwd, timeout: 240_000 },
      (err, stdout) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, out: String(stdout) });
      },
    );
  });
}

async function role(url: string): Promise<{ standby: boolean; receiver: string | null }> {
  const [r] = await sql<{ standby: boolean; receiver: string | null }>(
    url,
    `SELECT pg_is_in_recovery() AS standby, (SELECT status FROM pg_stat_wal_receiver) AS receiver`,
  );
  return r!;
}

const notes = async (url: string): Promise<string[]> =>
  (await sql<{ note: string }>(url, 'SELECT note FROM public.notes ORDER BY id')).map(
    (n) => n.note,
  );

/** Promote `to` behind the writer's back and write on both: two histories, as after a failover. */
async function diverge(from: PgServerInfo, to: PgServerInfo, n: number): Promise<void> {
  await sql(to.url, 'SELECT pg_promote(true, 60)');
  await sql(from.url, `INSERT INTO public.notes (note) VALUES ('lost ${n}')`);
  await sql(to.url, `INSERT INTO public.notes (note) VALUES ('kept ${n}')`);
}

beforeAll(async () => {
  lab = await startLab();
  script = join(lab.dir, 'pg-rewind-standby.sh');
  copyFileSync(SCRIPT, script);
  chmodSync(script, 0o755);
  const { primary, secondary } = lab.postgres;
  await sql(primary.url, readFileSync(ROLE_SQL, 'utf8'));
  await sql(primary.url, 'CREATE TABLE public.notes (id serial PRIMARY KEY, note text)');
  await sql(primary.url, `INSERT INTO public.notes (note) VALUES ('common')`);
  await until('the standby to replay the setup', async () =>
    (await notes(secondary.url)).includes('common'),
  );
  provider = labPostgresProvider(botPgUrl(primary.port), botPgUrl(secondary.port), {
    resync: { command: commandLine(hostEnv(primary, secondary)), timeoutSeconds: 240 },
  });
});

afterAll(async () => {
  await provider?.close();
  await stopLabs();
});

test('refuses bad settings and a source that is not the primary, changing nothing (exit 2, 3)', async () => {
  const { primary, secondary } = lab.postgres;
  const bad = await runScript({ ...hostEnv(primary, secondary), PGDATA: '' }, 'rewind');
  expect(bad.code).toBe(2);
  expect(bad.out).toMatch(/FAILED \(exit 2\): PGDATA is not set/);
  const notData = await runScript({ ...hostEnv(primary, secondary), PGDATA: '/etc' }, 'rebuild');
  expect(notData.code).toBe(2);
  expect(notData.out).toMatch(/holds files but no PG_VERSION: not emptying/);
  const method = await runScript(hostEnv(primary, secondary), 'sideways');
  expect(method.code).toBe(2);
  expect(method.out).toMatch(/method must be rewind, rebuild or auto, got "sideways"/);
  // The writer's own host told to follow its standby: the wrong direction.
  const wrong = await runScript(hostEnv(primary, secondary), 'rewind');
  expect(wrong.code).toBe(3);
  expect(wrong.out).toMatch(/the source is in recovery: it is not the primary to follow/);
  expect(await role(primary.url)).toEqual({ standby: false, receiver: null });
  expect(await role(secondary.url)).toEqual({ standby: true, receiver: 'streaming' });
});

test('as the bot’s resync command, it rewinds a diverged old primary into a streaming standby', async () => {
  const { primary, secondary } = lab.postgres;
  await diverge(primary, secondary, 1);
  const result = await provider.resync({ standby: 'primary', progress });
  expect(result.summary).toMatch(/primary rewound \(pg_rewind\) and streaming from secondary/);
  expect(String(result.evidence.output)).toMatch(/done: rewound with pg_rewind, streaming/);
  expect(await role(primary.url)).toEqual({ standby: true, receiver: 'streaming' });
  // The old primary's own write after the split is gone; the new primary's arrives.
  await sql(secondary.url, `INSERT INTO public.notes (note) VALUES ('after 1')`);
  await until('the rejoined standby to replay a new write', async () =>
    (await notes(primary.url)).includes('after 1'),
  );
  expect(await notes(primary.url)).toEqual(['common', 'kept 1', 'after 1']);
});

test('when pg_rewind cannot work (wal_log_hints off), rewind exits 4 and the rebuild rejoins it', async () => {
  const { primary, secondary } = lab.postgres;
  // The writer (secondary now) without hint-bit logging: pg_rewind refuses to rewind it later.
  await sql(secondary.url, 'ALTER SYSTEM SET wal_log_hints = off');
  await restart(secondary);
  expect((await sql(secondary.url, 'SHOW wal_log_hints'))[0]).toEqual({ wal_log_hints: 'off' });
  await until(
    'the standby to stream again',
    async () => (await role(primary.url)).receiver === 'streaming',
  );
  await diverge(secondary, primary, 2);

  const rewind = await runScript(hostEnv(secondary, primary), 'rewind');
  expect(rewind.code).toBe(4);
  expect(rewind.out).toMatch(/wal_log_hints/);
  expect(rewind.out).toMatch(/FAILED \(exit 4\): pg_rewind failed; the server is stopped/);

  const rebuild = await runScript(hostEnv(secondary, primary), 'rebuild');
  expect(rebuild.out).toMatch(/done: rebuilt with pg_basebackup, streaming from the source/);
  expect(rebuild.code).toBe(0);
  expect(await role(secondary.url)).toEqual({ standby: true, receiver: 'streaming' });
  await sql(primary.url, `INSERT INTO public.notes (note) VALUES ('after 2')`);
  await until('the rebuilt standby to replay a new write', async () =>
    (await notes(secondary.url)).includes('after 2'),
  );
  expect(await notes(secondary.url)).toEqual(['common', 'kept 1', 'after 1', 'kept 2', 'after 2']);
});

test('by hand (method auto) it rewinds where it can and rebuilds where pg_rewind refuses', async () => {
  const { primary, secondary } = lab.postgres;
  // The primary (hint bits logged) diverges: auto rewinds it, run from a directory the database
  // user cannot enter, as with `sudo -u postgres` from /root (mkdtemp makes it 0700; as root,
  // the lab's user is another user).
  await diverge(primary, secondary, 3);
  const closed = mkdtempSync(join(tmpdir(), 'dr-closed-'));
  const rewound = await runScript(hostEnv(primary, secondary), '', closed).finally(() =>
    rmSync(closed, { recursive: true }),
  );
  expect(rewound.out).not.toMatch(/Permission denied/);
  expect(rewound.out).toMatch(/method auto/);
  expect(rewound.out).toMatch(/done: rewound with pg_rewind/);
  expect(rewound.code).toBe(0);
  // The secondary kept wal_log_hints = off (its own postgresql.auto.conf survives the copy).
  expect((await sql(secondary.url, 'SHOW wal_log_hints'))[0]).toEqual({ wal_log_hints: 'off' });
  await diverge(secondary, primary, 4);
  const rebuilt = await runScript(hostEnv(secondary, primary), '');
  expect(rebuilt.out).toMatch(/pg_rewind failed: rebuilding with pg_basebackup/);
  expect(rebuilt.out).toMatch(/done: rebuilt with pg_basebackup/);
  expect(rebuilt.code).toBe(0);
  expect(await role(secondary.url)).toEqual({ standby: true, receiver: 'streaming' });
  const want = ['common', 'kept 1', 'after 1', 'kept 2', 'after 2', 'kept 3', 'kept 4'];
  await until(
    'the rebuilt standby to hold the primary’s rows',
    async () => (await notes(secondary.url)).join() === want.join(),
  );
});

/** Restart a lab server with its own options (pg_ctl restart reuses them), as the lab user. */
async function restart(server: PgServerInfo): Promise<void> {
  const user = labUser();
  const asUser = user.uid === undefined ? '' : `runuser -u ${user.name} -- `;
  await new Promise<void>((resolve, reject) =>
    execFile(
      '/bin/sh',
      [
        '-c',
        `${asUser}${lab.postgres.bindir}/pg_ctl restart -D ${quote(server.dataDir)} -l ${quote(server.logFile)} -m fast -w`,
      ],
      { cwd: dirname(server.dataDir) },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}
