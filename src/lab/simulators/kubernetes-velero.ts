/**
 * Velero's BackupStorageLocations in the Kubernetes simulator (velero.io/v1, served in their
 * namespace for get and list). Fields as Velero's API types define them (velero.io/docs
 * api-types/backupstoragelocation; pkg/apis/velero/v1/backupstoragelocation_types.go):
 * spec.provider, spec.objectStorage.bucket/prefix, spec.accessMode (ReadWrite | ReadOnly),
 * spec.backupSyncPeriod; status.phase (Available | Unavailable), status.lastSyncedTime,
 * status.lastValidationTime.
 */
import type { RecordedRequest, SimResponse } from './http-sim.js';
import { json } from './http-sim.js';

export interface SimBackupStorageLocation {
  namespace?: string;
  name: string;
  phase: 'Available' | 'Unavailable';
  bucket: string;
  prefix?: string;
  accessMode?: 'ReadWrite' | 'ReadOnly';
  /**
   * Velero syncs the backups in the bucket into the cluster every backupSyncPeriod (default 1 min):
   * while `syncing` (default true) lastSyncedTime follows the clock; otherwise it stays at
   * `lastSyncedAt` (or is absent: never synced).
   */
  syncing?: boolean;
  lastSyncedAt?: Date;
}

const SYNC_PERIOD_MS = 60_000;
const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function locationJson(l: SimBackupStorageLocation, ns: string): Record<string, unknown> {
  const now = Date.now();
  const synced = l.syncing === false ? l.lastSyncedAt : new Date(now - (now % SYNC_PERIOD_MS));
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name: l.name, namespace: ns, uid: `uid-bsl-${l.name}` },
    spec: {
      provider: 'aws',
      objectStorage: { bucket: l.bucket, ...(l.prefix ? { prefix: l.prefix } : {}) },
      accessMode: l.accessMode ?? 'ReadWrite',
      backupSyncPeriod: '1m0s',
    },
    status: {
      phase: l.phase,
      lastValidationTime: iso(new Date(now - (now % 10_000))),
      ...(synced ? { lastSyncedTime: iso(synced) } : {}),
    },
  };
}

function notFound(name: string): SimResponse {
  // As the API server answers a missing object: a Status naming it (kind, group, name).
  return json(404, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `backupstoragelocations.velero.io "${name}" not found`,
    reason: 'NotFound',
    details: { name, group: 'velero.io', kind: 'backupstoragelocations' },
    code: 404,
  });
}

/** GET one (name) or the list of the namespace; other methods are refused. */
export function veleroLocationsResponse(
  locations: SimBackupStorageLocation[],
  req: RecordedRequest,
  ns: string,
  name: string | undefined,
): SimResponse {
  if (req.method !== 'GET')
    return json(405, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'MethodNotAllowed',
      message: `${req.method} is not supported on backupstoragelocations by the simulator`,
      code: 405,
    });
  const here = locations.filter((l) => (l.namespace ?? 'velero') === ns);
  if (name === undefined)
    return json(200, {
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocationList',
      metadata: {},
      items: here.map((l) => locationJson(l, ns)),
    });
  const l = here.find((x) => x.name === name);
  return l ? json(200, locationJson(l, ns)) : notFound(name);
}
