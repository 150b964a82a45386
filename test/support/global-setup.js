/**
 * The tests' state Redis: the one at REDIS_URL (default 127.0.0.1:6379) when it answers. When
 * REDIS_URL is unset and nothing answers on 6379 (a fresh machine with `redis-server` installed
 * but not running), start a throwaway one on a free port for this run, so that `npm test` needs no
 * service started by hand. An explicit REDIS_URL that does not answer is an error: it names the
 * server the person meant. Plain JavaScript: jest loads this file outside its module mapping.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
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

export default async function globalSetup() {
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
