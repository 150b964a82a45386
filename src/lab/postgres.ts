/**
 * Lab PostgreSQL servers: initdb a primary tuned for a fast start and for later failback
 * (wal_log_hints, wal_keep_size, a replication slot), clone a streaming standby with
 * pg_basebackup -R, start/stop with pg_ctl. Every server command runs as the lab user because
 * PostgreSQL refuses to run as root.
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import pg from 'pg';
import { ProviderError } from '../errors.js';
import { commandOf, isAlive, run, waitFor, waitForExit, type LabUser } from './system.js';

export interface PgLabContext {
  bindir: string;
  user: LabUser;
  /** Unix socket directory, or '' for TCP only (socket paths are limited to ~107 bytes). */
  socketDir: string;
  /**
   * An interrupted `dr lab up`: kills initdb and pg_basebackup and stops waiting. pg_ctl start is
   * left to finish (a second or so) so the postmaster it forks is always in postmaster.pid.
   */
  signal?: AbortSignal;
}

export interface PgServerInfo {
  name: string;
  port: number;
  /** Password-less: the lab trusts local connections. */
  url: string;
  dataDir: string;
  logFile: string;
  pid: number;
}

export function pgUrl(port: number): string {
  return `postgresql://postgres@127.0.0.1:${port}/postgres`;
}

/**
 * Settings shared by both sides. pg_basebackup and pg_rewind copy postgresql.conf from the source,
 * so nothing that differs per server (port, cluster_name) lives here: pgStart passes those.
 */
function labSettings(ctx: PgLabContext): string {
  return [
    '',
    '# dr lab',
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${ctx.socketDir}'`,
    'max_connections = 40',
    'shared_buffers = 16MB',
    // A lab: losing it to a power cut costs nothing, starting fast matters.
    'fsync = off',
    // Failback rewinds the old primary: pg_rewind needs hint bits logged, full pages and old WAL.
    'wal_level = replica',
    'wal_log_hints = on',
    'full_page_writes = on',
    'wal_keep_size = 256MB',
    'max_wal_senders = 10',
    'max_replication_slots = 10',
    'hot_standby = on',
    'hot_standby_feedback = on',
    'wal_receiver_status_interval = 1s',
    // Reconnect quickly after a failover or a restart instead of the default 5 s.
    'wal_retrieve_retry_interval = 1s',
    'log_min_messages = warning',
    "log_line_prefix = '%m [%p] %q%a '",
    '',
  ].join('\n');
}

function chownTree(path: string, user: LabUser): void {
  if (user.uid === undefined) return;
  chownSync(path, user.uid, user.gid ?? user.uid);
}

/** The running postmaster's pid from postmaster.pid, if it is still alive. */
export function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Start a lab server on its own port; `name` becomes its cluster_name (process titles, logs). */
export async function pgStart(
  ctx: PgLabContext,
  server: Pick<PgServerInfo, 'dataDir' | 'logFile' | 'name' | 'port'>,
): Promise<number> {
  if (!/^[a-z0-9-]+$/.test(server.name))
    throw new ProviderError(
      'lab',
      `lab server name "${server.name}" must be lower-case letters, digits and dashes`,
    );
  // pg_ctl detaches the postmaster (its own session, output to the log file), so it outlives us.
  const options = `-p ${server.port} -c cluster_name=${server.name}`;
  await run(
    join(ctx.bindir, 'pg_ctl'),
    ['start', '-w', '-t', '60', '-D', server.dataDir, '-l', server.logFile, '-o', options],
    {
      user: ctx.user,
      cwd: server.dataDir,
      timeoutMs: 70_000,
    },
  );
  const pid = postmasterPid(server.dataDir);
  if (pid === undefined)
    throw new ProviderError(
      'lab',
      `${server.name}: pg_ctl reported a start but no postmaster is running; see ${server.logFile}`,
    );
  return pid;
}

/**
 * Stop a server. `immediate` is what a crash looks like to the standby (no shutdown checkpoint);
 * falls back to SIGKILL by pid when pg_ctl cannot do it.
 */
