/**
 * Starts the simulators as a detached process that outlives the CLI (like the lab's PostgreSQL and
 * Redis), and waits until it has announced itself in DIR/simulators.json. `dr lab down` stops it
 * by the pid returned here (SIGTERM).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProviderError } from '../../errors.js';
import type { SimulatorsDescriptor } from './types.js';

export const SIMULATORS_FILE = 'simulators.json';
/** Written the moment the process is spawned, so an `up` killed before it is ready can still stop it. */
export const SIMULATORS_PID_FILE = 'simulators.pid';

export interface SpawnedSimulators extends SimulatorsDescriptor {
  pid: number;
  controlUrl: string;
  logFile: string;
}

/**
 * From the TypeScript sources (checkout, tests) run `script`.ts through tsx; from dist/, `script`.js;
 * with DR_DIST (a compiled build, as bin/dr.js takes it), that build's `script`.js.
 */
function entry(script: string): { args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const dist = process.env.DR_DIST;
  if (dist) return { args: [join(dist, 'lab', 'simulators', `${script}.js`)] };
  if (here.endsWith('.ts'))
    return { args: ['--import', 'tsx', join(dirname(here), `${script}.ts`)] };
  return { args: [join(dirname(here), `${script}.js`)] };
}

export async function spawnSimulators(opts: {
  dir: string;
  timeoutMs?: number;
  cloud?: 'aws' | 'azure';
  dns?: 'route53' | 'route53-arc';
  /** CloudNativePG in the Kubernetes simulators, acting on this lab's PostgreSQL pair. */
  cnpgLabDir?: string;
}): Promise<SpawnedSimulators> {
  const d = await spawnDetached<SpawnedSimulators>({
    ...opts,
    script: 'serve',
    args: [
      '--cloud',
      opts.cloud ?? 'aws',
      '--dns',
      opts.dns ?? 'route53',
      ...(opts.cnpgLabDir ? ['--cnpg-lab-dir', opts.cnpgLabDir] : []),
    ],
    file: SIMULATORS_FILE,
    pidFile: SIMULATORS_PID_FILE,
    logName: 'simulators.log',
  });
  return d;
}

/**
 * Spawn `script` detached with `--dir DIR ...args` and wait until it has announced itself in
 * DIR/`file` (JSON with its pid); its pid goes to DIR/`pidFile` the moment it is spawned.
 */
export async function spawnDetached<T extends { pid: number }>(opts: {
  dir: string;
  script: string;
  args: string[];
  file: string;
  pidFile: string;
  logName: string;
  timeoutMs?: number;
}): Promise<T & { logFile: string }> {
  const file = join(opts.dir, opts.file);
  const logFile = join(opts.dir, opts.logName);
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [...entry(opts.script).args, '--dir', opts.dir, ...opts.args],
    {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'),
      env: process.env,
    },
  );
  closeSync(log);
  if (child.pid !== undefined) writeFileSync(join(opts.dir, opts.pidFile), `${child.pid}\n`);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  child.unref();
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (existsSync(file)) {
      const d = JSON.parse(readFileSync(file, 'utf8')) as T;
      if (d.pid === child.pid) return { ...d, logFile };
    }
    const tail = () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ')
        : '';
    if (exited !== undefined)
      throw new ProviderError(
        'lab',
        `the ${opts.script} process exited (code ${exited}) before it was ready: ${tail()}`,
      );
    if (Date.now() > deadline) {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      throw new ProviderError(
        'lab',
        `the ${opts.script} process did not come up within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s: ${tail()}`,
        { code: 'timeout' },
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
