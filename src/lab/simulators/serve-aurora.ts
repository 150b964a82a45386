/**
 * Entry point of the detached Aurora simulator process of `dr lab up --postgres aurora-global`:
 * serves until SIGTERM and announces itself in DIR/aurora.json.
 *
 *   node [--import tsx] serve-aurora.(ts|js) --dir DIR --lab-dir LAB_DIR
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAuroraSimulator } from './aurora.js';
import { LAB_AURORA } from './aurora-part.js';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};

async function serve(dir: string, labDir: string): Promise<void> {
  const sim = await startAuroraSimulator({
    labDir,
    accountId: LAB_AURORA.accountId,
    globalClusterIdentifier: LAB_AURORA.globalClusterIdentifier,
    engineVersion: LAB_AURORA.engineVersion,
    members: (['primary', 'secondary'] as const).map((server) => ({
      id: LAB_AURORA[server].clusterIdentifier,
      region: LAB_AURORA[server].region,
      server,
      engineVersion: LAB_AURORA.engineVersion,
      instances: [`${LAB_AURORA[server].clusterIdentifier}-1`],
      isWriter: server === 'primary',
    })),
  });
  const file = join(dir, 'aurora.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, url: sim.url })}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`dr lab aurora simulator ready (pid ${process.pid}) at ${sim.url}`);
  const stop = (): void => void sim.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const [dir, labDir] = [arg('--dir'), arg('--lab-dir')];
if (!dir || !labDir) {
  console.error('usage: serve-aurora --dir DIR --lab-dir LAB_DIR');
  process.exit(2);
}
serve(dir, labDir).catch((err: unknown) => {
  console.error('dr lab aurora simulator failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
