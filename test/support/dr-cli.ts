/**
 * The `dr` executable as a person runs it: a child process of this Node.js, from the checkout's
 * bin/dr.js, with exactly the environment a test gives (nothing of the runner's leaks in).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const DR = join(ROOT, 'bin', 'dr.js');

export interface DrRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a `dr` child gets: the test's, plus DR_DIST when the test setup built the
 * sources (the child then starts from that build rather than through tsx; see global-setup.js).
 */
export function drEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dist = process.env.DR_DIST;
  return dist && env.DR_DIST === undefined ? { ...env, DR_DIST: dist } : env;
}

export function runDr(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; wrap?: string[] },
): Promise<DrRun> {
  // `wrap` runs node under another program (e.g. unshare), which then runs bin/dr.js.
  const [file, ...pre] = [...(opts.wrap ?? []), process.execPath];
  return new Promise((resolve, reject) => {
    const child = spawn(file!, [...pre, DR, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: drEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The same command run by the CLI's code in this process (main with its own io): for a refusal
 * or a usage error, which needs no process of its own, without a Node.js and tsx start-up.
 */
export async function runDrHere(args: string[], env: NodeJS.ProcessEnv): Promise<DrRun> {
  const { main } = await import('../../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
  });
  return { code, stdout, stderr };
}
