/**
 * Object storage replication, measured with a canary: write a small object with a fresh nonce to
 * the primary bucket (or container) and wait until the secondary holds that same nonce. The time
 * it took is the replication lag users' objects see; not seeing it within the RPO means writes
 * made now would be lost in a failover.
 *
 * One canary key per environment is overwritten on every check, so the buckets never fill up with
 * canaries; replication of an overwrite is replication all the same. Implementations per cloud:
 * s3.ts (Amazon S3 cross-region replication) and azure-blob.ts (Azure Blob object replication).
 */
import { randomBytes } from 'node:crypto';
import type { Evidence } from '../domain/types.js';
import { DrError } from '../errors.js';
import { sleep } from './dns-resolve.js';

/** What a canary carries; both values travel as object metadata. */
interface CanaryStamp {
  nonce: string;
  writtenAt: number;
}

/** Metadata keys: lower-case identifiers, valid for S3 (x-amz-meta-*) and Azure (C# identifiers). */
const CANARY_NONCE_KEY = 'drcanary';
const CANARY_WRITTEN_KEY = 'drwrittenat';

/** One object as a listing shows it: its key, a content hash where the store keeps one, its time. */
export interface ListedObject {
  key: string;
  /** S3: the ETag (an MD5 for single-part uploads, kept by replication); Azure: Content-MD5. */
  hash: string | null;
  lastModified: number;
}

/** One bucket or container of one region. */
export interface ObjectStoreSide {
  /** "s3://bucket (eu-west-1)", "azure-blob://account/container". */
  readonly where: string;
  putCanary(key: string, stamp: CanaryStamp): Promise<void>;
  /** The canary as this side holds it now; null when there is none. */
  readCanary(key: string): Promise<CanaryStamp | null>;
  /** Up to `limit` objects, in key order; `truncated` when there were more. */
  list(limit: number): Promise<{ objects: ListedObject[]; truncated: boolean }>;
  close(): Promise<void>;
}

interface ReplicationCheck {
  /** The canary reached the secondary within the RPO. */
  ok: boolean;
  /** Write-to-visible time of this canary, or null when it never showed up. */
  seconds: number | null;
  detail: string;
  evidence: Evidence;
}

/** Objects on the secondary that the primary lacks, or holds with other content. */
export interface SecondaryWrites {
  objects: ListedObject[];
  /** Objects compared (the secondary's listing, up to the scan limit). */
  scanned: number;
  /** The listing stopped at the limit: more may be missing. */
  truncated: boolean;
}

/** What the canary's calls answered: each denied one, and any that could not be tried. */
interface CanaryAccess {
  /** One line per denied call, naming the action and the policy that grants it. */
  denied: string[];
  /** Calls that failed for another reason (unreachable, missing bucket): not a rights verdict. */
  unchecked: string[];
}

export interface ObjectStorageProvider {
  readonly name: 's3' | 'azure-blob';
  readonly primaryWhere: string;
  readonly secondaryWhere: string;
  checkReplication(opts?: { rpoSeconds?: number }): Promise<ReplicationCheck>;
  /** Failback with reverse replication: a canary written to the secondary must reach the primary. */
  checkReverseReplication(opts?: { rpoSeconds?: number }): Promise<ReplicationCheck>;
  /** Failback without it: what was written to the secondary and is not on the primary. */
  secondaryWrites(opts?: { limit?: number }): Promise<SecondaryWrites>;
  /** The bot's rights on the canary: write it to the primary, read it on the secondary. */
  checkAccess(): Promise<CanaryAccess>;
  close(): Promise<void>;
}

interface ObjectStorageProviderOptions {
  name: 's3' | 'azure-blob';
  primary: ObjectStoreSide;
  secondary: ObjectStoreSide;
  /** Object key of the canary (config: canaryPrefix + environment). */
  canaryKey: string;
  /** Keys under it are the bot's canaries, never users' writes (default: canaryKey). */
  canaryPrefix?: string;
  /** How long a canary may take to appear in the secondary. */
  rpoSeconds: number;
  /** Poll interval while waiting for the copy (default 1000 ms). */
  pollMs?: number;
  now?: () => number;
}

const round1 = (s: number): number => Math.round(s * 10) / 10;

export function stampFromMetadata(meta: Record<string, string> | undefined): CanaryStamp | null {
  const nonce = meta?.[CANARY_NONCE_KEY];
  const writtenAt = Number(meta?.[CANARY_WRITTEN_KEY]);
  if (!nonce || !Number.isFinite(writtenAt)) return null;
  return { nonce, writtenAt };
}

export function stampMetadata(stamp: CanaryStamp): Record<string, string> {
  return { [CANARY_NONCE_KEY]: stamp.nonce, [CANARY_WRITTEN_KEY]: String(stamp.writtenAt) };
}

interface CanaryRun {
  from: ObjectStoreSide;
  to: ObjectStoreSide;
  key: string;
  rpoSeconds: number;
  pollMs: number;
  now: () => number;
}

