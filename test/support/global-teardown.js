/** Stops the Redis that global-setup.js started for this run, if it started one. */
import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  const started = globalThis.__drTestRedis;
  if (!started) return;
  await new Promise((resolve) => {
    started.child.once('exit', () => resolve());
    started.child.kill('SIGTERM');
  });
  rmSync(started.dir, { recursive: true, force: true });
}
