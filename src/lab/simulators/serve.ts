/**
 * Entry point of the detached simulator process `dr lab up` starts: runs every simulator and the
 * control API until SIGTERM, and announces where they are in DIR/simulators.json (written last,
 * so its presence means "ready").
 *
 *   node [--import tsx] serve.(ts|js) --dir DIR [--cloud aws|azure] [--dns route53|route53-arc]
 *     [--cnpg-lab-dir LAB_DIR]   (CloudNativePG in the Kubernetes simulators, on that lab's PostgreSQL)
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startControlServer } from './control.js';
import { describeSimulators, startSimulators } from './start.js';
import { SIMULATORS_FILE } from './spawn.js';

async function serve(
  dir: string,
  cloud: 'aws' | 'azure',
  dns: 'route53' | 'route53-arc',
  cnpgLabDir: string | undefined,
): Promise<void> {
  const sims = await startSimulators({
    dir,
    cloud,
    dns,
    ...(cnpgLabDir ? { cnpg: { labDir: cnpgLabDir } } : {}),
  });
  const control = await startControlServer(sims);
  const descriptor = { pid: process.pid, controlUrl: control.url, ...describeSimulators(sims) };
  const file = join(dir, SIMULATORS_FILE);
  // Write-then-rename: a reader never sees half a file.
  await writeFile(`${file}.tmp`, `${JSON.stringify(descriptor, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`dr lab simulators ready (pid ${process.pid}); control API ${control.url}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`dr lab simulators: ${signal}, stopping`);
    Promise.all([control.close(), sims.stop()])
      .catch((err: unknown) => console.error('dr lab simulators: stop failed', err))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const dir = arg('--dir');
const cloud = arg('--cloud') ?? 'aws';
const dns = arg('--dns') ?? 'route53';
if (
  !dir ||
  (cloud !== 'aws' && cloud !== 'azure') ||
  (dns !== 'route53' && dns !== 'route53-arc')
) {
  console.error('usage: serve --dir DIR [--cloud aws|azure] [--dns route53|route53-arc]');
  process.exit(2);
}
serve(dir, cloud, dns, arg('--cnpg-lab-dir')).catch((err: unknown) => {
  console.error('dr lab simulators failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
