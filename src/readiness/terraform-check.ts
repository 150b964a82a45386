/**
 * The Terraform state row: both regions' copies compared by lineage and serial, with their age
 * and locks. Red when a copy is missing or is no state file, when the lineages differ (two
 * different states: an apply after failover would fork the infrastructure's record), when the
 * secondary is more than maxSerialLag serials behind (or ahead: written there and not back),
 * or when a lock is older than staleLockMinutes (it blocks the apply after a failover).
 * Evidence holds only lineage, serial, times and lock state: never state content.
 */
import type { Evidence } from '../domain/types.js';
import { formatDuration } from '../domain/format.js';
import type { StateLock, StateRead, TerraformStateCopy } from '../providers/terraform-state.js';
import type { ReadinessCheck, ReadinessFinding } from './types.js';

interface TerraformCheckOptions {
  primary: TerraformStateCopy;
  secondary: TerraformStateCopy;
  maxSerialLag: number;
  staleLockMinutes: number;
  now?: () => number;
}

type Side = 'primary' | 'secondary';

interface CopyState {
  side: Side;
  where: string;
  read: StateRead;
  lock: StateLock;
}

const age = (now: number, at: number | null): string =>
  at === null ? 'age unknown' : `${formatDuration(Math.max(0, now - at))} old`;

function copyEvidence(c: CopyState): Evidence {
  const r = c.read;
  return {
    where: c.where,
    found: r.found,
    lineage: r.found ? (r.header?.lineage ?? null) : null,
    serial: r.found ? (r.header?.serial ?? null) : null,
    modifiedAt: r.found && r.modifiedAt !== null ? new Date(r.modifiedAt).toISOString() : null,
    locked: c.lock.held,
    lockedSince: c.lock.since === null ? null : new Date(c.lock.since).toISOString(),
  };
}

/** The problems of one copy alone: missing, unreadable, or a stale lock. */
function copyProblems(c: CopyState, staleMs: number, now: number): string[] {
  const out: string[] = [];
  if (!c.read.found)
    out.push(
      `the ${c.side}'s state ${c.where} is missing: check the key and the state replication`,
    );
  else if (!c.read.header)
    out.push(
      `the ${c.side}'s ${c.where} is not a Terraform state file (no serial and lineage in its header)`,
    );
  if (c.lock.held && c.lock.since !== null && now - c.lock.since > staleMs)
    out.push(
      `the ${c.side}'s state has been locked for ${formatDuration(now - c.lock.since)}, a stale lock that blocks the apply after a failover: check no run holds it, then terraform force-unlock`,
    );
  return out;
}

function compare(p: CopyState, s: CopyState, maxSerialLag: number): string[] {
  if (!p.read.found || !s.read.found || !p.read.header || !s.read.header) return [];
  const a = p.read.header;
  const b = s.read.header;
  if (a.lineage !== b.lineage)
    return [
      `the copies differ in lineage (primary ${a.lineage}, secondary ${b.lineage} in ${s.where}): they are two different states, not a replica; restore the secondary's copy from the primary's`,
    ];
  const behind = a.serial - b.serial;
  if (behind > maxSerialLag)
    return [
      `the secondary's serial ${b.serial} is ${behind} behind the primary's ${a.serial} (tolerance ${maxSerialLag}): its copy misses the last applies; check the state bucket's replication`,
    ];
  if (behind < 0)
    return [
      `the secondary's serial ${b.serial} is ${-behind} ahead of the primary's ${a.serial}: it was applied in the secondary and not copied back`,
    ];
  return [];
}

function measuredOf(c: CopyState, now: number): string {
  const r = c.read;
  if (!r.found) return `${c.side} missing`;
  if (!r.header) return `${c.side} not a state`;
  const lock = c.lock.held
    ? `, locked${c.lock.since === null ? '' : ` ${age(now, c.lock.since).replace(' old', '')}`}`
    : '';
  return `${c.side} serial ${r.header.serial} (${age(now, r.modifiedAt)}${lock})`;
}

export function terraformStateCheck(opts: TerraformCheckOptions): ReadinessCheck {
  const now = opts.now ?? Date.now;
  const target = `same lineage, secondary ≤ ${opts.maxSerialLag} serial(s) behind, no lock older than ${opts.staleLockMinutes} min`;
  const load = async (side: Side): Promise<CopyState> => {
    const copy = opts[side];
    const [read, lock] = await Promise.all([copy.read(), copy.readLock()]);
    return { side, where: copy.where, read, lock };
  };
  return {
    id: 'terraform-state',
    title: 'Terraform state',
    async run(): Promise<ReadinessFinding> {
      const [p, s] = await Promise.all([load('primary'), load('secondary')]);
      const t = now();
      const problems = [
        ...copyProblems(p, opts.staleLockMinutes * 60_000, t),
        ...copyProblems(s, opts.staleLockMinutes * 60_000, t),
        ...compare(p, s, opts.maxSerialLag),
      ];
      const measured = `${measuredOf(p, t)}; ${measuredOf(s, t)}`;
      const evidence: Evidence = { primary: copyEvidence(p), secondary: copyEvidence(s) };
      if (problems.length > 0)
        return { status: 'degraded', detail: problems.join('; '), measured, target, evidence };
      const lineage = p.read.found && p.read.header ? p.read.header.lineage : '?';
      const locks = [p, s]
        .filter((c) => c.lock.held)
        .map((c) => `the ${c.side}'s state is locked (a run in progress?)`);
      return {
        status: 'ok',
        detail: `both copies of lineage ${lineage} in step: ${p.where} and ${s.where}${locks.length ? `; ${locks.join('; ')}` : ''}`,
        measured,
        target,
        evidence,
      };
    },
  };
}
