/**
 * The local two-region lab (DESIGN.md section 6): a PostgreSQL primary with a streaming standby
 * and a Redis primary with a replica, each on a free port under one directory, the cloud
 * simulators (by default), a separate Redis as the bot's own state store, a bot config pointing at
 * all of it and DIR/lab.env with the rest of what `dr start` needs. Everything is a detached
 * process recorded by pid in DIR/lab.json, so `dr lab up` can exit and a later `dr lab down` stops
 * exactly what was started.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PreconditionFailed } from '../errors.js';
import { labConfig, writeLabConfig } from './config.js';
import { LAB_ENV_FILE, writeLabEnv } from './env-file.js';
import { createPrimary, createStandby, pgStatus, pgStop, type PgLabContext, type PgServerInfo, type PgStatus } from './postgres.js';
import { redisStatus, startRedis, stopRedis, type RedisServerInfo, type RedisStatus } from './redis.js';
import { commandOf, findPostgresBin, findRedisServer, freePorts, isAlive, labUser, run, waitForExit, type LabUser } from './system.js';
import { cloudState, labCloud, simulatorsPart } from './simulators/part.js';
import type { CloudState } from './simulators/control.js';
import type { LabInfo, LabPart, LabSimulatorInfo } from './types.js';

export type { LabInfo, LabPart, LabSimulatorInfo } from './types.js';
export type { PgServerInfo, PgStatus, PgLabContext } from './postgres.js';
export type { RedisServerInfo, RedisStatus } from './redis.js';
export { LAB_APPROVERS, LAB_CHANNEL, labConfig, writeLabConfig } from './config.js';
export { createPrimary, createStandby, pgStart, pgStop, pgQuery, postmasterPid, resyncAsStandby } from './postgres.js';
export { startRedis, stopRedis } from './redis.js';
export { findPostgresBin, findRedisServer, freePorts, labUser } from './system.js';
export { LAB_ENV_FILE, readLabEnv } from './env-file.js';
export { simulatorsPart, labCloud, cloudState, setRegionHealth, type LabCloud } from './simulators/part.js';
export type { CloudState, CloudWorkloadState } from './simulators/control.js';

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
    if (existsSync(join(target, LAB_FILE))) {
      throw new PreconditionFailed(`a lab already lives in ${target} (${LAB_FILE} exists): run \`dr lab down --dir ${target}\` first or choose another --dir`);
    }
    if (existsSync(target) && readdirSync(target).length > 0) {
      throw new PreconditionFailed(`${target} is not empty: give \`dr lab up --dir\` a new or empty directory (\`dr lab down\` deletes it)`);
    }
    created = !existsSync(target);
    mkdirSync(target, { recursive: true, mode: 0o700 });
  }
  // The servers run as `user` and keep their data, sockets and logs here.
  if (user.uid !== undefined) chownSync(target, user.uid, user.gid ?? user.uid);
  return { dir: target, created };
}

/** Undo a failed `up`: delete what we made, but only empty a directory the user handed us. */
function removeDir(dir: string, created: boolean): void {
  if (created) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}

/** The parts of a lab.json that can be stopped, even from a half-finished `up`. */
type Startable = Partial<Pick<LabInfo, 'postgres' | 'redis' | 'stateRedis' | 'simulators'>> & { dir: string };

