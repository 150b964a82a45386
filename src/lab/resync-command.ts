/** The lab's postgres.resync.command, as written into the lab's bot config. */
import { fileURLToPath } from 'node:url';

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `<node> <repo>/bin/dr.js lab resync --dir <DIR>`: the node running now and this checkout's (or
 * image's) dr, so the command works without `dr` on the PATH. Quoted: the lab dir may hold spaces.
 */
export function labResyncCommand(dir: string): string {
  const drJs = fileURLToPath(new URL('../../bin/dr.js', import.meta.url));
  return [process.execPath, drJs, 'lab', 'resync', '--dir', dir].map(shellQuote).join(' ');
}
