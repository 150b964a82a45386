/**
 * `dr lab down`: stop every process a lab started, by the pids lab.json records (also for a lab
 * whose `up` was interrupted), then delete its directory.
 */
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { PreconditionFailed } from '../errors.js';
import { readManifest, type LabManifest, type Pending } from './manifest.js';
import { pgStop, type PgLabContext, type PgServerInfo } from './postgres.js';
import { stopRedis, type RedisServerInfo } from './redis.js';
import { commandOf, isAlive, killLabProcessesIn, labUser, waitForExit } from './system.js';
import type { LabSimulatorInfo } from './types.js';

function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopSimulator(sim: Partial<LabSimulatorInfo>, dir: string): Promise<void> {
  let pid = sim.pid;
  if (pid === undefined && sim.pidFile) {
    pid = readPidFile(sim.pidFile);
    // Only a pid file names this one: make sure it is still the simulator of this lab (its --dir is in it).
    if (pid !== undefined && !(commandOf(pid) ?? '').includes(dir)) return;
  }
  if (pid === undefined || !isAlive(pid) || commandOf(pid) === undefined) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 5000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
  }
}

export async function stopAll(lab: LabManifest): Promise<void> {
  const ctx: PgLabContext = { bindir: lab.postgres?.bindir ?? '', user: labUser(), socketDir: '' };
  const pgServers = [lab.postgres?.secondary, lab.postgres?.primary].filter(
    (s): s is Pending<PgServerInfo> => !!s,
  );
  const redisServers = [lab.redis?.secondary, lab.redis?.primary, lab.stateRedis].filter(
    (s): s is Pending<RedisServerInfo> => !!s,
  );
  const simulators: Partial<LabSimulatorInfo>[] = [
    ...Object.values(lab.simulators ?? {}),
    ...Object.values(lab.pendingParts ?? {}),
  ];
  const results = await Promise.allSettled([
    ...pgServers.map((s) => pgStop(ctx, s.dataDir, 'immediate', s.pid)),
    ...redisServers.map((s) => stopRedis(s)),
    ...simulators.map((sim) => stopSimulator(sim, lab.dir)),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Stop every process the lab started (by pid, waiting for each to exit), then delete DIR. Works on
 * a half-started lab too (an `up` that was interrupted or killed), once that `up` is gone.
 */
export async function labDown(opts: { dir: string }): Promise<void> {
  const dir = resolve(opts.dir);
  const manifest = readManifest(dir);
  const upPid = manifest.starting?.pid;
  if (
    upPid !== undefined &&
    upPid !== process.pid &&
    isAlive(upPid) &&
    /\bnode\b|dr/.test(commandOf(upPid) ?? '')
  ) {
    throw new PreconditionFailed(
      `\`dr lab up\` (pid ${upPid}) is still starting the lab in ${dir}: interrupt it (Ctrl-C, or kill ${upPid}) and it stops what it started and removes the directory; if it hangs, kill -9 ${upPid} and run \`npx dr lab down\` again`,
    );
  }
  await stopAll({ ...manifest, dir });
  // Anything of the lab no pid file names (an `up` killed between starting a server and recording it).
  await killLabProcessesIn(dir);
  rmSync(dir, { recursive: true, force: true });
}
