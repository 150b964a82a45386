/** Finding a lab's processes by what /proc says of them, and waiting for a moment in a child's life. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Every live process of the lab in `dir`: working directory inside it (servers, the tools that
 * build them) or, unless `cwdOnly`, `dir` in its command line (the simulators).
 */
export function labProcesses(dir: string, except: number[] = [], cwdOnly = false): string[] {
  const found: string[] = [];
  for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    const pid = Number(p);
    if (except.includes(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ')) continue;
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      if (cwd === dir || cwd.startsWith(`${dir}/`) || (!cwdOnly && cmd.includes(dir)))
        found.push(`${pid} ${cmd.trim()}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

export async function until(what: string, probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