export async function pgStop(
  ctx: PgLabContext,
  dataDir: string,
  mode: 'immediate' | 'fast' = 'immediate',
  knownPid?: number,
): Promise<void> {
  const pid = postmasterPid(dataDir) ?? knownPid;
  if (pid === undefined || !isAlive(pid)) return;
  try {
    await run(join(ctx.bindir, 'pg_ctl'), ['stop', '-w', '-t', '30', '-m', mode, '-D', dataDir], {
      user: ctx.user,
      cwd: dataDir,
      timeoutMs: 40_000,
    });
  } catch {
    // Data dir gone or pg_ctl confused: fall through to the pid.
  }
  if (isAlive(pid) && (commandOf(pid) ?? '').includes('postgres')) process.kill(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 15_000)))
    throw new ProviderError('lab', `postgres pid ${pid} (${dataDir}) did not exit`);
}

export async function pgQuery<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 3000,
    application_name: 'dr-lab',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * CREATE EXTENSION `name` in the `postgres` database (the one the lab's URLs name) when this
 * PostgreSQL ships it; false, and nothing done, when it does not (no contrib package, too old).
 */
export async function ensureExtension(url: string, name: string): Promise<boolean> {
  const available = await pgQuery(url, 'SELECT 1 FROM pg_available_extensions WHERE name = $1', [
    name,
  ]);
  if (available.length === 0) return false;
  await pgQuery(url, `CREATE EXTENSION IF NOT EXISTS "${name.replace(/"/g, '""')}"`);
  return true;
}

/** initdb a new cluster and start it as a writer. */
export async function createPrimary(
  ctx: PgLabContext,
  opts: { dataDir: string; port: number; name: string; logFile: string },
): Promise<PgServerInfo> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  chownTree(opts.dataDir, ctx.user);
  await run(
    join(ctx.bindir, 'initdb'),
    [
      '-D',
      opts.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ],
    { user: ctx.user, cwd: opts.dataDir, timeoutMs: 120_000, signal: ctx.signal },
  );
  appendFileSync(join(opts.dataDir, 'postgresql.conf'), labSettings(ctx));
  const pid = await pgStart(ctx, opts);
  return {
    name: opts.name,
    port: opts.port,
    url: pgUrl(opts.port),
    dataDir: opts.dataDir,
    logFile: opts.logFile,
    pid,
  };
}

/** Clone `primary` with pg_basebackup -R over a new physical slot, start it and wait until it streams. */
export async function createStandby(
  ctx: PgLabContext,
  primary: PgServerInfo,
  opts: { dataDir: string; port: number; name: string; logFile: string; slot: string },
): Promise<PgServerInfo> {
  await run(
    join(ctx.bindir, 'pg_basebackup'),
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      opts.dataDir,
      '-R',
      '-C',
      '-S',
      opts.slot,
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ],
    { user: ctx.user, cwd: primary.dataDir, timeoutMs: 120_000, signal: ctx.signal },
  );
  ctx.signal?.throwIfAborted();
  const pid = await pgStart(ctx, opts);
  const url = pgUrl(opts.port);
  await waitFor(
    `${opts.name} to stream from ${primary.name}`,
    30_000,
    async () => {
      const rows = await pgQuery<{ status: string }>(
        url,
        'SELECT status FROM pg_stat_wal_receiver',
      );
      return rows[0]?.status === 'streaming' ? true : undefined;
    },
    ctx.signal,
  );
  return {
    name: opts.name,
    port: opts.port,
    url,
    dataDir: opts.dataDir,
    logFile: opts.logFile,
    pid,
  };
}

/**
 * Make `server` a streaming standby of `source` again (the lab's failback resync): pg_rewind when
 * it can, a fresh pg_basebackup when it cannot, over physical slot `slot` on the source.
 */
/**
 * The host work of making `server` a streaming standby of `source` over `slot`: stop it, rewind
 * it with pg_rewind (or replace it with a pg_basebackup), point it at the slot, start it and wait
 * until it streams. Returns the new postmaster pid. Shared by `dr lab resync` and the lab tests.
 */
