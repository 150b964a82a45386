/**
 * The compiled output, run the way the container image runs it: the build the Dockerfile does
 * (tsc -p tsconfig.build.json), laid out as the runtime stage lays out /app (dist/, bin/,
 * package.json, the example config, no src/), and started through bin/dr.js, which picks dist/
 * when there are no sources beside it. A module that only resolves under tsx, or a file the
 * build leaves out, fails here rather than in the image.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

let app: string;

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'dr-image-'));
  await run(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(app, 'dist'),
    ],
    {
      cwd: ROOT,
    },
  );
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  for (const f of ['package.json', 'dr.config.example.yaml', 'manifest.yml'])
    cpSync(join(ROOT, f), join(app, f));
  // The image installs the production dependencies; the checkout's are a superset of them.
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
}, 180_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

async function dr(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(app, 'bin/dr.js'), ...args], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

describe('the compiled CLI, laid out as in the image', () => {
  it('has the build output bin/dr.js starts, and no sources for it to prefer', () => {
    expect(existsSync(join(app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
  });

  it('prints the help with every top-level command', async () => {
    const res = await dr('--help');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: dr [options] [command]');
    for (const command of ['start', 'config', 'lab', 'console'])
      expect(res.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('checks the example config', async () => {
    const res = await dr('config', 'check', '--config', 'dr.config.example.yaml', '--skip-env');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('dr.config.example.yaml: valid');
    expect(res.stdout).toContain('slack:        incident channel C0123INCIDENT, command /dr');
  });
});
