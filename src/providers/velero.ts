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
}

interface VeleroBackupCheck {
  /** The newest completed backup is younger than maxAgeHours. */
  ok: boolean;
  ageHours: number | null;
  detail: string;
  evidence: Evidence;
}

export interface VeleroReader {
  listBackups(): Promise<VeleroBackup[]>;
  checkNewestBackup(): Promise<VeleroBackupCheck>;
}

interface BackupObject {
  metadata?: { name?: string };
  status?: { phase?: string; completionTimestamp?: string };
}

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
    return (list.items ?? []).map((b) => {
      const completed = b.status?.completionTimestamp
        ? Date.parse(b.status.completionTimestamp)
        : NaN;
      return {
        name: b.metadata?.name ?? '?',
        phase: b.status?.phase ?? 'New',
        completedAt: Number.isFinite(completed) ? completed : null,
      };
    });
  } catch (err) {
    const mapped = mapKubernetesError(err, region, `listing Velero backups in ${opts.namespace}`);
    // The generic advice names workload permissions; this call needs a different one.
    if (err instanceof ApiException && err.code === 403)
      return Promise.reject(
        new ProviderError(
          'kubernetes',
          `(${region}) listing Velero backups in ${opts.namespace}: forbidden. Give the bot's service account list on backups.velero.io in namespace ${opts.namespace}.`,
          { code: 'forbidden', cause: err },
        ),
      );
    if (err instanceof ApiException && err.code === 404)
      return Promise.reject(
        new PreconditionFailed(
          `kubernetes (${region}): no velero.io/v1 Backup resource in namespace ${opts.namespace}: is Velero installed in the ${region} cluster, and is kubernetes.velero.namespace right?`,
          { code: 'not-found', cause: err },
        ),
      );
    throw mapped;
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
    listBackups: () => listBackups(ctx),
    async checkNewestBackup() {
      return newestBackupCheck(ctx, await reader.listBackups());
    },
  };
  return reader;
}
