/**
 * `dr demo` as a new user runs it: a child process from the checkout, on the machine's PostgreSQL
 * and Redis binaries. It starts the lab, runs a drill and takes the lab down again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DR, runDr, type DrRun } from '../support/dr-cli.js';
import { labProcesses, until } from '../support/processes.js';

function dr(args: string[], env: NodeJS.ProcessEnv, wrap: string[] = []): Promise<DrRun> {
  return runDr(args, { env, wrap, cwd: process.cwd() });
}

let reports: string;
beforeAll(() => {
  reports = mkdtempSync(join(tmpdir(), 'dr-demo-reports-'));
});
afterAll(() => rmSync(reports, { recursive: true, force: true }));

test('dr demo runs a drill on the lab, prints the timeline, the RTO/RPO table and the report path, and removes the lab', async () => {
  // The demo's bot uses the lab's own state Redis, whatever REDIS_URL says. The quickstart's
  // path: the checkout's sources through tsx, not the tests' compiled build.
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', DR_DIST: '' };
  delete env.REDIS_URL;
  const res = await dr(['demo', '--reports', reports], env);
  if (res.code !== 0)
    throw new Error(
      `dr demo exited ${res.code}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-4000)}`,
    );

  const out = res.stdout;
  // Nothing but the demo in its output: no SDK notice about Node.js versions in the middle of it.
  expect(res.stderr).not.toContain('NodeVersionSupportWarning');
  // Every provider closes cleanly at the end, the custom steps' one included.
  expect(res.stdout + res.stderr).not.toContain('closing provider failed');
  expect(out).toContain('alice> drill quarterly DR drill (demo)');
  expect(out).toMatch(/Approval by alice refused: the requester cannot approve their own request/);
  expect(out).toMatch(/bob approved \(1\/1\)/);
  // The timeline: every drill step reported done, in the terminal.
  for (const step of [
    'Start drill write load',
    'Promote secondary database',
    'Integration tests on secondary',
    'Resync primary database',
    'Stop write load, measure RPO',
  ]) {
    expect(out).toMatch(new RegExp(`${step}: (done|already done) in `));
  }
  // The lab's custom steps, one of each kind: a command with its check, an HTTP call to the lab's
  // status page, and a checklist item the operation waits on until bob confirms it.
  expect(out).toMatch(
    /Pause the queue consumers \(custom\): (done|already done) in .*sh exited with 0/,
  );
  expect(out).toMatch(
    /Update the status page \(custom\): done in .*POST http:\/\/\S+\/status-page answered 200/,
  );
  expect(out).toMatch(
    /Tell customer support \(custom\): waiting for Done by an approver or the requester/,
  );
  expect(out).toContain('bob> done tell-support');
  expect(out).toMatch(/Tell customer support \(custom\): done in .* — confirmed done by /);
  expect(out.indexOf('bob> done tell-support')).toBeLessThan(
    out.indexOf('Integration tests on secondary: done'),
  );
  expect(out).toMatch(/^measure +value +target +result$/m);
  expect(out).toMatch(/^RTO failover +\S+ (ms|s|min \d+ s) +30 min +pass$/m);
  expect(out).toMatch(/^RPO database \(write load\) +zero loss +5 min +pass$/m);
  expect(out).toMatch(/^RPO cache \(write load\) +zero loss +5 min +pass$/m);
  // The lab's S3 simulator replicates in 500 ms; its Velero backup finished an hour before the lab started.
  expect(out).toMatch(/^RPO object-storage \(canary\) +\d+\.\d s +10 s +pass$/m);
  expect(out).toMatch(/^RPO kubernetes \(Velero backup\) +1 h \d+ min +24 h +pass$/m);

  const path = /drill report: (\S+\.md)/.exec(out)?.[1];
  expect(path).toBeDefined();
  expect(path!.startsWith(reports)).toBe(true);
  const report = readFileSync(path!, 'utf8');
  expect(report).toMatch(/^# Drill report DR-\d{8}-\d{6} — PASSED/);
  expect(report).toMatch(
    /\| Tell customer support \(custom\) \| succeeded \|.*\| confirmed done by \S+ \|/,
  );

  const labDir = /lab up in (\S+)/.exec(out)?.[1];
  expect(out).toContain(`stopping the lab (${labDir})`);
  expect(existsSync(labDir!)).toBe(false);
}, 180_000);

test('Ctrl-C while dr demo starts the lab stops what it started and removes the lab directory', async () => {
  const dir = join(tmpdir(), `dr-lab-demo-interrupt-${process.pid}-${Date.now()}`);
  // Its own process group, as a shell runs a foreground job: Ctrl-C signals the whole group.
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, [DR, 'demo', '--dir', dir, '--reports', reports], {
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  try {
    // The data tier is starting: servers run with their working directory inside the lab.
    await until(
      'dr demo to start the lab servers',
      () => labProcesses(dir, [child.pid!], true).length > 0,
    );
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('dr demo: SIGINT received, taking the lab down');
    expect(labProcesses(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  } finally {
    for (const line of labProcesses(dir)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('without redis-server on the machine, dr demo says what to install and starts nothing', async () => {
  const res = await dr(['demo', '--reports', reports], { ...process.env, PATH: '/nonexistent' });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(
    'dr demo: the lab did not start: `redis-server` is not on PATH: install the Debian package `redis-server` (apt-get install redis-server)',
  );
  expect(res.stdout).not.toContain('lab up in');
}, 60_000);

/** A program on this test's PATH, by absolute path (the child's PATH will not have it). */
function which(name: string): string {
  const dir = (process.env.PATH ?? '').split(':').find((d) => d && existsSync(join(d, name)));
  if (!dir)
    throw new Error(`${name} is not on PATH: this test needs it (util-linux, redis-server)`);
  return join(dir, name);
}