export async function resyncServer(
  ctx: PgLabContext,
  opts: { server: PgServerInfo; source: PgServerInfo; slot: string; method: 'rewind' | 'rebuild' },
): Promise<number> {
  const { server, source, slot, method } = opts;
  const cwd = dirname(server.dataDir);
  // pg_rewind needs the target shut down; it runs crash recovery itself after an immediate stop.
  await pgStop(ctx, server.dataDir, 'fast', server.pid);
  // Without a checkpoint the new primary's control file still shows the old timeline and pg_rewind does nothing.
  await pgQuery(source.url, 'CHECKPOINT');
  await pgQuery(
    source.url,
    `SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
    [slot],
  );
  if (method === 'rewind') {
    // -R writes standby.signal and a primary_conninfo pointing at the source.
    await run(
      join(ctx.bindir, 'pg_rewind'),
      [
        '-D',
        server.dataDir,
        '--source-server',
        `host=127.0.0.1 port=${source.port} user=postgres dbname=postgres`,
        '-R',
      ],
      {
        user: ctx.user,
        cwd,
        timeoutMs: 300_000,
      },
    );
  } else {
    rmSync(server.dataDir, { recursive: true, force: true });
    await run(
      join(ctx.bindir, 'pg_basebackup'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(source.port),
        '-U',
        'postgres',
        '-D',
        server.dataDir,
        '-R',
        '-S',
        slot,
        '-X',
        'stream',
        '-c',
        'fast',
        '--no-sync',
      ],
      { user: ctx.user, cwd, timeoutMs: 300_000 },
    );
  }
  // Both copy the source's postgresql.auto.conf, which names the source's own former slot: the last line wins.
  appendFileSync(join(server.dataDir, 'postgresql.auto.conf'), `primary_slot_name = '${slot}'\n`);
  const pid = await pgStart(ctx, server);
  await waitFor(`${server.name} to stream from ${source.name}`, 30_000, async () => {
    const rows = await pgQuery<{ status: string }>(
      server.url,
      'SELECT status FROM pg_stat_wal_receiver',
    );
    return rows[0]?.status === 'streaming' ? true : undefined;
  });
  return pid;
}

/** Rewind `server` as a standby of `source`; when pg_rewind fails, rebuild it with pg_basebackup. */
export async function resyncAsStandby(
  ctx: PgLabContext,
  opts: { server: PgServerInfo; source: PgServerInfo; slot: string },
): Promise<{ method: 'pg_rewind' | 'pg_basebackup'; pid: number; rewindError?: string }> {
  try {
    return { method: 'pg_rewind', pid: await resyncServer(ctx, { ...opts, method: 'rewind' }) };
  } catch (err) {
    const rewindError = err instanceof Error ? err.message : String(err);
    return {
      method: 'pg_basebackup',
      pid: await resyncServer(ctx, { ...opts, method: 'rebuild' }),
      rewindError,
    };
  }
}

export interface PgStatus {
  name: string;
  url: string;
  pid: number | null;
  healthy: boolean;
  role?: 'primary' | 'standby';
  /** A primary fenced by a failover (default_transaction_read_only). */
  readOnly?: boolean;
  /** Standby: WAL received but not yet replayed; primary: WAL its slowest standby has not replayed. */
  lagBytes?: number | null;
  error?: string;
}

export async function pgStatus(server: PgServerInfo): Promise<PgStatus> {
  const pid = postmasterPid(server.dataDir) ?? null;
  try {
    const [row] = await pgQuery<{ standby: boolean; lag: string | null; read_only: string }>(
      server.url,
      `SELECT pg_is_in_recovery() AS standby,
              CASE WHEN pg_is_in_recovery()
                   THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                   ELSE (SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) FROM pg_stat_replication)
              END::text AS lag,
              current_setting('default_transaction_read_only') AS read_only`,
    );
    return {
      name: server.name,
      url: server.url,
      pid,
      healthy: true,
      role: row.standby ? 'standby' : 'primary',
      readOnly: row.read_only === 'on',
      lagBytes: row.lag === null ? null : Number(row.lag),
    };
  } catch (err) {
    return {
      name: server.name,
      url: server.url,
      pid,
      healthy: false,
      error: err instanceof Error ? err.message : String(err),
    };
  }
}
