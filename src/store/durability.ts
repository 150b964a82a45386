/**
 * How durable the state Redis is: whether a write it acknowledged survives its restart (the
 * append-only file and how often it is fsynced) and the loss of its server (replicas). Read from
 * INFO, and from CONFIG GET where the server allows it: managed offerings often hide CONFIG, and
 * are then judged by what INFO shows (aof_enabled). `dr start` refuses a store without persistence
 * unless the operator opts in for a lab (DR_ALLOW_VOLATILE_STATE=yes).
 */
import type { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';

/** The explicit opt-in for a lab's state Redis without an append-only file. */
export const ALLOW_VOLATILE_ENV = 'DR_ALLOW_VOLATILE_STATE';

interface StateDurability {
  /** redis_version from INFO server. */
  version: string;
  /** WAITAOF exists (Redis 7.2+): a write can be confirmed on disk whatever appendfsync is. */
  waitaof: boolean;
  /** aof_enabled from INFO persistence. */
  aof: boolean;
  /** From CONFIG GET; undefined when CONFIG is not allowed (a managed Redis). */
  appendfsync: string | undefined;
  /** INFO replication role: a replica answers writes with READONLY. */
  role: string;
  /** Replicas online (INFO replication, state=online). */
  replicas: number;
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function readDurability(redis: Redis): Promise<StateDurability> {
  const [server, persistence, replication] = await Promise.all([
    redis.info('server'),
    redis.info('persistence'),
    redis.info('replication'),
  ]);
  let appendfsync: string | undefined;
  try {
    const pairs = (await redis.config('GET', 'appendfsync')) as string[];
    appendfsync = pairs[1];
  } catch {
    // CONFIG renamed or forbidden (ElastiCache, Azure Cache, Memorystore): INFO decides.
  }
  const version = field(server, 'redis_version') ?? '0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const replicas = [...replication.matchAll(/^slave\d+:.*state=online/gm)].length;
  return {
    version,
    waitaof: major > 7 || (major === 7 && minor >= 2),
    aof: field(persistence, 'aof_enabled') === '1',
    appendfsync,
    role: field(replication, 'role') ?? 'unknown',
    replicas,
  };
}

/** What to change, or undefined when the store keeps what it acknowledged. */
export function durabilityProblem(d: StateDurability): string | undefined {
  if (d.role !== 'master')
    return `it is a ${d.role}, not a primary: point REDIS_URL at the primary (or use Sentinel)`;
  if (!d.aof)
    return 'it keeps no append-only file (appendonly no): a restart forgets the operations in flight. Set `appendonly yes` and `appendfsync always` (or `everysec`) on it';
  if (d.appendfsync === 'no')
    return 'its append-only file is never fsynced by Redis (appendfsync no): set `appendfsync always` (or `everysec`)';
  return undefined;
}

/** A caveat that does not stop start-up: what a crash of the server could still cost. */
function durabilityWarning(d: StateDurability): string | undefined {
  if (!d.aof || d.waitaof || d.appendfsync !== 'everysec') return undefined;
  return `appendfsync everysec on Redis ${d.version} (before 7.2, no WAITAOF): a step's record may reach disk up to 1 s after its effect starts; set appendfsync always on the state Redis`;
}

/** One line for `/dr status`, `dr console` and the readiness row. */
export function describeDurability(d: StateDurability): string {
  const disk = d.aof
    ? `AOF on (appendfsync ${d.appendfsync ?? 'hidden: CONFIG not allowed'})`
    : 'no AOF: a restart loses its state';
  const copies =
    d.replicas === 0
      ? 'no replica: the loss of its server loses the state'
      : `${d.replicas} replica${d.replicas === 1 ? '' : 's'} online`;
  return `${disk}, ${copies} (Redis ${d.version}, ${d.role})`;
}

/** True when the environment opts in to a state Redis without persistence. */
export function volatileAllowed(env: NodeJS.ProcessEnv): boolean {
  const v = env[ALLOW_VOLATILE_ENV]?.trim().toLowerCase();
  return v === 'yes' || v === '1' || v === 'true';
}

/**
 * `dr start`'s check: throws a ConfigError naming what to set when the state Redis would forget
 * what it acknowledged, unless the environment opts in; returns what it found and the warnings.
 */
export async function requireDurableState(
  redis: Redis,
  env: NodeJS.ProcessEnv,
  where: string,
): Promise<{ durability: StateDurability; warnings: string[] }> {
  const durability = await readDurability(redis);
  const problem = durabilityProblem(durability);
  const warnings: string[] = [];
  if (problem && !volatileAllowed(env))
    throw new ConfigError(
      `the state Redis at ${where}: ${problem}; for a lab whose operations may be forgotten, set ${ALLOW_VOLATILE_ENV}=yes instead`,
    );
  if (problem) warnings.push(`${ALLOW_VOLATILE_ENV}=yes: the state Redis at ${where}: ${problem}`);
  const warning = durabilityWarning(durability);
  if (warning) warnings.push(warning);
  return { durability, warnings };
}

/** How long what readDurability found is trusted before a step reads it again. */
const DURABILITY_FRESH_MS = 5000;

/** readDurability, cached for a few seconds: a replica that joins or leaves shows soon enough. */
export function durabilityReader(redis: Redis): () => Promise<StateDurability> {
  let known: { d: StateDurability; at: number } | undefined;
  return async () => {
    if (known && Date.now() - known.at < DURABILITY_FRESH_MS) return known.d;
    known = { d: await readDurability(redis), at: Date.now() };
    return known.d;
  };
}

/** How long a step waits for its record to be confirmed on disk and on a replica. */
const WRITE_CONFIRM_TIMEOUT_MS = 5000;

/**
 * Confirm that every write sent on `redis` so far is on disk (when AOF is on) and on a replica
 * (when one is online): WAITAOF on Redis 7.2+; before that, appendfsync always already fsynced it
 * before replying, and WAIT covers the replica. Returns what is missing, or undefined.
 */
export async function confirmWritten(
  redis: Redis,
  d: StateDurability,
  timeoutMs = WRITE_CONFIRM_TIMEOUT_MS,
): Promise<string | undefined> {
  const wantReplica = d.replicas > 0 ? 1 : 0;
  if (d.waitaof) {
    const wantLocal = d.aof ? 1 : 0;
    if (wantLocal + wantReplica === 0) return undefined;
    const [local, replicas] = (await redis.call(
      'WAITAOF',
      String(wantLocal),
      String(wantReplica),
      String(timeoutMs),
    )) as [number, number];
    if (local < wantLocal) return `not fsynced to the append-only file within ${timeoutMs} ms`;
    if (replicas < wantReplica) return `no replica confirmed it within ${timeoutMs} ms`;
    return undefined;
  }
  if (wantReplica === 0) return undefined;
  const acked = await redis.wait(wantReplica, timeoutMs);
  return acked < wantReplica ? `no replica confirmed it within ${timeoutMs} ms` : undefined;
}