test('without the PostgreSQL server binaries on the machine, dr demo names the package to install and starts nothing', async () => {
  // redis-server is there, PostgreSQL is not: PATH holds only redis-server, and Debian's
  // /usr/lib/postgresql (where the lab also looks) is hidden behind an empty tmpfs in a mount
  // namespace of the child's own, so the machine's real installation stays untouched.
  const bin = mkdtempSync(join(tmpdir(), 'dr-demo-nopg-bin-'));
  const labDir = join(tmpdir(), `dr-demo-nopg-lab-${process.pid}`);
  try {
    symlinkSync(which('redis-server'), join(bin, 'redis-server'));
    const hide = `if [ -d /usr/lib/postgresql ]; then ${which('mount')} -t tmpfs tmpfs /usr/lib/postgresql || exit 97; fi; exec "$@"`;
    const wrap = [
      which('unshare'),
      '--user',
      '--map-root-user',
      '--mount',
      which('sh'),
      '-c',
      hide,
      'sh',
    ];
    const res = await dr(
      ['demo', '--dir', labDir, '--reports', reports],
      { ...process.env, PATH: bin },
      wrap,
    );
    if (res.code === 97)
      throw new Error(`could not hide /usr/lib/postgresql in a mount namespace: ${res.stderr}`);
    expect(res.stderr).toContain(
      'dr demo: the lab did not start: PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres) not found via pg_config, /usr/lib/postgresql/*/bin or PATH: install the Debian package `postgresql` (apt-get install postgresql)',
    );
    expect(res.code).toBe(1);
    expect(res.stdout).not.toContain('lab up in');
    expect(res.stdout).not.toContain('stopping the lab');
    // Nothing was started: not even the lab directory was made.
    expect(existsSync(labDir)).toBe(false);
  } finally {
    rmSync(bin, { recursive: true, force: true });
    rmSync(labDir, { recursive: true, force: true });
  }
}, 60_000);