/** Start the lab and return what is running where (also written to DIR/lab.json). */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const bindir = await findPostgresBin();
  const redisServer = findRedisServer();
  const user = labUser();
  const { dir, created } = prepareDir(opts.dir, user);
  try {
    await run('test', ['-w', dir, '-a', '-x', dir], { user, timeoutMs: 5000 });
  } catch {
    removeDir(dir, created);
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
  const ctx: PgLabContext = { bindir, user, socketDir: useSockets ? socketDir : '' };
  const [pgPrimaryPort, pgSecondaryPort, redisPrimaryPort, redisSecondaryPort, stateRedisPort] = await freePorts(5);
  const parts = opts.parts ?? defaultLabParts();

  const started: Startable = { dir, simulators: {} };
  try {
    const [pgVersion, redisVersion] = await Promise.all([
      run(join(bindir, 'postgres'), ['--version']).then((r) => r.stdout.trim()),
      run(redisServer, ['--version']).then((r) => /v=(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim()),
    ]);
    started.postgres = { bindir, version: pgVersion, slot: SLOT } as LabInfo['postgres'];
    started.redis = { version: redisVersion } as LabInfo['redis'];
    const outcomes = await Promise.allSettled([
      (async () => {
        const p = await createPrimary(ctx, { name: 'lab-primary', port: pgPrimaryPort, dataDir: join(dir, 'pg-primary'), logFile: join(dir, 'pg-primary.log') });
        started.postgres!.primary = p;
        started.postgres!.secondary = await createStandby(ctx, p, {
          name: 'lab-secondary',
          port: pgSecondaryPort,
          dataDir: join(dir, 'pg-secondary'),
          logFile: join(dir, 'pg-secondary.log'),
          slot: SLOT,
        });
      })(),
      (async () => {
        const p = await startRedis({ redisServer, name: 'lab-primary', port: redisPrimaryPort, dir: join(dir, 'redis-primary') });
        started.redis!.primary = p;
        started.redis!.secondary = await startRedis({
          redisServer,
          name: 'lab-secondary',
          port: redisSecondaryPort,
          dir: join(dir, 'redis-secondary'),
          replicaOf: { host: '127.0.0.1', port: p.port },
        });
      })(),
      (async () => {
        started.stateRedis = await startRedis({ redisServer, name: 'lab-bot-state', port: stateRedisPort!, dir: join(dir, 'redis-bot-state') });
      })(),
    ]);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;

    const info: LabInfo = {
      dir,
      user: user.name,
      createdAt: new Date().toISOString(),
      configPath: join(dir, LAB_CONFIG_FILE),
      postgres: started.postgres as LabInfo['postgres'],
      redis: started.redis as LabInfo['redis'],
      stateRedis: started.stateRedis!,
      envFile: join(dir, LAB_ENV_FILE),
      simulators: {},
    };
    started.simulators = info.simulators;
    for (const part of parts) {
      Object.assign(info.simulators, await part.start(info));
    }
    writeLabInfo(info);
    const config = labConfig(info);
    for (const part of parts) part.configure?.(config, info);
    writeLabConfig(info.configPath, config);
    const env: Record<string, string> = { DR_CONFIG: info.configPath, REDIS_URL: info.stateRedis.url };
    for (const part of parts) Object.assign(env, part.env?.(info));
    writeLabEnv(info.envFile, env, [
      `Written by \`dr lab up\`: what \`dr start\` needs for the lab in ${dir} besides its config.`,
      'No real secrets: REDIS_URL is the bot\'s own state Redis; the AWS keys only satisfy the SDK (the simulators do not check signatures).',
      `Use: . ${info.envFile}  then set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (SLACK_API_URL optional) and run \`dr start\`.`,
    ]);
    return info;
  } catch (err) {
    // Leave nothing half-started behind: the caller only sees the error.
    await stopAll(started, ctx).catch(() => undefined);
    removeDir(dir, created);
    throw err;
  }
}

export function writeLabInfo(info: LabInfo): void {
  writeFileSync(join(info.dir, LAB_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

export function readLabInfo(dir: string): LabInfo {
  const file = join(resolve(dir), LAB_FILE);
  if (!existsSync(file)) {
    throw new PreconditionFailed(`${file} not found: ${dir} is not a lab directory (start one with \`dr lab up\`)`, { code: 'not-found' });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LabInfo;
}

async function stopSimulator(sim: LabSimulatorInfo): Promise<void> {
  const pid = sim.pid;
  if (pid === undefined || !isAlive(pid) || commandOf(pid) === undefined) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 5000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
  }
}

async function stopAll(lab: Startable, ctx: PgLabContext): Promise<void> {
  const pgServers = [lab.postgres?.secondary, lab.postgres?.primary].filter((s): s is PgServerInfo => !!s);
  const redisServers = [lab.redis?.secondary, lab.redis?.primary, lab.stateRedis].filter((s): s is RedisServerInfo => !!s);
  const results = await Promise.allSettled([
    ...pgServers.map((s) => pgStop(ctx, s.dataDir, 'immediate', s.pid)),
    ...redisServers.map((s) => stopRedis(s)),
    ...Object.values(lab.simulators ?? {}).map(stopSimulator),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Stop every process the lab started (by pid, waiting for each to exit), then delete DIR. */
export async function labDown(opts: { dir: string }): Promise<void> {
  const info = readLabInfo(opts.dir);
  const ctx: PgLabContext = { bindir: info.postgres.bindir, user: labUser(), socketDir: '' };
  await stopAll(info, ctx);
  rmSync(info.dir, { recursive: true, force: true });
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
  for (const [a, b] of [[rP, rS], [rS, rP]] as const) {
    if (a.role === 'replica' && b.role === 'master' && a.offset !== undefined && b.offset !== undefined) a.lagBytes = Math.max(0, b.offset - a.offset);
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
  };
}
