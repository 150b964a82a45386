/**
 * The Velero row, tied to the cluster it protects: the newest Completed backup of each configured
 * schedule, read from the primary cluster and stored in its BackupStorageLocation, younger than
 * the limit (PartiallyFailed and Failed ones are no restore point); and the secondary cluster
 * seeing those backups: its location on the same bucket and prefix, Available, synced lately,
 * and listing the newest backups, so a restore there would work.
 */
import type { Evidence } from '../domain/types.js';
import { formatDuration } from '../domain/format.js';
import type { VeleroLocation, VeleroReader } from '../providers/velero.js';
import type { ReadinessCheck, ReadinessFinding } from './types.js';

interface VeleroTieOptions {
  primary: VeleroReader;
  secondary: VeleroReader;
  /** The primary's BackupStorageLocation the backups go to. */
  storageLocation: string;
  /** The secondary's location reading the same bucket. */
  secondaryStorageLocation: string;
  /** Schedules whose newest backup must be young; empty: the newest backup of any. */
  schedules: string[];
  maxAgeHours: number;
  maxSyncAgeMinutes: number;
  now?: () => number;
}

type Backup = Awaited<ReturnType<VeleroReader['listBackups']>>[number];

const hours = (ms: number): number => Math.round((ms / 3_600_000) * 10) / 10;
const FAILED = new Set(['PartiallyFailed', 'Failed', 'FailedValidation']);
const at = (b: Backup): string => new Date(b.completedAt!).toISOString();

function locationEvidence(l: VeleroLocation | null): Evidence {
  if (!l) return { found: false };
  return {
    found: true,
    phase: l.phase,
    bucket: l.bucket,
    prefix: l.prefix,
    accessMode: l.accessMode,
    lastSyncedAt: l.lastSyncedAt === null ? null : new Date(l.lastSyncedAt).toISOString(),
  };
}

/** Problems with the two locations: missing, unavailable, on another bucket, not synced. */
function locationProblems(
  o: VeleroTieOptions,
  p: VeleroLocation | null,
  s: VeleroLocation | null,
  now: number,
): string[] {
  const out: string[] = [];
  const pName = o.storageLocation;
  const sName = o.secondaryStorageLocation;
  if (!p)
    out.push(
      `the primary cluster has no BackupStorageLocation ${pName}: check kubernetes.velero.storageLocation`,
    );
  else if (p.phase !== 'Available')
    out.push(
      `the primary's BackupStorageLocation ${pName} is ${p.phase ?? 'not validated yet'}: Velero cannot write backups to it (kubectl -n velero describe bsl ${pName})`,
    );
  if (!s) {
    out.push(
      `the secondary cluster has no BackupStorageLocation ${sName}: it cannot see the backups, so a restore there would fail; create one (accessMode ReadOnly) on the primary's bucket`,
    );
    return out;
  }
  if (s.phase !== 'Available')
    out.push(
      `the secondary's BackupStorageLocation ${sName} is ${s.phase ?? 'not validated yet'}: a restore there cannot read the backups`,
    );
  if (p && (s.bucket !== p.bucket || s.prefix !== p.prefix))
    out.push(
      `the secondary's BackupStorageLocation ${sName} reads ${s.bucket}/${s.prefix}, not the primary's ${p.bucket}/${p.prefix}: it sees other backups`,
    );
  const limit = o.maxSyncAgeMinutes * 60_000;
  if (s.lastSyncedAt === null)
    out.push(`the secondary's BackupStorageLocation ${sName} has never synced`);
  else if (now - s.lastSyncedAt > limit)
    out.push(
      `the secondary's BackupStorageLocation ${sName} last synced ${formatDuration(now - s.lastSyncedAt)} ago, over ${o.maxSyncAgeMinutes} min: newer backups are not visible there`,
    );
  return out;
}

interface ScheduleResult {
  label: string;
  newest: Backup | undefined;
  problems: string[];
}

