/**
 * `dr lab up` interrupted as a person interrupts it: Ctrl-C (SIGINT to the whole foreground
 * process group) or SIGTERM stop what it started and remove the directory; after a SIGKILL,
 * `dr lab down` finds what it had started in the lab.json written as each server starts. Plus the
 * directories `dr lab up` must refuse with a message that says what to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown } from '../../src/lab/index.js';
import { DR, drEnv, runDr, runDrHere } from '../support/dr-cli.js';
import { labProcesses, until } from '../support/processes.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };

interface Up {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** `dr lab up --dir DIR` in its own process group, as a shell runs a foreground job. */
function startUp(dir: string): Up {
  const child = spawn(process.execPath, [DR, 'lab', 'up', '--dir', dir], {
    env: drEnv(ENV),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited, stderr: () => stderr };
}

/** The moments of a start worth interrupting: the data tier starting, or the simulator process spawned. */
const moments = {
  data: (dir: string, up: Up) => labProcesses(dir, [up.child.pid!], true).length > 0,
  simulators: (dir: string, up: Up) =>
    labProcesses(join(dir, 'simulators'), [up.child.pid!]).length > 0,
};

const dirs: string[] = [];
function newDir(name: string): string {
  // A fresh path under /tmp, as a person would pick (the servers' user must reach it).
  const dir = join(tmpdir(), `dr-lab-${name}-${process.pid}-${Date.now()}`);
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  // Whatever a failing test left: stop it by lab.json, then by hand.
  for (const dir of dirs.splice(0)) {
    if (existsSync(join(dir, 'lab.json'))) await labDown({ dir }).catch(() => undefined);
    for (const line of labProcesses(dir)) {
      try {
        process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  [
    'Ctrl-C (SIGINT to the process group) while the data tier starts',
    'SIGINT',
    'group',
    'data',
    130,
  ],
  ['SIGTERM to dr while the simulators start', 'SIGTERM', 'pid', 'simulators', 143],
] as const)(
  '%s: it stops what it started, removes the directory and says so',
  async (_name, signal, target, moment, exitCode) => {
    const dir = newDir('interrupt');
    const up = startUp(dir);
    await until(`dr lab up to reach the ${moment} start`, () => moments[moment](dir, up)).catch(
      (err: Error) => {
        throw new Error(`${err.message}; its stderr: ${up.stderr()}`);
      },
    );
    if (moment === 'data') {
      // While it starts, `dr lab down` leaves the lab to the `up` that is still running it.
      await expect(labDown({ dir })).rejects.toThrow(/still starting the lab .*interrupt it/);
    }
    process.kill(target === 'group' ? -up.child.pid! : up.child.pid!, signal);
    const end = await up.exited;
    expect(end.stderr).toContain(`${signal} received: stopping what was started`);
    expect(end.stderr).toContain(
      `interrupted by ${signal}: stopped what it had started and removed ${dir}`,
    );
    expect([end.code, end.signal]).toEqual([exitCode, null]);
    expect(labProcesses(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  },
);

test.each([['data'], ['simulators']] as const)(
  'SIGKILL while the %s start: dr lab down stops what it had started and removes the directory',
  async (moment) => {
    const dir = newDir('killed');
    const up = startUp(dir);
    await until(`dr lab up to reach the ${moment} start`, () => moments[moment](dir, up));
    process.kill(up.child.pid!, 'SIGKILL');
    await up.exited;
    // A half-started lab is no lab to use: status says what to do with it.
    const status = await runDr(['lab', 'status', '--dir', dir], { env: ENV });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(
      `the lab in ${dir} did not finish starting (\`dr lab up\` was interrupted): run \`npx dr lab down --dir ${dir}\``,
    );

    const down = await runDr(['lab', 'down', '--dir', dir], { env: ENV });
    expect(down.stderr).toBe('');
    expect([down.code, down.stdout]).toEqual([0, `lab in ${dir} stopped and removed\n`]);
    expect(labProcesses(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  },
);

// Refused before anything starts: the CLI's code in this process (runDrHere) says the same.
describe('directories dr lab up refuses, with what to do instead', () => {
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'dr-lab-refused-'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  test('a regular file', async () => {
    const file = join(base, 'notes.txt');
    writeFileSync(file, 'not a directory');
    const run = await runDrHere(['lab', 'up', '--dir', file], ENV);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `dr lab up: ${file} exists and is not a directory: give \`dr lab up --dir\` a new path (it is created) or an empty directory\n`,
    );
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  test('a path under a regular file', async () => {
    const file = join(base, 'plain');
    writeFileSync(file, '');
    const run = await runDrHere(['lab', 'up', '--dir', join(file, 'lab')], ENV);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot create the lab directory ${join(file, 'lab')}: a part of that path is a file, not a directory`,
    );
    expect(run.stderr).not.toMatch(/ENOTDIR|EEXIST/);
  });

  test('a directory with files that is not a lab', async () => {
    const dir = join(base, 'project');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    const run = await runDrHere(['lab', 'up', '--dir', dir], ENV);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${dir} is not empty (it holds precious.txt) and is not a lab: \`dr lab up --dir\` needs a new or empty directory, because \`dr lab down\` deletes it`,
    );
    expect(readdirSync(dir)).toEqual(['precious.txt']);
    // Nor does down take it for a lab.
    const down = await runDrHere(['lab', 'down', '--dir', dir], ENV);
    expect([down.code, down.stderr]).toEqual([
      1,
      `dr lab down: ${join(dir, 'lab.json')} not found: ${dir} is not a lab directory (start a lab with \`npx dr lab up --dir ${dir}\`)\n`,
    ]);
    expect(readdirSync(dir)).toEqual(['precious.txt']);
  });
});
