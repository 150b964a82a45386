/**
 * Velero backups of a cluster's state: lists the velero.io/v1 Backup resources in the Velero
 * namespace of one region's cluster and finds the newest one that completed. A restore after a
 * regional loss can only bring back what that backup holds, so its age is the RPO of the
 * Kubernetes state. The bot's service account needs list on backups.velero.io there.
 */
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { PreconditionFailed, ProviderError } from '../errors.js';
import type { Evidence, RegionRole } from '../domain/types.js';
import { loadKubeConfig, mapKubernetesError, type ClusterRef } from './kubernetes.js';

interface VeleroOptions {
  cluster: ClusterRef;
  /** The region whose cluster holds the backups (default secondary: where a restore happens). */
  region?: RegionRole;
  namespace: string;
  maxAgeHours: number;
  now?: () => number;
}

interface VeleroBackup {
  name: string;
  phase: string;
  completedAt: number | null;
  /** The Schedule that made it (label velero.io/schedule-name); null for a manual backup. */
  schedule: string | null;
  /** spec.storageLocation; Velero's default location when unset. */
  storageLocation: string;
}

/** A velero.io/v1 BackupStorageLocation as read: where backups go, and whether Velero can use it. */
export interface VeleroLocation {
  name: string;
  /** Available | Unavailable; null before Velero first validated it. */
  phase: string | null;
  bucket: string | null;
  prefix: string;
  /** When Velero last synced the backups in the bucket into this cluster (status.lastSyncedTime). */
  lastSyncedAt: number | null;
  accessMode: string;
}

interface VeleroBackupCheck {
  /** The newest completed backup is younger than maxAgeHours. */
  ok: boolean;
  ageHours: number | null;
  detail: string;
  evidence: Evidence;
}

export interface VeleroReader {
  /** "namespace velero of the primary cluster". */
  readonly where: string;
  listBackups(): Promise<VeleroBackup[]>;
  checkNewestBackup(): Promise<VeleroBackupCheck>;
  /** The named BackupStorageLocation, or null when the cluster has none of that name. */
  getLocation(name: string): Promise<VeleroLocation | null>;
}

interface BackupObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { storageLocation?: string };
  status?: { phase?: string; completionTimestamp?: string };
}

interface LocationObject {
  metadata?: { name?: string };
  spec?: { accessMode?: string; objectStorage?: { bucket?: string; prefix?: string } };
  status?: { phase?: string; lastSyncedTime?: string };
}

const time = (s: string | undefined): number | null => {
  const t = s ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : null;
};

const hours = (ms: number): number => Math.round((ms / 3_600_000) * 10) / 10;

/** What the reader's functions work with; one per reader. */
interface VeleroContext {
  opts: VeleroOptions;
  region: RegionRole;
  now: () => number;
  /** Made by the first listBackups(); a kubeconfig error surfaces there, mapped. */
  api: CustomObjectsApi | undefined;
  where: string;
}

async function listBackups(ctx: VeleroContext): Promise<VeleroBackup[]> {
  const { opts, region } = ctx;
  try {
    ctx.api ??= loadKubeConfig(opts.cluster, region).makeApiClient(CustomObjectsApi);
    const list = (await ctx.api.listNamespacedCustomObject({
      group: 'velero.io',
      version: 'v1',
      namespace: opts.namespace,
      plural: 'backups',
    })) as { items?: BackupObject[] };
    return (list.items ?? []).map((b) => ({
      name: b.metadata?.name ?? '?',
      phase: b.status?.phase ?? 'New',
      completedAt: time(b.status?.completionTimestamp),
      schedule: b.metadata?.labels?.['velero.io/schedule-name'] ?? null,
      storageLocation: b.spec?.storageLocation || 'default',
    }));
  } catch (err) {
    throw veleroError(ctx, err, 'list on backups', 'listing Velero backups');
  }
}