/** The newest Completed backup of one schedule (or of all), and what is wrong with it. */
function scheduleResult(
  o: VeleroTieOptions,
  label: string,
  backups: Backup[],
  seenBySecondary: Set<string>,
  now: number,
): ScheduleResult {
  const done = backups
    .filter((b) => b.completedAt !== null)
    .sort((a, b) => b.completedAt! - a.completedAt!);
  const newest = done.find((b) => b.phase === 'Completed');
  // Partially failed backups miss resources: they count as failed, never as a restore point.
  const failedSince = done.filter(
    (b) => FAILED.has(b.phase) && (!newest || b.completedAt! > newest.completedAt!),
  );
  const failures = failedSince.length
    ? `; ${failedSince.length} newer failed (${failedSince.map((b) => `${b.name} ${b.phase}`).join(', ')})`
    : '';
  const where = `${label} in location ${o.storageLocation} of the primary cluster`;
  if (!newest)
    return {
      label,
      newest,
      problems: [
        `no completed Velero backup of ${where}${failures}: check the schedule (velero schedule get) and velero backup logs`,
      ],
    };
  const problems: string[] = [];
  const age = hours(now - newest.completedAt!);
  if (age >= o.maxAgeHours)
    problems.push(
      `the newest completed backup of ${where}, ${newest.name}, finished ${age} h ago (${at(newest)}), older than ${o.maxAgeHours} h${failures}`,
    );
  if (!seenBySecondary.has(newest.name))
    problems.push(
      `the secondary cluster does not list ${newest.name} (${label}): its BackupStorageLocation has not synced it, so a restore there would start from an older backup`,
    );
  return { label, newest, problems };
}

async function runTie(o: VeleroTieOptions): Promise<ReadinessFinding> {
  const now = (o.now ?? Date.now)();
  const [backups, pLoc, sLoc, sBackups] = await Promise.all([
    o.primary.listBackups(),
    o.primary.getLocation(o.storageLocation),
    o.secondary.getLocation(o.secondaryStorageLocation),
    o.secondary.listBackups(),
  ]);
  const inLocation = backups.filter((b) => b.storageLocation === o.storageLocation);
  const seen = new Set(sBackups.map((b) => b.name));
  const groups: [string, Backup[]][] = o.schedules.length
    ? o.schedules.map((s) => [`schedule ${s}`, inLocation.filter((b) => b.schedule === s)])
    : [['any schedule', inLocation]];
  const results = groups.map(([label, list]) => scheduleResult(o, label, list, seen, now));
  const problems = [...results.flatMap((r) => r.problems), ...locationProblems(o, pLoc, sLoc, now)];
  // The row's age is the oldest of the schedules' newest backups: the worst restore point.
  const newest = results.map((r) => r.newest);
  const worst = newest.includes(undefined)
    ? undefined
    : newest.sort((a, b) => a!.completedAt! - b!.completedAt!)[0];
  const ageHours = worst ? hours(now - worst.completedAt!) : null;
  const evidence: Evidence = {
    region: 'primary',
    storageLocation: o.storageLocation,
    schedules: Object.fromEntries(results.map((r) => [r.label, r.newest?.name ?? null])),
    primaryLocation: locationEvidence(pLoc),
    secondaryLocation: locationEvidence(sLoc),
    maxAgeHours: o.maxAgeHours,
    ...(worst ? { newest: worst.name, completedAt: at(worst), ageHours } : {}),
  };
  const measured = `${ageHours === null ? 'none completed' : `${ageHours} h old`}; secondary location ${sLoc ? (sLoc.phase ?? 'unvalidated') : 'missing'}`;
  const target = `< ${o.maxAgeHours} h, secondary location Available and synced`;
  if (problems.length)
    return { status: 'degraded', detail: problems.join('; '), measured, target, evidence };
  const names = results.map((r) => `${r.newest!.name} (${r.label})`).join(', ');
  return {
    status: 'ok',
    detail: `newest completed backups ${names} stored in ${o.storageLocation} of the primary cluster; the secondary's location ${o.secondaryStorageLocation} is Available and lists them`,
    measured,
    target,
    evidence,
  };
}

export function veleroCheck(o: VeleroTieOptions): ReadinessCheck {
  return { id: 'velero', title: 'Velero backup', run: () => runTie(o) };
}
