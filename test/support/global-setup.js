/**
 * The tests' state Redis: the one at REDIS_URL (default 127.0.0.1:6379) when it answers. When
 * REDIS_URL is unset and nothing answers on 6379 (a fresh machine with `redis-server` installed
 * but not running), start a throwaway one on a free port for this run, so that `npm test` needs no
 * service started by hand. An explicit REDIS_URL that does not answer is an error: it names the
 * server the person meant. Plain JavaScript: jest loads this file outside its module mapping.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const DEFAULT_URL = 'redis://127.0.0.1:6379';

async function answers(url) {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function redisServerBin() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  const found = dirs.map((d) => join(d, 'redis-server')).find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `no Redis answers on ${DEFAULT_URL} and \`redis-server\` is not installed: install the Debian package redis-server, or set REDIS_URL`,
    );
  return found;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The compiled build the tests' `dr` and simulator processes run (DR_DIST, which bin/dr.js and the
 * lab's spawner take): tsx starts such a process in about 2.3 s, the build in about 0.7 s, and the
 * tests start well over a hundred. Incremental, so a run after a small change rebuilds in seconds.
 * A DR_DIST already set is used as it is.
 */
async function buildTestDist() {
  if (process.env.DR_DIST) return;
  const out = join(ROOT, '.test-dist');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', out, '--incremental'];
  const failed = await new Promise((resolve) =>
    execFile(
      process.execPath,
      [...args, '--tsBuildInfoFile', join(out, '.tsbuildinfo')],
      {
        cwd: ROOT,
      },
      (err, stdout) => resolve(err ? stdout || err.message : null),
    ),
  );
  // A type error still emits JavaScript (swc runs the sources in-process without checking
  // either); `npm run typecheck` is where it fails.
  if (failed && !existsSync(join(out, 'cli', 'main.js')))
    throw new Error(`building ${out} for the tests' child processes failed:\n${failed}`);
  if (failed) console.warn(`\ntests: the build in ${out} has type errors:\n${failed}`);
  process.env.DR_DIST = out;
}

export default async function globalSetup() {
  await buildTestDist();
  const url = process.env.REDIS_URL ?? DEFAULT_URL;
  if (await answers(url)) return;
  if (process.env.REDIS_URL) {
    throw new Error(
      `REDIS_URL=${url.replace(/\/\/[^@/]*@/, '//***@')} does not answer: start that Redis, or unset REDIS_URL to let the tests start their own`,
    );
  }
  const bin = redisServerBin();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dr-test-redis-'));
  const child = spawn(
    bin,
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  const started = `redis://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 100 && !(up = await answers(started)); i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!up) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `no Redis answers on ${DEFAULT_URL}, and the one started on port ${port} (${bin}) did not come up`,
    );
  }
  process.env.REDIS_URL = started;
  globalThis.__drTestRedis = { child, dir };
  console.log(`\ntests: no Redis on ${DEFAULT_URL}; started one for this run at ${started}`);
}
