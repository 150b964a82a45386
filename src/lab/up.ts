/**
 * `dr lab up`: start the data tier (PostgreSQL primary and standby, Redis primary and replica, the
 * bot's state Redis), then the parts (the cloud simulators by default), and write the bot config
 * and lab.env. Every step is recorded in lab.json as it goes, and a failed or interrupted start
 * stops what it had started and leaves the directory as it found it.
 */
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PreconditionFailed } from '../errors.js';
import { labConfig, writeLabConfig } from './config.js';
import { labCustomSteps } from './custom-steps.js';
import { stopAll } from './down.js';
import { LAB_ENV_FILE, writeLabEnv } from './env-file.js';
import { prepareDir, removeDir } from './lab-dir.js';
import {
  LAB_FILE,
  writeJsonAtomically,
  writeLabInfo,
  type LabManifest,
  type Pending,
} from './manifest.js';
import {
  createPrimary,
  createStandby,
  ensureExtension,
  pgUrl,
  type PgLabContext,
} from './postgres.js';
import { applyPostgresRole, applyRedisAcl } from './permissions.js';
import { redisFiles, redisUrl, startRedis, type RedisServerInfo } from './redis.js';
import {
  azureCachePart,
  azureFlexiblePart,
  elasticachePart,
  labCloud,
  rdsPart,
  cnpgPart,
  auroraPart,
  simulatorsPart,
} from './simulators/index.js';
import {
  findPostgresBin,
  findRedisServer,
  freePorts,
  killLabProcessesIn,
  labUser,
  run,
  type LabUser,
} from './system.js';
import type { LabInfo, LabPart } from './types.js';

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
  /** The cloud the default parts simulate: 'aws' (default) or 'azure'. */
  cloud?: 'aws' | 'azure';
  /**
   * The cache driver of the written config; elasticache-global and azure-cache (with the Azure
   * cloud) add their simulator part.
   */
  redis?: 'replication' | 'elasticache-global' | 'azure-cache';
  /**
   * The DNS method of the written config on AWS: 'route53' (default, failover records) or
   * 'route53-arc' (routing controls on an ARC cluster simulator, which the records follow).
   */
  dns?: 'route53' | 'route53-arc';
  /**
   * The database driver of the written config; rds-replica adds its RDS simulator part,
   * aurora-global its Aurora Global Database simulator part, cloudnative-pg installs
   * CloudNativePG in the Kubernetes simulators; azure-flexible (with the Azure cloud) adds its
   * flexible server simulator part.
   */
  postgres?: 'streaming' | 'rds-replica' | 'aurora-global' | 'cloudnative-pg' | 'azure-flexible';
  /** Add one custom runbook step of each kind (command, HTTP, manual) to the written config. */
  customSteps?: boolean;
}

/** What the steps of one start share: where and as whom, and the manifest they record into. */
interface UpState {
  dir: string;
  user: LabUser;
  bindir: string;
  redisServer: string;
  signal: AbortSignal | undefined;
  manifest: LabManifest;
  /** Write the manifest to DIR/lab.json as it is now. */
  save(): void;
}

/** Why `--redis azure-cache` needs `--cloud azure` (also the CLI's usage error). */
const AZURE_CACHE_NEEDS_AZURE =
  '--redis azure-cache signs in with the lab Entra ID of the Azure cloud: add --cloud azure.';

/** Why `--postgres azure-flexible` needs `--cloud azure` (also the CLI's usage error). */
const AZURE_FLEXIBLE_NEEDS_AZURE =
  '--postgres azure-flexible signs in with the lab Entra ID of the Azure cloud: add --cloud azure.';

/** The parts `dr lab up` starts for these choices: the cloud simulators, then each driver's own. */
export function defaultLabParts(
  choices: Pick<LabUpOptions, 'cloud' | 'redis' | 'dns' | 'postgres'> = {},
): LabPart[] {
  const { cloud = 'aws', redis = 'replication', dns = 'route53', postgres = 'streaming' } = choices;
  if (dns === 'route53-arc' && cloud === 'azure')
    throw new PreconditionFailed(
      '--dns route53-arc switches with an AWS service: use it without --cloud azure (Azure switches with Traffic Manager).',
    );
  if (redis === 'azure-cache' && cloud !== 'azure')
    throw new PreconditionFailed(AZURE_CACHE_NEEDS_AZURE);
  if (postgres === 'azure-flexible' && cloud !== 'azure')
    throw new PreconditionFailed(AZURE_FLEXIBLE_NEEDS_AZURE);
  return [
    simulatorsPart({
      cloud,
      ...(dns === 'route53-arc' ? { dns } : {}),
      ...(postgres === 'cloudnative-pg' ? { cnpg: true } : {}),
    }),
    ...(redis === 'elasticache-global' ? [elasticachePart()] : []),
    ...(redis === 'azure-cache' ? [azureCachePart()] : []),
    ...(postgres === 'rds-replica' ? [rdsPart()] : []),
    ...(postgres === 'aurora-global' ? [auroraPart()] : []),
    ...(postgres === 'cloudnative-pg' ? [cnpgPart()] : []),
    ...(postgres === 'azure-flexible' ? [azureFlexiblePart()] : []),
  ];
}

