/**
 * DIR/lab.json, the record of a lab: written from the moment `dr lab up` makes the directory (a
 * LabManifest while it starts, a LabInfo once complete) and read back by every other lab command.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PreconditionFailed } from '../errors.js';
import type { PgServerInfo } from './postgres.js';
import type { RedisServerInfo } from './redis.js';
import { isAlive, pathKind } from './system.js';
import type { LabInfo, LabSimulatorInfo } from './types.js';

export const LAB_FILE = 'lab.json';

/** A server recorded before it runs: its files are known, its pid not yet. */
export type Pending<T extends { pid: number }> = Omit<T, 'pid'> & { pid?: number };

/**
 * DIR/lab.json from the moment `up` makes the directory: every server is recorded (data dir, pid
 * file) before it starts and again with its pid once it runs, so a `dr lab down` after an `up`
 * that was killed (even SIGKILL) stops exactly what it had started. `starting` is there until the
 * lab is complete; the finished lab.json is a LabInfo.
 */
export interface LabManifest {
  dir: string;
  user?: string;
  starting?: { pid: number; since: string };
  postgres?: Partial<Pick<LabInfo['postgres'], 'bindir' | 'version' | 'slot' | 'walinspect'>> & {
    primary?: Pending<PgServerInfo>;
    secondary?: Pending<PgServerInfo>;
  };
  redis?: {
    version?: string;
    primary?: Pending<RedisServerInfo>;
    secondary?: Pending<RedisServerInfo>;
  };
  stateRedis?: Pending<RedisServerInfo>;
  simulators?: Record<string, LabSimulatorInfo>;
  /** Parts being started, by name: where their process writes its pid. */
  pendingParts?: Record<string, { pidFile: string }>;
}

export function writeJsonAtomically(file: string, value: unknown): void {
  // A kill in the middle of a write must not leave half a lab.json: write aside, then rename.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

export function writeLabInfo(info: LabInfo): void {
  writeJsonAtomically(join(info.dir, LAB_FILE), info);
}

export function readManifest(dir: string): LabManifest {
  const target = resolve(dir);
  const file = join(target, LAB_FILE);
  if (!existsSync(file)) {
    const what = !existsSync(target)
      ? `${target} does not exist`
      : pathKind(target) === 'directory'
        ? `${dir} is not a lab directory`
        : `${target} is not a directory`;
    throw new PreconditionFailed(
      `${file} not found: ${what} (start a lab with \`npx dr lab up --dir ${dir}\`)`,
      { code: 'not-found' },
    );
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabManifest;
  } catch (err) {
    throw new PreconditionFailed(
      `${file} is not readable as JSON (${(err as Error).message}): stop the lab's processes by hand, or fix the file`,
      { cause: err },
    );
  }
}

export function readManifestQuietly(dir: string): LabManifest | undefined {
  try {
    return readManifest(dir);
  } catch {
    return undefined;
  }
}

/** DIR/lab.json of a lab that is up (a half-started one is refused: only `dr lab down` deals with it). */
export function readLabInfo(dir: string): LabInfo {
  const manifest = readManifest(dir);
  if (manifest.starting) {
    const { pid } = manifest.starting;
    const still =
      pid !== process.pid && isAlive(pid)
        ? ` (\`dr lab up\`, pid ${pid}, may still be running)`
        : ' (`dr lab up` was interrupted)';
    throw new PreconditionFailed(
      `the lab in ${manifest.dir} did not finish starting${still}: run \`npx dr lab down --dir ${dir}\` to stop what it started`,
    );
  }
  return manifest as LabInfo;
}