/** Write a canary to `from` and wait for its nonce in `to`, up to the RPO. */
async function runCanary(c: CanaryRun): Promise<ReplicationCheck> {
  const { from, to, key, rpoSeconds, now } = c;
  const stamp: CanaryStamp = { nonce: randomBytes(8).toString('hex'), writtenAt: now() };
  await from.putCanary(key, stamp);
  const deadline = stamp.writtenAt + rpoSeconds * 1000;
  const evidence: Evidence = {
    key,
    primary: from.where,
    secondary: to.where,
    nonce: stamp.nonce,
    rpoSeconds,
  };
  let seen: CanaryStamp | null = null;
  for (;;) {
    seen = await to.readCanary(key);
    if (seen?.nonce === stamp.nonce) {
      const seconds = round1((now() - stamp.writtenAt) / 1000);
      return {
        ok: true,
        seconds,
        detail: `canary ${key} written to ${from.where} appeared in ${to.where} after ${seconds} s (RPO ${rpoSeconds} s)`,
        evidence: { ...evidence, seconds },
      };
    }
    if (now() >= deadline) break;
    await sleep(Math.max(0, Math.min(c.pollMs, deadline - now())));
  }
  // The newest canary the target does hold says how far behind it is.
  const older = seen
    ? `; it holds an older canary, written ${round1((now() - seen.writtenAt) / 1000)} s ago`
    : '; it holds no canary at all (replication never delivered one, or the rule does not cover the prefix)';
  return {
    ok: false,
    seconds: null,
    detail: `canary ${key} written to ${from.where} has not appeared in ${to.where} within the RPO of ${rpoSeconds} s${older}. Check the replication rule and its role/permissions.`,
    evidence: {
      ...evidence,
      secondaryNonce: seen?.nonce ?? null,
      secondaryWrittenAt: seen?.writtenAt ?? null,
    },
  };
}

/** The secondary's objects the primary lacks, or holds with another content hash. */
async function secondaryWrites(
  primary: ObjectStoreSide,
  secondary: ObjectStoreSide,
  canaryPrefix: string,
  limit: number,
): Promise<SecondaryWrites> {
  const [p, s] = await Promise.all([primary.list(limit), secondary.list(limit)]);
  const onPrimary = new Map(p.objects.map((o) => [o.key, o]));
  const objects = s.objects.filter((o) => {
    if (o.key.startsWith(canaryPrefix)) return false;
    const there = onPrimary.get(o.key);
    if (!there) return !p.truncated || o.key < p.objects[p.objects.length - 1]!.key;
    // Without a hash on both sides the copies cannot be told apart: only a missing key counts.
    return o.hash !== null && there.hash !== null && o.hash !== there.hash;
  });
  return { objects, scanned: s.objects.length, truncated: s.truncated || p.truncated };
}

/**
 * Write a rights canary (its own key, so a replication check running meanwhile keeps its nonce)
 * to the primary, and read the canary on the secondary: the two calls the canary makes. Only an
 * access denied is a missing right; a side that cannot be reached is the readiness's concern.
 */
async function checkAccess(
  primary: ObjectStoreSide,
  secondary: ObjectStoreSide,
  key: string,
  now: () => number,
): Promise<CanaryAccess> {
  const out: CanaryAccess = { denied: [], unchecked: [] };
  const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const denied = err instanceof DrError && err.code === 'forbidden';
      (denied ? out.denied : out.unchecked).push((err as Error).message);
    }
  };
  const stamp = { nonce: randomBytes(8).toString('hex'), writtenAt: now() };
  await attempt(() => primary.putCanary(`${key}-rights`, stamp));
  await attempt(() => secondary.readCanary(key));
  return out;
}

export function createObjectStorageProvider(
  opts: ObjectStorageProviderOptions,
): ObjectStorageProvider {
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1000;
  const { primary, secondary, canaryKey } = opts;
  return {
    name: opts.name,
    primaryWhere: primary.where,
    secondaryWhere: secondary.where,
    checkReplication: (check = {}) =>
      runCanary({
        from: primary,
        to: secondary,
        key: canaryKey,
        rpoSeconds: check.rpoSeconds ?? opts.rpoSeconds,
        pollMs,
        now,
      }),
    checkReverseReplication: (check = {}) =>
      runCanary({
        from: secondary,
        to: primary,
        key: `${canaryKey}-reverse`,
        rpoSeconds: check.rpoSeconds ?? opts.rpoSeconds,
        pollMs,
        now,
      }),
    checkAccess: () => checkAccess(primary, secondary, canaryKey, now),
    secondaryWrites: (o = {}) =>
      secondaryWrites(primary, secondary, opts.canaryPrefix ?? canaryKey, o.limit ?? 10_000),
    async close() {
      await Promise.all([primary.close(), secondary.close()]);
    },
  };
}
