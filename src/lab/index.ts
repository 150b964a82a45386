/**
 * The local two-region lab (DESIGN.md section 6): a PostgreSQL primary with a streaming standby
 * and a Redis primary with a replica, each on a free port under one directory, the cloud
 * simulators (by default), a separate Redis as the bot's own state store, a bot config pointing at
 * all of it and DIR/lab.env with the rest of what `dr start` needs. Everything is a detached
 * process recorded by pid in DIR/lab.json, so `dr lab up` can exit and a later `dr lab down` stops
 * exactly what was started.
 */
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PreconditionFailed } from '../errors.js';
import { labConfig, writeLabConfig } from './config.js';
import { LAB_ENV_FILE, writeLabEnv } from './env-file.js';
import {
  createPrimary,
  createStandby,
  ensureExtension,
  pgStatus,
  pgStop,
  pgUrl,
  type PgLabContext,
  type PgServerInfo,
  type PgStatus,
} from './postgres.js';
import {
  redisFiles,
  redisStatus,
  redisUrl,
  startRedis,
  stopRedis,
  type RedisServerInfo,
  type RedisStatus,
} from './redis.js';
import {
  commandOf,
  findPostgresBin,
  findRedisServer,
  freePorts,
  isAlive,
  killLabProcessesIn,
  labUser,
  run,
  waitForExit,
  type LabUser,
} from './system.js';
import { cloudState, labCloud, simulatorsPart, type CloudState } from './simulators/index.js';
import type { LabInfo, LabOutage, LabPart, LabSimulatorInfo } from './types.js';

export type { LabInfo, LabOutage, LabPart, LabSimulatorInfo } from './types.js';
export type { PgServerInfo, PgStatus, PgLabContext } from './postgres.js';
export type { RedisServerInfo, RedisStatus } from './redis.js';
export { LAB_APPROVERS, LAB_CHANNEL, labConfig, writeLabConfig } from './config.js';
export {
  createPrimary,
  createStandby,
  ensureExtension,
  pgStart,
  pgStop,
  pgQuery,
  postmasterPid,
  resyncAsStandby,
} from './postgres.js';
export { startRedis, stopRedis } from './redis.js';
export { findPostgresBin, findRedisServer, freePorts, labUser } from './system.js';
export { LAB_ENV_FILE, readLabEnv } from './env-file.js';
export {
  simulatorsPart,
  labCloud,
  cloudState,
  setRegionHealth,
  type LabCloud,
  type CloudState,
  type CloudWorkloadState,
} from './simulators/index.js';

export const LAB_FILE = 'lab.json';
export const LAB_CONFIG_FILE = 'dr.config.yaml';
const SLOT = 'lab_secondary';
/** Unix socket paths are limited to ~107 bytes: beyond that the lab uses TCP only. */
const MAX_SOCKET_DIR = 80;

