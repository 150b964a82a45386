import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { PreconditionFailed } from '../../src/errors.js';
import { labDown, labStatus, labUp, readLabInfo, type LabInfo, type LabPart } from '../../src/lab/index.js';

/** Every live process whose working directory is inside `dir`: postgres backends, redis. */
function processesIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cwd = readlinkSync(`/proc/${p}/cwd`);
        return cwd === dir || cwd.startsWith(`${dir}/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** `labUp` in a separate Node process that then exits, as `dr lab up` does. */
function labUpInChild(): Promise<LabInfo> {
  const script = `import { labUp } from ${JSON.stringify(join(process.cwd(), 'src/lab/index.ts'))}; const info = await labUp(); process.stdout.write(JSON.stringify(info));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`lab up failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as LabInfo);
    });
  });
}

describe('dr lab', () => {
  let info: LabInfo | undefined;

  afterAll(async () => {
    if (info && existsSync(info.dir)) await labDown({ dir: info.dir });
  });

  test('up (from a process that exits), status, then down leaves no process and no directory', async () => {
    info = await labUpInChild();
    const dir = info.dir;
    const pids = [info.postgres.primary.pid, info.postgres.secondary.pid, info.redis.primary.pid, info.redis.secondary.pid];
    // The servers outlived the process that started them.
    expect(pids.every(alive)).toBe(true);
    expect(readLabInfo(dir)).toEqual(info);

    const config = configSchema.parse(parse(readFileSync(info.configPath, 'utf8')));
    expect(config.environment).toBe('lab');
    expect(config.components.postgres?.secondary.url).toBe(info.postgres.secondary.url);
    expect(config.components.redis?.primary.url).toBe(info.redis.primary.url);

    if (process.getuid?.() === 0) {
      // PostgreSQL refuses root: the lab runs it as an unprivileged user.
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${info.postgres.primary.pid}/status`, 'utf8'))?.[1];
      expect(uid).not.toBe('0');
      expect(info.user).not.toBe('root');
    }

    const status = await labStatus({ dir });
    expect(status.postgres.map((s) => s.readOnly)).toEqual([false, false]);
    expect(status.postgres.map((s) => [s.role, s.healthy])).toEqual([
      ['primary', true],
      ['standby', true],
    ]);
    expect(status.redis.map((s) => [s.role, s.healthy])).toEqual([
      ['master', true],
      ['replica', true],
    ]);
    expect(status.redis[1].linkUp).toBe(true);
    expect(processesIn(dir).length).toBeGreaterThanOrEqual(4);

    await labDown({ dir });
    expect(pids.filter(alive)).toEqual([]);
    expect(processesIn(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  test('parts started after the data tier are recorded, configured, and stopped by down', async () => {
    const sim: LabPart = {
      name: 'fake-health',
      async start(lab) {
        // A detached process standing in for a simulator, as a real part would start one.
        const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: lab.dir, detached: true, stdio: 'ignore' });
        child.unref();
        return { health: { url: 'http://127.0.0.1:1/health', pid: child.pid } };
      },
      configure(config) {
        config.regions.primary.healthUrl = 'http://127.0.0.1:1/health';
      },
    };
    const lab = await labUp({ parts: [sim] });
    const pid = lab.simulators.health?.pid as number;
    expect(alive(pid)).toBe(true);
    expect(readLabInfo(lab.dir).simulators.health.url).toBe('http://127.0.0.1:1/health');
    const config = configSchema.parse(parse(readFileSync(lab.configPath, 'utf8')));
    expect(config.regions.primary.healthUrl).toBe('http://127.0.0.1:1/health');
    expect((await labStatus({ dir: lab.dir })).simulators).toEqual([{ name: 'health', url: 'http://127.0.0.1:1/health', pid, running: true }]);
    await labDown({ dir: lab.dir });
    expect(alive(pid)).toBe(false);
    expect(existsSync(lab.dir)).toBe(false);
  });

  test('down refuses a directory that is not a lab, and leaves it alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'not-a-lab-'));
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    try {
      await expect(labDown({ dir })).rejects.toBeInstanceOf(PreconditionFailed);
      expect(readFileSync(join(dir, 'precious.txt'), 'utf8')).toBe('keep me');
      // Nor does `up` take over a directory with files in it.
      await expect(labUp({ dir })).rejects.toThrow(/not empty/);
      expect(readdirSync(dir)).toEqual(['precious.txt']);
      if (process.getuid?.() === 0) {
        // Root's private directories are closed to the user the servers run as: say so up front.
        chmodSync(dir, 0o700);
        await expect(labUp({ dir: join(dir, 'lab') })).rejects.toThrow(/cannot reach/);
        expect(readdirSync(dir)).toEqual(['precious.txt']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