async function getLocation(ctx: VeleroContext, name: string): Promise<VeleroLocation | null> {
  const { opts, region } = ctx;
  try {
    ctx.api ??= loadKubeConfig(opts.cluster, region).makeApiClient(CustomObjectsApi);
    const l = (await ctx.api.getNamespacedCustomObject({
      group: 'velero.io',
      version: 'v1',
      namespace: opts.namespace,
      plural: 'backupstoragelocations',
      name,
    })) as LocationObject;
    return {
      name: l.metadata?.name ?? name,
      phase: l.status?.phase ?? null,
      bucket: l.spec?.objectStorage?.bucket ?? null,
      prefix: l.spec?.objectStorage?.prefix ?? '',
      lastSyncedAt: time(l.status?.lastSyncedTime),
      accessMode: l.spec?.accessMode ?? 'ReadWrite',
    };
  } catch (err) {
    // A missing location answers NotFound with a Status naming it; a missing CRD, a bare 404.
    if (objectNotFound(err, name)) return null;
    throw veleroError(
      ctx,
      err,
      'get on backupstoragelocations',
      `reading BackupStorageLocation ${name}`,
    );
  }
}

/** The Velero API's errors in words: which permission, or that Velero is not installed. */
function veleroError(ctx: VeleroContext, err: unknown, need: string, doing: string): Error {
  const { opts, region } = ctx;
  // The generic advice names workload permissions; these calls need a different one.
  if (err instanceof ApiException && err.code === 403)
    return new ProviderError(
      'kubernetes',
      `(${region}) ${doing} in ${opts.namespace}: forbidden. Give the bot's service account ${need}.velero.io in namespace ${opts.namespace}.`,
      { code: 'forbidden', cause: err },
    );
  if (err instanceof ApiException && err.code === 404)
    return new PreconditionFailed(
      `kubernetes (${region}): no velero.io/v1 ${need.split(' ').pop()} resource in namespace ${opts.namespace}: is Velero installed in the ${region} cluster, and is kubernetes.velero.namespace right?`,
      { code: 'not-found', cause: err },
    );
  return mapKubernetesError(err, region, `${doing} in ${opts.namespace}`);
}

/** A 404 for a named object (its Status names it), not for a missing resource type. */
function objectNotFound(err: unknown, name: string): boolean {
  if (!(err instanceof ApiException) || err.code !== 404) return false;
  const body = err.body as unknown;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as {
      details?: { name?: string };
    };
    return status?.details?.name === name;
  } catch {
    return false;
  }
}

/** The newest Completed backup of `backups` and whether it is young enough. */
function newestBackupCheck(ctx: VeleroContext, backups: VeleroBackup[]): VeleroBackupCheck {
  const { opts, region, now, where } = ctx;
  // PartiallyFailed backups miss resources: only Completed ones count as a restore point.
  const completed = backups
    .filter((b) => b.phase === 'Completed' && b.completedAt !== null)
    .sort((a, b) => b.completedAt! - a.completedAt!);
  const newest = completed[0];
  const base: Evidence = {
    namespace: opts.namespace,
    region,
    backups: backups.length,
    completed: completed.length,
    maxAgeHours: opts.maxAgeHours,
  };
  if (!newest) {
    const phases = [...new Set(backups.map((b) => b.phase))].join(', ');
    return {
      ok: false,
      ageHours: null,
      detail: `no completed Velero backup in ${where}${backups.length ? ` (${backups.length} backups, phases: ${phases})` : ''}: check the Velero schedule and its backup storage location`,
      evidence: base,
    };
  }
  const ageHours = hours(now() - newest.completedAt!);
  const ok = ageHours < opts.maxAgeHours;
  const at = new Date(newest.completedAt!).toISOString();
  return {
    ok,
    ageHours,
    detail: ok
      ? `newest completed backup ${newest.name} finished ${ageHours} h ago (${at}); limit ${opts.maxAgeHours} h`
      : `newest completed backup ${newest.name} finished ${ageHours} h ago (${at}), older than ${opts.maxAgeHours} h: check the Velero schedule (velero schedule get) and recent failed backups`,
    evidence: { ...base, newest: newest.name, completedAt: at, ageHours },
  };
}

export function createVeleroReader(opts: VeleroOptions): VeleroReader {
  const region = opts.region ?? 'secondary';
  const ctx: VeleroContext = {
    opts,
    region,
    now: opts.now ?? Date.now,
    api: undefined,
    where: `namespace ${opts.namespace} of the ${region} cluster`,
  };
  const reader: VeleroReader = {
    where: ctx.where,
    listBackups: () => listBackups(ctx),
    getLocation: (name) => getLocation(ctx, name),
    async checkNewestBackup() {
      return newestBackupCheck(ctx, await reader.listBackups());
    },
  };
  return reader;
}
