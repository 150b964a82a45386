/**
 * Terraform state copies, one per region, read for their header only: `serial` and `lineage`,
 * the object's last-modified time and whether a lock is held. A state file holds secrets
 * (outputs, resource attributes), so readers fetch only its first bytes and this parser keeps
 * nothing past the header; nothing else is returned, logged or put in evidence.
 * Implementations: terraform-state-s3.ts (S3 backend) and terraform-state-azure.ts (azurerm).
 */

/** Bytes read from the start of a state file: enough for its header, before outputs. */
export const STATE_HEADER_BYTES = 4096;

interface StateHeader {
  lineage: string;
  serial: number;
}

/** One copy as read: missing, present but not a state file, or its header. */
export type StateRead =
  { found: false } | { found: true; header: StateHeader | null; modifiedAt: number | null };

export interface StateLock {
  held: boolean;
  /** When the lock was taken, where the backend records it. */
  since: number | null;
}

export interface TerraformStateCopy {
  /** "s3://bucket/key (region)", "azurerm://account/container/key". */
  readonly where: string;
  read(): Promise<StateRead>;
  readLock(): Promise<StateLock>;
  close(): Promise<void>;
}

/** The `Created` time in Terraform's lock info JSON (statemgr.LockInfo), when it holds one. */
export function lockInfoCreated(json: string): number | null {
  try {
    const info = JSON.parse(json) as { Created?: unknown };
    const at = typeof info.Created === 'string' ? Date.parse(info.Created) : NaN;
    return Number.isFinite(at) ? at : null;
  } catch {
    return null;
  }
}

/**
 * serial and lineage from the start of a state file. Terraform writes version,
 * terraform_version, serial and lineage before outputs and resources (state format v4), so
 * only the text before the first of those two is searched: a nested "serial" inside outputs
 * or resources is never taken, nor kept.
 */
export function parseStateHeader(prefix: string): StateHeader | null {
  const cut = prefix.search(/"(outputs|resources|check_results)"\s*:/);
  const head = cut >= 0 ? prefix.slice(0, cut) : prefix;
  const serial = /"serial"\s*:\s*(\d{1,15})\b/.exec(head);
  const lineage = /"lineage"\s*:\s*"([A-Za-z0-9-]{1,64})"/.exec(head);
  if (!serial || !lineage) return null;
  return { serial: Number(serial[1]), lineage: lineage[1]! };
}
