/**
 * The lab's resync action (`dr lab resync`, configured as postgres.resync.command): the host work
 * a failback needs on a PostgreSQL server — stop it, pg_rewind it from the current primary (or,
 * when told to rebuild, replace it with a pg_basebackup), make it a standby over a physical slot,
 * start it. The provider decides rewind or rebuild and falls back to rebuild when the rewind
 * fails; this does exactly what DR_RESYNC_METHOD says, so that decision stays in one place.
 */
import { PreconditionFailed } from '../errors.js';
import type { RegionRole } from '../domain/types.js';
import { readLabInfo, writeLabInfo } from './manifest.js';
import { resyncServer, type PgLabContext, type PgServerInfo } from './postgres.js';
import { labUser } from './system.js';

export type LabResyncMethod = 'rewind' | 'rebuild';

export interface LabResyncRequest {
  dir: string;
  /** The lab server that becomes a standby; the other one is the source. */
  standby: RegionRole;
  method: LabResyncMethod;
  /** When given (DR_RESYNC_TARGET_URL), must name the lab's `standby` server: a guard against a config pointing elsewhere. */
  targetUrl?: string;
}

export interface LabResyncResult {
  server: string;
  source: string;
  method: LabResyncMethod;
  slot: string;
  pid: number;
}

/** The variables `dr lab resync` reads, as the provider sets them; a wrong value says what to fix. */
export function resyncRequestFromEnv(dir: string, env: NodeJS.ProcessEnv): LabResyncRequest {
  const standby = env.DR_RESYNC_STANDBY;
  const method = env.DR_RESYNC_METHOD ?? 'rewind';
  if (standby !== 'primary' && standby !== 'secondary') {
    throw new PreconditionFailed(
      `DR_RESYNC_STANDBY must be primary or secondary (the side that becomes a standby), got ${standby === undefined ? 'nothing' : `"${standby}"`}`,
    );
  }
  if (method !== 'rewind' && method !== 'rebuild') {
    throw new PreconditionFailed(`DR_RESYNC_METHOD must be rewind or rebuild, got "${method}"`);
  }
  return {
    dir,
    standby,
    method,
    ...(env.DR_RESYNC_TARGET_URL ? { targetUrl: env.DR_RESYNC_TARGET_URL } : {}),
  };
}

function portOf(url: string): number | null {
  try {
    return Number(new URL(url).port || 5432);
  } catch {
    return null;
  }
}

export async function labResync(req: LabResyncRequest): Promise<LabResyncResult> {
  const info = readLabInfo(req.dir);
  const server: PgServerInfo = info.postgres[req.standby];
  const source: PgServerInfo = info.postgres[req.standby === 'primary' ? 'secondary' : 'primary'];
  if (req.targetUrl !== undefined && portOf(req.targetUrl) !== server.port) {
    throw new PreconditionFailed(
      `DR_RESYNC_TARGET_URL points at port ${portOf(req.targetUrl) ?? '?'}, but the lab's ${req.standby} PostgreSQL (${server.name}) listens on ${server.port}: this config is not the lab's in ${info.dir}`,
    );
  }
  const ctx: PgLabContext = { bindir: info.postgres.bindir, user: labUser(), socketDir: '' };
  const slot = `lab_${req.standby}`;
  const pid = await resyncServer(ctx, { server, source, slot, method: req.method });
  server.pid = pid;
  writeLabInfo(info);
  return { server: server.name, source: source.name, method: req.method, slot, pid };
}
