/**
 * The host-level plumbing the lab needs: where the server binaries are, which unprivileged user
 * runs them, free ports, what is at a path, running a command (as that user), and waiting on
 * processes by pid.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PreconditionFailed, ProviderError } from '../errors.js';

/** The account servers run as; `uid`/`gid` are absent when we already run unprivileged. */
export interface LabUser {
  name: string;
  uid?: number;
  gid?: number;
}

interface RunOptions {
  user?: LabUser;
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Kills the program (SIGTERM) when aborted: an interrupted `dr lab up` does not wait for an initdb. */
  signal?: AbortSignal;
}

/** Run a program (no shell) and return its output; a failure names the command and its stderr. */
export function run(
  file: string,
  args: string[],
  opts: RunOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.user?.uid !== undefined ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
      },
      (err, stdout, stderr) => {
        if (err) {
          const detail = String(stderr || stdout || err.message)
            .trim()
            .split('\n')
            .slice(-5)
            .join(' | ');
          reject(
            new ProviderError('lab', `\`${[file, ...args].join(' ')}\` failed: ${detail}`, {
              cause: err,
            }),
          );
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Directory holding initdb/pg_ctl/pg_basebackup/postgres: pg_config first, else the newest /usr/lib/postgresql/N/bin. */
export async function findPostgresBin(): Promise<string> {
  const has = (dir: string) =>
    ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres'].every((b) => existsSync(join(dir, b)));
  const candidates: string[] = [];
  try {
    const { stdout } = await run('pg_config', ['--bindir'], { timeoutMs: 5000 });
    candidates.push(stdout.trim());
  } catch {
    // pg_config is in the -dev package; the server binaries may still be installed.
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  const found = candidates.find(has);
  if (!found) {
    throw new PreconditionFailed(
      'PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres) not found via pg_config, /usr/lib/postgresql/*/bin or PATH: install the Debian package `postgresql` (apt-get install postgresql)',
      { code: 'not-found' },
    );
  }
  return found;
}

export function findRedisServer(): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (dir && existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  throw new PreconditionFailed(
    '`redis-server` is not on PATH: install the Debian package `redis-server` (apt-get install redis-server)',
    {
      code: 'not-found',
    },
  );
}

function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** PostgreSQL refuses to run as root, so under root the servers run as `postgres`, else `nobody`. */
export function labUser(): LabUser {
  if (process.getuid?.() !== 0)
    return { name: process.env.USER ?? String(process.getuid?.() ?? 'current') };
  for (const name of ['postgres', 'nobody']) {
    const entry = passwdEntry(name);
    if (entry) return { name, ...entry };
  }
  throw new PreconditionFailed(
    'running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as: create one (adduser --system postgres)',
  );
}

/** Ports handed out by this process, so labs started side by side never share one. */
const handedOut = new Set<number>();

/**
 * The kernel's ephemeral range: outgoing connections (replication, clients) take their local port
 * from it, so a port found free there by binding port 0 can be taken again before the server binds
 * it. Lab ports come from below that range.
 */
function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function tryListen(port: number): Promise<ReturnType<typeof createServer> | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** `count` distinct free ports on 127.0.0.1, held open together so they cannot collide with each other. */
export async function freePorts(count: number): Promise<number[]> {
  const low = 10_000;
  const high = ephemeralLow() - 1;
  const held: ReturnType<typeof createServer>[] = [];
  for (let attempts = 0; held.length < count && attempts < 500; attempts++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    const s = await tryListen(port);
    if (s) held.push(s);
  }
  // Fall back to whatever the kernel offers when the low range is crowded.
  while (held.length < count) {
    const s = await tryListen(0);
    if (s) held.push(s);
  }
  const ports = held.map((s) => (s.address() as AddressInfo).port);
  for (const p of ports) handedOut.add(p);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function pathKind(path: string): 'missing' | 'directory' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; the lab's mkdir of the path says so.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new PreconditionFailed(`cannot look at ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); it has exited for every purpose we care about.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The program a pid runs, so a recycled pid is never killed by mistake. */
export function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** Poll until `pid` has exited; false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** Poll `probe` until it returns a value, or throw `what` as a timeout after `timeoutMs` (or the abort reason). */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new ProviderError('lab', `timed out after ${timeoutMs} ms waiting for ${what}${why}`, {
        code: 'timeout',
        cause: last,
      });
    }
    await sleep(50);
  }
}

/**
 * The programs the lab runs with their working directory inside the lab dir: the servers (postgres
 * and redis-server chdir into their data dirs) and the tools that build them. Processes of the
 * lab that no pid file names (an `up` killed between spawning one and recording it) are found by this.
 */
const LAB_PROGRAMS = new Set([
  'postgres',
  'redis-server',
  'initdb',
  'pg_ctl',
  'pg_basebackup',
  'pg_rewind',
]);

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * A simulator process runs from the checkout (so tsx resolves) with `--dir <lab>/…`: its command
 * line, not its working directory, ties it to the lab. An `up` killed right after spawning one,
 * before it wrote the pid file, leaves only that.
 */
function servesFrom(pid: number, dir: string): boolean {
  if (pid === process.pid) return false;
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  // Only a simulator script: `dr lab down --dir DIR` itself (or a status beside it) also names DIR.
  if (!argv.some((a) => /\/lab\/simulators\/[\w-]+\.[jt]s$/.test(a))) return false;
  const at = argv.indexOf('--dir');
  return at >= 0 && argv[at + 1] !== undefined && inside(argv[at + 1]!, dir);
}

/**
 * Live lab programs whose working directory is `dir` or below it (LAB_PROGRAMS), and the lab's
 * simulator processes (node with `--dir` inside it).
 */
function labProcessesIn(dir: string): { pid: number; program: string }[] {
  const found: { pid: number; program: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const program = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const ours =
        (LAB_PROGRAMS.has(program) && inside(readlinkSync(`/proc/${pid}/cwd`), dir)) ||
        (program === 'node' && servesFrom(pid, dir));
      if (ours && isAlive(pid)) found.push({ pid, program });
    } catch {
      // Gone meanwhile, or not ours to look at.
    }
  }
  return found;
}

/**
 * SIGKILL every lab program still running in `dir` (see labProcessesIn) until none is left: the
 * last sweep of `dr lab down` and of an interrupted `up`. A postmaster restarting a killed child
 * meanwhile is caught by the next round.
 */
export async function killLabProcessesIn(dir: string, timeoutMs = 10_000): Promise<number[]> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  // Two empty scans in a row: pg_ctl's child is briefly a shell (not a lab program) before it becomes the postmaster.
  for (let empty = 0; empty < 2;) {
    const left = labProcessesIn(dir);
    if (left.length === 0) {
      empty++;
    } else {
      empty = 0;
      if (Date.now() > deadline) {
        throw new ProviderError(
          'lab',
          `processes still running in ${dir} after SIGKILL: ${left.map((p) => `${p.program} ${p.pid}`).join(', ')}`,
        );
      }
      for (const { pid } of left) {
        try {
          process.kill(pid, 'SIGKILL');
          killed.add(pid);
        } catch {
          // Exited meanwhile.
        }
      }
    }
    await sleep(empty ? 100 : 50);
  }
  return [...killed];
}
