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
import { sleep } from './dns-resolve.js';

/** What a canary carries; both values travel as object metadata. */
interface CanaryStamp {
  nonce: string;
  writtenAt: number;
}

/** Metadata keys: lower-case identifiers, valid for S3 (x-amz-meta-*) and Azure (C# identifiers). */
const CANARY_NONCE_KEY = 'drcanary';
const CANARY_WRITTEN_KEY = 'drwrittenat';

/** One bucket or container of one region. */
export interface ObjectStoreSide {
  /** "s3://bucket (eu-west-1)", "azure-blob://account/container". */
  readonly where: string;
  putCanary(key: string, stamp: CanaryStamp): Promise<void>;
  /** The canary as this side holds it now; null when there is none. */
  readCanary(key: string): Promise<CanaryStamp | null>;
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

export interface ObjectStorageProvider {
  readonly name: 's3' | 'azure-blob';
  checkReplication(opts?: { rpoSeconds?: number }): Promise<ReplicationCheck>;
  close(): Promise<void>;
}

interface ObjectStorageProviderOptions {
  name: 's3' | 'azure-blob';
  primary: ObjectStoreSide;
  secondary: ObjectStoreSide;
  /** Object key of the canary (config: canaryPrefix + environment). */
  canaryKey: string;
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

export function createObjectStorageProvider(
  opts: ObjectStorageProviderOptions,
): ObjectStorageProvider {
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1000;
  const { primary, secondary, canaryKey } = opts;
  return {
    name: opts.name,
    async checkReplication(check = {}) {
      const rpoSeconds = check.rpoSeconds ?? opts.rpoSeconds;
      const stamp: CanaryStamp = { nonce: randomBytes(8).toString('hex'), writtenAt: now() };
      await primary.putCanary(canaryKey, stamp);
      const deadline = stamp.writtenAt + rpoSeconds * 1000;
      const evidence: Evidence = {
        key: canaryKey,
        primary: primary.where,
        secondary: secondary.where,
        nonce: stamp.nonce,
        rpoSeconds,
      };
      let seen: CanaryStamp | null = null;
      for (;;) {
        seen = await secondary.readCanary(canaryKey);
        if (seen?.nonce === stamp.nonce) {
          const seconds = round1((now() - stamp.writtenAt) / 1000);
          return {
            ok: true,
            seconds,
            detail: `canary ${canaryKey} written to ${primary.where} appeared in ${secondary.where} after ${seconds} s (RPO ${rpoSeconds} s)`,
            evidence: { ...evidence, seconds },
          };
        }
        if (now() >= deadline) break;
        await sleep(Math.max(0, Math.min(pollMs, deadline - now())));
      }
      // The newest canary the secondary does hold says how far behind it is.
      const older = seen
        ? `; it holds an older canary, written ${round1((now() - seen.writtenAt) / 1000)} s ago`
        : '; it holds no canary at all (replication never delivered one, or the rule does not cover the prefix)';
      return {
        ok: false,
        seconds: null,
        detail: `canary ${canaryKey} written to ${primary.where} has not appeared in ${secondary.where} within the RPO of ${rpoSeconds} s${older}. Check the replication rule and its role/permissions.`,
        evidence: {
          ...evidence,
          secondaryNonce: seen?.nonce ?? null,
          secondaryWrittenAt: seen?.writtenAt ?? null,
        },
      };
    },
    async close() {
      await Promise.all([primary.close(), secondary.close()]);
    },
  };
}
