/**
 * The directory a lab lives in: `dr lab up` takes a new or empty one (never another lab's, never
 * one holding other files, since `dr lab down` deletes it), and a failed `up` leaves it as it was.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PreconditionFailed } from '../errors.js';
import { LAB_FILE, readManifestQuietly } from './manifest.js';
import { pathKind, type LabUser } from './system.js';

export function prepareDir(
  dir: string | undefined,
  user: LabUser,
): { dir: string; created: boolean } {
  let target: string;
  let created = true;
  if (dir === undefined) {
    target = mkdtempSync(join(tmpdir(), 'dr-lab-'));
  } else {
    target = resolve(dir);
    const kind = pathKind(target);
    if (kind === 'other') {
      throw new PreconditionFailed(
        `${target} exists and is not a directory: give \`dr lab up --dir\` a new path (it is created) or an empty directory`,
      );
    }
    if (kind === 'directory' && existsSync(join(target, LAB_FILE))) {
      const starting = readManifestQuietly(target)?.starting;
      throw new PreconditionFailed(
        starting
          ? `${target} holds a lab that did not finish starting (\`dr lab up\` was interrupted): run \`npx dr lab down --dir ${target}\` to stop what it started, then start again`
          : `a lab already lives in ${target} (${LAB_FILE} exists): run \`npx dr lab down --dir ${target}\` first or choose another --dir`,
      );
    }
    if (kind === 'directory') {
      const entries = readdirSync(target);
      if (entries.length > 0) {
        const shown =
          entries.slice(0, 3).join(', ') +
          (entries.length > 3 ? `, … (${entries.length} entries)` : '');
        throw new PreconditionFailed(
          `${target} is not empty (it holds ${shown}) and is not a lab: \`dr lab up --dir\` needs a new or empty directory, because \`dr lab down\` deletes it; choose another --dir`,
        );
      }
    }
    created = kind === 'missing';
    try {
      mkdirSync(target, { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOTDIR' || code === 'EEXIST'
          ? 'a part of that path is a file, not a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
      throw new PreconditionFailed(
        `cannot create the lab directory ${target}: ${why}; give \`dr lab up --dir\` a path under a directory you can write to (e.g. /tmp)`,
        { cause: err },
      );
    }
  }
  // The servers run as `user` and keep their data, sockets and logs here.
  if (user.uid !== undefined) chownSync(target, user.uid, user.gid ?? user.uid);
  return { dir: target, created };
}

/** Undo a failed `up`: delete what we made, but only empty a directory the user handed us. */
export function removeDir(dir: string, created: boolean): void {
  if (!existsSync(dir)) return;
  if (created) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}
