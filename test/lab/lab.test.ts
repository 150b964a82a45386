import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { PreconditionFailed } from '../../src/errors.js';
import {
  labCloud,
  labDown,
  labStatus,
  labUp,
  readLabEnv,
  readLabInfo,
  type LabInfo,
  type LabPart,
} from '../../src/lab/index.js';

const DR = join(process.cwd(), 'bin', 'dr.js');

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

/** The `dr` CLI in its own process, as a person runs it; rejects unless it exits 0. */
function dr(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DR, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dr ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** A shell that sources lab.env, as the README says, and prints what it got. */
function sourced(envFile: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'sh',
      ['-c', `. "$1" && printf %s "$${name}"`, 'sh', envFile],
      { env: { PATH: process.env.PATH } },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

describe('dr lab', () => {
  let info: LabInfo | undefined;

  afterAll(async () => {
    if (info && existsSync(info.dir)) await labDown({ dir: info.dir });
  });

  test('dr lab up (a process that exits), status, then down leaves no process and no directory', async () => {
    // A fresh path, as a person would pick (mkdtemp's 0700 would shut out the servers' user).
    const dir = join(tmpdir(), `dr-lab-cli-${process.pid}-${Date.now()}`);
    const upOut = await dr(['lab', 'up', '--dir', dir, '--custom-steps']);
    info = readLabInfo(dir);
    const cloud = labCloud(info)!;
    // It tells a person how to point the bot at the lab.
    expect(upOut).toContain(`. ${join(dir, 'lab.env')}`);
    // As `npx dr`: a checkout has no `dr` on the PATH (package.json's bin makes npx find it).
    expect(upOut).toContain(`  npx dr start --config ${info.configPath}\n`);
    expect(upOut).toContain(`stop: npx dr lab down --dir ${dir}\n`);
    expect(upOut).toContain(
      `regional outage: npx dr lab outage --dir ${dir}    back: npx dr lab restore --dir ${dir}\n`,
    );
    expect(upOut).not.toMatch(/(^|[^x] )dr (start|lab|config|console) /m);
    // Every endpoint it started, the S3 simulator too.
    for (const url of [
      cloud.route53.url,
      cloud.trafficManager.url,
      cloud.kubernetes.primary.url,
      cloud.kubernetes.secondary.url,
      cloud.health.primaryUrl,
      cloud.health.secondaryUrl,
      cloud.s3.url,
      cloud.controlUrl,
    ]) {
      expect(upOut).toContain(url);
    }
    expect(upOut).toMatch(
      new RegExp(`s3 +${cloud.s3.url} \\(buckets lab-primary-assets → lab-secondary-assets`),
    );
    expect(upOut).toContain(`(pg_walinspect: failback counts lost transactions)`);

    const pids = [
      info.postgres.primary.pid,
      info.postgres.secondary.pid,
      info.redis.primary.pid,
      info.redis.secondary.pid,
      info.stateRedis.pid,
      cloud.pid,
    ];
    // The servers and the simulators outlived the process that started them.
    expect(pids.every(alive)).toBe(true);

    const config = configSchema.parse(parse(readFileSync(info.configPath, 'utf8')));
    expect(config.environment).toBe('lab');
    // The bot's least-privilege identities on the lab's servers, never the admin ones.
    expect(config.components.postgres?.secondary.url).toBe(
      `postgresql://dr_bot@127.0.0.1:${info.postgres.secondary.port}/postgres`,
    );
    expect(config.components.redis?.primary.url).toBe(
      `redis://dr-bot@127.0.0.1:${info.redis.primary.port}`,
    );
    // DNS, scaling and verification point at the simulators.
    expect(config.components.dns?.route53?.endpoint).toBe(cloud.route53.url);
    expect(config.components.dns?.resolverServers).toEqual([cloud.route53.dnsServer]);
    expect(config.components.kubernetes?.secondary).toEqual({
      kubeconfig: cloud.kubernetes.kubeconfigPath,
      context: cloud.kubernetes.secondary.context,
    });
    expect(config.components.verification?.secondary.http.map((c) => c.url)).toEqual([
      cloud.health.secondaryUrl,
    ]);
    expect(config.regions.primary.healthUrl).toBe(cloud.health.primaryUrl);
    // --custom-steps: one runbook step of each kind, the HTTP one against the control API.
    expect(config.runbook.steps.map((s) => s.id)).toEqual([
      'pause-consumers',
      'status-page',
      'tell-support',
    ]);
    expect(config.runbook.steps[1]?.http?.url).toBe(`${cloud.controlUrl}/status-page`);
    expect(upOut).toContain('custom steps: pause-consumers (command)');

    // lab.env: what cannot be in the config. The bot's state Redis is none of the application's.
    const env = readLabEnv(info.envFile);
    expect(env.REDIS_URL).toBe(info.stateRedis.url);
    expect([info.redis.primary.url, info.redis.secondary.url]).not.toContain(env.REDIS_URL);
    expect(env.DR_CONFIG).toBe(info.configPath);
    expect(env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(await sourced(info.envFile, 'REDIS_URL')).toBe(info.stateRedis.url);
    expect(await sourced(info.envFile, 'AWS_ENDPOINT_URL_ROUTE_53')).toBe(cloud.route53.url);

    if (process.getuid?.() === 0) {
      // PostgreSQL refuses root: the lab runs it as an unprivileged user.
      const uid = /^Uid:\s+(\d+)/m.exec(
        readFileSync(`/proc/${info.postgres.primary.pid}/status`, 'utf8'),
      )?.[1];
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
    expect(status.stateRedis).toMatchObject({ role: 'master', healthy: true });
    expect(status.cloud).toMatchObject({
      route53: { servedBy: 'primary' },
      health: { primary: { healthy: true }, secondary: { healthy: true } },
    });
    expect(processesIn(dir).length).toBeGreaterThanOrEqual(5);

    const statusOut = await dr(['lab', 'status', '--dir', dir]);
    expect(statusOut).toMatch(
      /dns \(route53\) +serving primary \(10\.0\.1\.10\), primary health check normal/,
    );
    expect(statusOut).toMatch(/health endpoints +primary healthy, secondary healthy/);
    // The secondary cluster idles at its standby counts until a failover.
    expect(statusOut).toMatch(
      /kubernetes second\. +ready\/desired shop\/api 1\/1, shop\/web 1\/1, shop\/worker 1\/1/,
    );
    expect(statusOut).toMatch(/bot state redis +up /);

    // Simulators that died are reported as down, and `down` still cleans up everything else.
    process.kill(cloud.pid, 'SIGKILL');
    while (alive(cloud.pid)) await new Promise((r) => setTimeout(r, 20));
    const deadOut = await dr(['lab', 'status', '--dir', dir]);
    expect(deadOut).toMatch(/cloud +DOWN /);
    expect(deadOut).toMatch(/simulators +DOWN \(/);

    expect(await dr(['lab', 'down', '--dir', dir])).toContain('stopped and removed');
    expect(pids.filter(alive)).toEqual([]);
    expect(processesIn(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  test("`npx dr`, as the README and `dr lab up` say it, runs this checkout's dr", async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'npx',
        ['--no-install', 'dr', '--version'],
        { cwd: process.cwd(), timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
      ),
    );
    expect(out.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  test('parts started after the data tier are recorded, configured, and stopped by down', async () => {
    const sim: LabPart = {
      name: 'fake-health',
      async start(lab) {
        // A detached process standing in for a simulator, as a real part would start one.
        const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
          cwd: lab.dir,
          detached: true,
          stdio: 'ignore',
        });
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
    expect((await labStatus({ dir: lab.dir })).simulators).toEqual([
      { name: 'health', url: 'http://127.0.0.1:1/health', pid, running: true },
    ]);
    await labDown({ dir: lab.dir });
    expect(alive(pid)).toBe(false);
    expect(existsSync(lab.dir)).toBe(false);
  });

  test('a part that fails to start leaves no server and no directory behind', async () => {
    const dir = join(tmpdir(), `dr-lab-broken-${process.pid}-${Date.now()}`);
    const broken: LabPart = {
      name: 'broken',
      async start() {
        throw new Error('simulator port already taken');
      },
    };
    await expect(labUp({ dir, parts: [broken] })).rejects.toThrow('simulator port already taken');
    expect(existsSync(dir)).toBe(false);
    expect(processesIn(dir)).toEqual([]);
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