function pendingRedis(name: string, port: number, dir: string): Pending<RedisServerInfo> {
  return { name, port, url: redisUrl(port), dir, ...redisFiles(dir) };
}

/** Start the lab and return what is running where (also written to DIR/lab.json). */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const { signal } = opts;
  signal?.throwIfAborted();
  // Before anything starts: a bad combination of options changes nothing.
  const parts = opts.parts ?? defaultLabParts(opts);
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
  const st: UpState = { dir, user, bindir, redisServer, signal, manifest, save };
  try {
    save();
    await checkReachable(st);
    await startDataTier(st, pgContext(st), opts.walinspect !== false);
    const info = completedInfo(st);
    await startParts(st, info, parts);
    signal?.throwIfAborted();
    writeConfigAndEnv(info, parts, opts.customSteps === true);
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

async function checkReachable({ dir, user }: UpState): Promise<void> {
  try {
    await run('test', ['-w', dir, '-a', '-x', dir], { user, timeoutMs: 5000 });
  } catch {
    throw new PreconditionFailed(
      `${user.name} (the user the servers run as) cannot reach ${dir}: a parent directory is closed to it (e.g. /root is 0700). Use a --dir under /tmp or /var/tmp, or open the parent directories.`,
    );
  }
}

/** How PostgreSQL is run here: as `user`, with its sockets under DIR when the path is short enough. */
function pgContext({ dir, user, bindir, signal }: UpState): PgLabContext {
  const socketDir = join(dir, 'sockets');
  const useSockets = socketDir.length <= MAX_SOCKET_DIR;
  if (useSockets) {
    mkdirSync(socketDir, { mode: 0o700 });
    if (user.uid !== undefined) chownSync(socketDir, user.uid, user.gid ?? user.uid);
  }
  return {
    bindir,
    user,
    socketDir: useSockets ? socketDir : '',
    ...(signal ? { signal } : {}),
  };
}

/** PostgreSQL, Redis and the state Redis side by side; the first failure fails the start. */
async function startDataTier(st: UpState, ctx: PgLabContext, walinspect: boolean): Promise<void> {
  const { bindir, redisServer, signal, manifest } = st;
  const [pgPrimaryPort, pgSecondaryPort, redisPrimaryPort, redisSecondaryPort, stateRedisPort] =
    await freePorts(5);

  const [pgVersion, redisVersion] = await Promise.all([
    run(join(bindir, 'postgres'), ['--version'], { signal }).then((r) => r.stdout.trim()),
    run(redisServer, ['--version'], { signal }).then(
      (r) => /v=(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim(),
    ),
  ]);
  manifest.postgres = { bindir, version: pgVersion, slot: SLOT, walinspect: false };
  manifest.redis = { version: redisVersion };
  st.save();
  const outcomes = await Promise.allSettled([
    startPostgresPair(st, ctx, [pgPrimaryPort!, pgSecondaryPort!], walinspect),
    startRedisPair(st, [redisPrimaryPort!, redisSecondaryPort!]),
    startStateRedis(st, stateRedisPort!),
  ]);
  signal?.throwIfAborted();
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

async function startPostgresPair(
  st: UpState,
  ctx: PgLabContext,
  [primaryPort, secondaryPort]: [number, number],
  walinspect: boolean,
): Promise<void> {
  const { dir, save } = st;
  const pgInfo = st.manifest.postgres!;
  const primary = {
    name: 'lab-primary',
    port: primaryPort,
    url: pgUrl(primaryPort),
    dataDir: join(dir, 'pg-primary'),
    logFile: join(dir, 'pg-primary.log'),
  };
  pgInfo.primary = primary;
  save();
  const p = (pgInfo.primary = await createPrimary(ctx, primary));
  save();
  // Before the standby is cloned, so it has the extension too (a failback may analyse either side).
  if (walinspect) pgInfo.walinspect = await ensureExtension(p.url, 'pg_walinspect');
  // After the extension (its function is granted too), before the clone: the standby gets the role.
  await applyPostgresRole(p.url);
  const secondary = {
    name: 'lab-secondary',
    port: secondaryPort,
    url: pgUrl(secondaryPort),
    dataDir: join(dir, 'pg-secondary'),
    logFile: join(dir, 'pg-secondary.log'),
  };
  pgInfo.secondary = secondary;
  save();
  pgInfo.secondary = await createStandby(ctx, p, { ...secondary, slot: SLOT });
  save();
}

async function startRedisPair(
  st: UpState,
  [primaryPort, secondaryPort]: [number, number],
): Promise<void> {
  const { dir, save } = st;
  const redisInfo = st.manifest.redis!;
  redisInfo.primary = pendingRedis('lab-primary', primaryPort, join(dir, 'redis-primary'));
  save();
  const p = (redisInfo.primary = await startLabRedis(
    st,
    'lab-primary',
    primaryPort,
    'redis-primary',
  ));
  save();
  redisInfo.secondary = pendingRedis('lab-secondary', secondaryPort, join(dir, 'redis-secondary'));
  save();
  redisInfo.secondary = await startLabRedis(st, 'lab-secondary', secondaryPort, 'redis-secondary', {
    replicaOf: { host: '127.0.0.1', port: p.port },
  });
  save();
  // ACLs are per server: the bot's user on both sides.
  await Promise.all([applyRedisAcl(p.url), applyRedisAcl(redisInfo.secondary.url)]);
}

async function startStateRedis(st: UpState, port: number): Promise<void> {
  st.manifest.stateRedis = pendingRedis('lab-bot-state', port, join(st.dir, 'redis-bot-state'));
  st.save();
  st.manifest.stateRedis = await startLabRedis(st, 'lab-bot-state', port, 'redis-bot-state', {
    durable: true,
  });
  st.save();
}

function startLabRedis(
  { dir, redisServer, signal }: UpState,
  name: string,
  port: number,
  sub: string,
  extra: { replicaOf?: { host: string; port: number }; durable?: boolean } = {},
): Promise<RedisServerInfo> {
  return startRedis({
    redisServer,
    name,
    port,
    dir: join(dir, sub),
    ...extra,
    ...(signal ? { signal } : {}),
  });
}

/** The lab as lab.json will hold it once complete; the parts fill in `simulators`. */
function completedInfo({ dir, user, manifest }: UpState): LabInfo {
  return {
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
}

async function startParts(st: UpState, info: LabInfo, parts: readonly LabPart[]): Promise<void> {
  for (const part of parts) {
    st.signal?.throwIfAborted();
    if (part.pidFile) {
      (st.manifest.pendingParts ??= {})[part.name] = { pidFile: part.pidFile(info) };
      st.save();
    }
    Object.assign(info.simulators, await part.start(info));
    delete st.manifest.pendingParts?.[part.name];
    st.save();
  }
}

function writeConfigAndEnv(info: LabInfo, parts: readonly LabPart[], custom: boolean): void {
  const config = labConfig(info);
  for (const part of parts) part.configure?.(config, info);
  const cloud = labCloud(info);
  if (custom && !cloud)
    throw new PreconditionFailed(
      'the custom steps call the simulators: start the lab with its cloud simulators',
    );
  if (custom && cloud) config.runbook = { steps: labCustomSteps(info.dir, cloud.controlUrl) };
  writeLabConfig(info.configPath, config);
  const env: Record<string, string> = {
    DR_CONFIG: info.configPath,
    REDIS_URL: info.stateRedis.url,
  };
  for (const part of parts) Object.assign(env, part.env?.(info));
  writeLabEnv(info.envFile, env, [
    `Written by \`dr lab up\`: what \`dr start\` needs for the lab in ${info.dir} besides its config.`,
    "No real secrets: REDIS_URL is the bot's own state Redis; the AWS keys only satisfy the SDK (the simulators do not check signatures); the Azure ones are this lab's own Entra ID app and Azurite's public development key.",
    `Use: . ${info.envFile}  then set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (SLACK_API_URL optional) and run \`npx dr start\`.`,
  ]);
}