export interface LabUpOptions {
  /** Where to put everything; default a new directory under the system temp dir. */
  dir?: string;
  /**
   * Parts started after the data tier, in order. Default: the cloud simulators, so the config
   * runs a whole failover; data-tier tests pass [] to skip them.
   */
  parts?: readonly LabPart[];
  /**
   * CREATE EXTENSION pg_walinspect on the primary where this PostgreSQL ships it (default true),
   * so a failback counts the transactions an old primary would lose; tests of the case without
   * it pass false.
   */
  walinspect?: boolean;
  /**
   * Interrupts the start (`dr lab up` on SIGINT/SIGTERM): what was started is stopped, the
   * directory removed, and labUp rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export function defaultLabParts(): LabPart[] {
  return [simulatorsPart()];
}

function prepareDir(dir: string | undefined, user: LabUser): { dir: string; created: boolean } {
  let target: string;
  let created = true;
  if (dir === undefined) {
    target = mkdtempSync(join(tmpdir(), 'dr-lab-'));
  } else {
    target = resolve(dir);
    const kind = pathKind(target);
    if (kind === 'other') {
      throw new PreconditionFailed(
        `${target} exists and is not a directory: give \`dr lab up --dir\` a new path (it is created) or an empty directory`,
      );
    }
    if (kind === 'directory' && existsSync(join(target, LAB_FILE))) {
      const starting = readManifestQuietly(target)?.starting;
      throw new PreconditionFailed(
        starting
          ? `${target} holds a lab that did not finish starting (\`dr lab up\` was interrupted): run \`npx dr lab down --dir ${target}\` to stop what it started, then start again`
          : `a lab already lives in ${target} (${LAB_FILE} exists): run \`npx dr lab down --dir ${target}\` first or choose another --dir`,
      );
    }
    if (kind === 'directory') {
      const entries = readdirSync(target);
      if (entries.length > 0) {
        const shown =
          entries.slice(0, 3).join(', ') +
          (entries.length > 3 ? `, … (${entries.length} entries)` : '');
        throw new PreconditionFailed(
          `${target} is not empty (it holds ${shown}) and is not a lab: \`dr lab up --dir\` needs a new or empty directory, because \`dr lab down\` deletes it; choose another --dir`,
        );
      }
    }
    created = kind === 'missing';
    try {
      mkdirSync(target, { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOTDIR' || code === 'EEXIST'
          ? 'a part of that path is a file, not a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
      throw new PreconditionFailed(
        `cannot create the lab directory ${target}: ${why}; give \`dr lab up --dir\` a path under a directory you can write to (e.g. /tmp)`,
        { cause: err },
      );
    }
  }
  // The servers run as `user` and keep their data, sockets and logs here.
  if (user.uid !== undefined) chownSync(target, user.uid, user.gid ?? user.uid);
  return { dir: target, created };
}

function pathKind(path: string): 'missing' | 'directory' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; mkdir says so below.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new PreconditionFailed(`cannot look at ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Undo a failed `up`: delete what we made, but only empty a directory the user handed us. */
function removeDir(dir: string, created: boolean): void {
  if (!existsSync(dir)) return;
  if (created) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

/** A server recorded before it runs: its files are known, its pid not yet. */
type Pending<T extends { pid: number }> = Omit<T, 'pid'> & { pid?: number };

/**
 * DIR/lab.json from the moment `up` makes the directory: every server is recorded (data dir, pid
 * file) before it starts and again with its pid once it runs, so a `dr lab down` after an `up`
 * that was killed (even SIGKILL) stops exactly what it had started. `starting` is there until the
 * lab is complete; the finished lab.json is a LabInfo.
 */
interface LabManifest {
  dir: string;
  user?: string;
  starting?: { pid: number; since: string };
  postgres?: Partial<Pick<LabInfo['postgres'], 'bindir' | 'version' | 'slot' | 'walinspect'>> & {
    primary?: Pending<PgServerInfo>;
    secondary?: Pending<PgServerInfo>;
  };
  redis?: {
    version?: string;
    primary?: Pending<RedisServerInfo>;
    secondary?: Pending<RedisServerInfo>;
  };
  stateRedis?: Pending<RedisServerInfo>;
  simulators?: Record<string, LabSimulatorInfo>;
  /** Parts being started, by name: where their process writes its pid. */
  pendingParts?: Record<string, { pidFile: string }>;
}

function writeJsonAtomically(file: string, value: unknown): void {
  // A kill in the middle of a write must not leave half a lab.json: write aside, then rename.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

function pendingRedis(name: string, port: number, dir: string): Pending<RedisServerInfo> {
  return { name, port, url: redisUrl(port), dir, ...redisFiles(dir) };
}

/** Start the lab and return what is running where (also written to DIR/lab.json). */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const bindir = await findPostgresBin();
  const redisServer = findRedisServer();
  const user = labUser();
  const { dir, created } = prepareDir(opts.dir, user);
  const manifest: LabManifest = {
    dir,
    user: user.name,
    starting: { pid: process.pid, since: new Date().toISOString() },
    simulators: {},
  };
  const save = (): void => writeJsonAtomically(join(dir, LAB_FILE), manifest);
  const parts = opts.parts ?? defaultLabParts();
  try {
    save();
    try {
      await run('test', ['-w', dir, '-a', '-x', dir], { user, timeoutMs: 5000 });
    } catch {
      throw new PreconditionFailed(
        `${user.name} (the user the servers run as) cannot reach ${dir}: a parent directory is closed to it (e.g. /root is 0700). Use a --dir under /tmp or /var/tmp, or open the parent directories.`,
      );
    }
    const socketDir = join(dir, 'sockets');
    const useSockets = socketDir.length <= MAX_SOCKET_DIR;
    if (useSockets) {
      mkdirSync(socketDir, { mode: 0o700 });
      if (user.uid !== undefined) chownSync(socketDir, user.uid, user.gid ?? user.uid);
    }
    const ctx: PgLabContext = {
      bindir,
      user,
      socketDir: useSockets ? socketDir : '',
      ...(signal ? { signal } : {}),
    };
    const [pgPrimaryPort, pgSecondaryPort, redisPrimaryPort, redisSecondaryPort, stateRedisPort] =
      await freePorts(5);

    const [pgVersion, redisVersion] = await Promise.all([
      run(join(bindir, 'postgres'), ['--version'], { signal }).then((r) => r.stdout.trim()),
      run(redisServer, ['--version'], { signal }).then(
        (r) => /v=(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim(),
      ),
    ]);
    const pgInfo: NonNullable<LabManifest['postgres']> = (manifest.postgres = {
      bindir,
      version: pgVersion,
      slot: SLOT,
      walinspect: false,
    });
    const redisInfo: NonNullable<LabManifest['redis']> = (manifest.redis = {
      version: redisVersion,
    });
    save();
    const redisStart = async (
      name: string,
      port: number,
      sub: string,
      replicaOf?: { host: string; port: number },
    ): Promise<RedisServerInfo> =>
      startRedis({
        redisServer,
        name,
        port,
        dir: join(dir, sub),
        ...(replicaOf ? { replicaOf } : {}),
        ...(signal ? { signal } : {}),
      });
    const outcomes = await Promise.allSettled([
      (async () => {
        const primary = {
          name: 'lab-primary',
          port: pgPrimaryPort!,
          url: pgUrl(pgPrimaryPort!),
          dataDir: join(dir, 'pg-primary'),
          logFile: join(dir, 'pg-primary.log'),
        };
        pgInfo.primary = primary;
        save();
        const p = (pgInfo.primary = await createPrimary(ctx, primary));
        save();
        // Before the standby is cloned, so it has the extension too (a failback may analyse either side).
        if (opts.walinspect !== false)
          pgInfo.walinspect = await ensureExtension(p.url, 'pg_walinspect');
        const secondary = {
          name: 'lab-secondary',
          port: pgSecondaryPort!,
          url: pgUrl(pgSecondaryPort!),
          dataDir: join(dir, 'pg-secondary'),
          logFile: join(dir, 'pg-secondary.log'),
        };
        pgInfo.secondary = secondary;
        save();
        pgInfo.secondary = await createStandby(ctx, p, { ...secondary, slot: SLOT });
        save();
      })(),
      (async () => {
        redisInfo.primary = pendingRedis(
          'lab-primary',
          redisPrimaryPort!,
          join(dir, 'redis-primary'),
        );
        save();
        const p = (redisInfo.primary = await redisStart(
          'lab-primary',
          redisPrimaryPort!,
          'redis-primary',
        ));
        save();
        redisInfo.secondary = pendingRedis(
          'lab-secondary',
          redisSecondaryPort!,
          join(dir, 'redis-secondary'),
        );
        save();
        redisInfo.secondary = await redisStart(
          'lab-secondary',
          redisSecondaryPort!,
          'redis-secondary',
          { host: '127.0.0.1', port: p.port },
        );
        save();
      })(),
      (async () => {
        manifest.stateRedis = pendingRedis(
          'lab-bot-state',
          stateRedisPort!,
          join(dir, 'redis-bot-state'),
        );
        save();
        manifest.stateRedis = await redisStart('lab-bot-state', stateRedisPort!, 'redis-bot-state');
        save();
      })(),
    ]);
    signal?.throwIfAborted();
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;

    const info: LabInfo = {
      dir,
      user: user.name,
      createdAt: new Date().toISOString(),
      configPath: join(dir, LAB_CONFIG_FILE),
      postgres: manifest.postgres as LabInfo['postgres'],
      redis: manifest.redis as LabInfo['redis'],
      stateRedis: manifest.stateRedis as RedisServerInfo,
      envFile: join(dir, LAB_ENV_FILE),
      simulators: manifest.simulators!,
    };
    for (const part of parts) {
      signal?.throwIfAborted();
      if (part.pidFile) {
        (manifest.pendingParts ??= {})[part.name] = { pidFile: part.pidFile(info) };
        save();
      }
      Object.assign(info.simulators, await part.start(info));
      delete manifest.pendingParts?.[part.name];
      save();
    }
    signal?.throwIfAborted();
    const config = labConfig(info);
    for (const part of parts) part.configure?.(config, info);
    writeLabConfig(info.configPath, config);
    const env: Record<string, string> = {
      DR_CONFIG: info.configPath,
      REDIS_URL: info.stateRedis.url,
    };
    for (const part of parts) Object.assign(env, part.env?.(info));
    writeLabEnv(info.envFile, env, [
      `Written by \`dr lab up\`: what \`dr start\` needs for the lab in ${dir} besides its config.`,
      "No real secrets: REDIS_URL is the bot's own state Redis; the AWS keys only satisfy the SDK (the simulators do not check signatures).",
      `Use: . ${info.envFile}  then set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (SLACK_API_URL optional) and run \`npx dr start\`.`,
    ]);
    signal?.throwIfAborted();
    // Last: a lab.json without `starting` says the lab is complete.
    writeLabInfo(info);
    return info;
  } catch (err) {
    // Leave nothing half-started behind: the caller only sees the error.
    await stopAll(manifest).catch(() => undefined);
    await killLabProcessesIn(dir).catch(() => undefined);
    removeDir(dir, created);
    throw err;
  }
}

export function writeLabInfo(info: LabInfo): void {
  writeJsonAtomically(join(info.dir, LAB_FILE), info);
}

function readManifest(dir: string): LabManifest {
  const target = resolve(dir);
  const file = join(target, LAB_FILE);
  if (!existsSync(file)) {
    const what = !existsSync(target)
      ? `${target} does not exist`
      : pathKind(target) === 'directory'
        ? `${dir} is not a lab directory`
        : `${target} is not a directory`;
    throw new PreconditionFailed(
      `${file} not found: ${what} (start a lab with \`npx dr lab up --dir ${dir}\`)`,
      { code: 'not-found' },
    );
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabManifest;
  } catch (err) {
    throw new PreconditionFailed(
      `${file} is not readable as JSON (${(err as Error).message}): stop the lab's processes by hand, or fix the file`,
      { cause: err },
    );
  }
}

function readManifestQuietly(dir: string): LabManifest | undefined {
  try {
    return readManifest(dir);
  } catch {
    return undefined;
  }
}

/** DIR/lab.json of a lab that is up (a half-started one is refused: only `dr lab down` deals with it). */
export function readLabInfo(dir: string): LabInfo {
  const manifest = readManifest(dir);
  if (manifest.starting) {
    const { pid } = manifest.starting;
    const still =
      pid !== process.pid && isAlive(pid)
        ? ` (\`dr lab up\`, pid ${pid}, may still be running)`
        : ' (`dr lab up` was interrupted)';
    throw new PreconditionFailed(
      `the lab in ${manifest.dir} did not finish starting${still}: run \`npx dr lab down --dir ${dir}\` to stop what it started`,
    );
  }
  return manifest as LabInfo;
}

function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopSimulator(sim: Partial<LabSimulatorInfo>, dir: string): Promise<void> {
  let pid = sim.pid;
  if (pid === undefined && sim.pidFile) {
    pid = readPidFile(sim.pidFile);
    // Only a pid file names this one: make sure it is still the simulator of this lab (its --dir is in it).
    if (pid !== undefined && !(commandOf(pid) ?? '').includes(dir)) return;
  }
  if (pid === undefined || !isAlive(pid) || commandOf(pid) === undefined) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 5000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
  }
}

async function stopAll(lab: LabManifest): Promise<void> {
  const ctx: PgLabContext = { bindir: lab.postgres?.bindir ?? '', user: labUser(), socketDir: '' };
  const pgServers = [lab.postgres?.secondary, lab.postgres?.primary].filter(
    (s): s is Pending<PgServerInfo> => !!s,
  );
  const redisServers = [lab.redis?.secondary, lab.redis?.primary, lab.stateRedis].filter(
    (s): s is Pending<RedisServerInfo> => !!s,
  );
  const simulators: Partial<LabSimulatorInfo>[] = [
    ...Object.values(lab.simulators ?? {}),
    ...Object.values(lab.pendingParts ?? {}),
  ];
  const results = await Promise.allSettled([
    ...pgServers.map((s) => pgStop(ctx, s.dataDir, 'immediate', s.pid)),
    ...redisServers.map((s) => stopRedis(s)),
    ...simulators.map((sim) => stopSimulator(sim, lab.dir)),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Stop every process the lab started (by pid, waiting for each to exit), then delete DIR. Works on
 * a half-started lab too (an `up` that was interrupted or killed), once that `up` is gone.
 */
export async function labDown(opts: { dir: string }): Promise<void> {
  const dir = resolve(opts.dir);
  const manifest = readManifest(dir);
  const upPid = manifest.starting?.pid;
  if (
    upPid !== undefined &&
    upPid !== process.pid &&
    isAlive(upPid) &&
    /\bnode\b|dr/.test(commandOf(upPid) ?? '')
  ) {
    throw new PreconditionFailed(
      `\`dr lab up\` (pid ${upPid}) is still starting the lab in ${dir}: interrupt it (Ctrl-C, or kill ${upPid}) and it stops what it started and removes the directory; if it hangs, kill -9 ${upPid} and run \`npx dr lab down\` again`,
    );
  }
  await stopAll({ ...manifest, dir });
  // Anything of the lab no pid file names (an `up` killed between starting a server and recording it).
  await killLabProcessesIn(dir);
  rmSync(dir, { recursive: true, force: true });
}

export interface LabStatus {
  dir: string;
  configPath: string;
  postgres: PgStatus[];
  redis: RedisStatus[];
  /** The bot's own state Redis (REDIS_URL in lab.env). */
  stateRedis: RedisStatus | null;
  envFile: string | null;
  simulators: { name: string; url: string; pid: number | null; running: boolean | null }[];
  /** DNS routing, health endpoints and replica counts, from the simulators' control API. */
  cloud: CloudState | { error: string } | null;
  /** A regional outage played by `dr lab outage` and not yet restored. */
  outage: LabOutage | null;
  /** What a person must not miss: two writers (PostgreSQL or Redis), or none. */
  warnings: string[];
}

/**
 * Two servers that both take writes diverge: the state a failover must never leave, and the one
 * an old primary is in when it comes back after an unplanned failover, until the failback.
 */
export function writerWarnings(
  postgres: readonly PgStatus[],
  redis: readonly RedisStatus[],
): string[] {
  const warnings: string[] = [];
  const names = (xs: readonly { name: string }[]): string => xs.map((x) => x.name).join(' and ');
  if (postgres.length === 2 && postgres.every((s) => s.healthy)) {
    const primaries = postgres.filter((s) => s.role === 'primary');
    const writers = primaries.filter((s) => !s.readOnly);
    if (writers.length === 2) {
      warnings.push(
        `two PostgreSQL writers: ${names(writers)} both accept writes (neither is in recovery or fenced read-only), so their data diverges; a failback resyncs the old primary from the other, or fence one (ALTER SYSTEM SET default_transaction_read_only = on)`,
      );
    } else if (writers.length === 0) {
      warnings.push(
        primaries.length === 0
          ? `no PostgreSQL writer: ${names(postgres)} are both standbys (in recovery); promote one`
          : `no PostgreSQL writer: ${names(primaries)} is fenced read-only and ${names(postgres.filter((s) => s.role !== 'primary'))} is a standby; finish the failover (promote the standby) or lift the fence`,
      );
    }
  }
  if (redis.length === 2 && redis.every((s) => s.healthy)) {
    const writers = redis.filter((s) => s.role === 'master' && !s.fenced);
    if (writers.length === 2) {
      warnings.push(
        `two Redis writers: ${names(writers)} are both masters and accept writes, so their data diverges; a failback resyncs the old master as a replica of the other`,
      );
    } else if (writers.length === 0) {
      const fenced = redis.filter((s) => s.fenced);
      warnings.push(
        `no Redis writer: ${fenced.length ? `${names(fenced)} refuses writes (min-replicas-to-write fence)` : `${names(redis)} are both replicas`}; finish the failover or lift the fence`,
      );
    }
  }
  return warnings;
}

/** Each server's role, lag and health, read from the servers themselves. */
export async function labStatus(opts: { dir: string }): Promise<LabStatus> {
  const info = readLabInfo(opts.dir);
  const cloud = labCloud(info);
  const [pgP, pgS, rP, rS, state, cloudNow] = await Promise.all([
    pgStatus(info.postgres.primary),
    pgStatus(info.postgres.secondary),
    redisStatus(info.redis.primary),
    redisStatus(info.redis.secondary),
    info.stateRedis ? redisStatus(info.stateRedis) : Promise.resolve(null),
    cloud ? cloudState(cloud) : Promise.resolve(null),
  ]);
  // A replica only knows its own offset: its lag is the master's offset minus it.
  for (const [a, b] of [
    [rP, rS],
    [rS, rP],
  ] as const) {
    if (
      a.role === 'replica' &&
      b.role === 'master' &&
      a.offset !== undefined &&
      b.offset !== undefined
    )
      a.lagBytes = Math.max(0, b.offset - a.offset);
  }
  return {
    dir: info.dir,
    configPath: info.configPath,
    postgres: [pgP, pgS],
    redis: [rP, rS],
    stateRedis: state,
    envFile: info.envFile ?? null,
    simulators: Object.entries(info.simulators ?? {}).map(([name, s]) => ({
      name,
      url: s.url,
      pid: s.pid ?? null,
      running: s.pid === undefined ? null : isAlive(s.pid),
    })),
    cloud: cloudNow,
    outage: info.outage ?? null,
    warnings: writerWarnings([pgP, pgS], [rP, rS]),
  };
}
