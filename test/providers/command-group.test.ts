/**
 * Operator commands end with their whole process tree: a fence or resync command that times out,
 * or whose bot exits (a lost instance lease, a handled signal), leaves no pg_rewind or
 * pg_basebackup running behind it, so the instance that resumes the step cannot end up running a
 * second one beside it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runShellCommand } from '../../src/providers/pg-command.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dr-command-group-'));
});
afterEach(() => {
  const pidFile = join(dir, 'grandchild.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A command whose real work is a grandchild of the shell, as `pg_rewind` is of a resync script. */
const longCommand = (d: string): string => `sleep 60 & echo $! > ${d}/grandchild.pid; wait`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited child not yet reaped is a zombie: it runs nothing.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

async function eventually(probe: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a command that times out is killed with everything it started', async () => {
  await expect(
    runShellCommand('postgres', 'resync (rewind)', longCommand(dir), {
      env: {},
      timeoutSeconds: 1,
    }),
  ).rejects.toMatchObject({
    code: 'timeout',
    message: expect.stringContaining('resync (rewind) command was killed after the 1 s timeout'),
  });
  const pid = Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'));
  await eventually(() => !alive(pid), `the command's child ${pid} to end`);
});

test('a bot process that exits while a command runs takes the command tree with it', async () => {
  const script = join(dir, 'bot.ts');
  const module = pathToFileURL(resolve('src/providers/pg-command.ts')).href;
  writeFileSync(
    script,
    `import { existsSync } from 'node:fs';
import { runShellCommand } from '${module}';
void runShellCommand('postgres', 'resync (rewind)', ${JSON.stringify(longCommand(dir))}, { env: {}, timeoutSeconds: 600 }).catch(() => undefined);
const started = setInterval(() => {
  if (existsSync(${JSON.stringify(join(dir, 'grandchild.pid'))})) {
    clearInterval(started);
    // As the bot leaves on a lost instance lease.
    process.exit(1);
  }
}, 20);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
  const pid = Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'));
  await eventually(() => !alive(pid), `the command's child ${pid} to end`);
}, 30_000);
