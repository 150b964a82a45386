/**
 * Entry point of the detached RDS simulator process of `dr lab up --postgres rds-replica`:
 * serves until SIGTERM and announces itself in DIR/rds.json.
 *
 *   node [--import tsx] serve-rds.(ts|js) --dir DIR --lab-dir LAB_DIR
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRdsSimulator } from './rds.js';
import { LAB_RDS } from './rds-part.js';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};

async function serve(dir: string, labDir: string): Promise<void> {
  const sim = await startRdsSimulator({
    labDir,
    accountId: LAB_RDS.accountId,
    instances: [
      {
        id: LAB_RDS.primary.instanceIdentifier,
        region: LAB_RDS.primary.region,
        server: 'primary',
        source: null,
      },
      {
        id: LAB_RDS.secondary.instanceIdentifier,
        region: LAB_RDS.secondary.region,
        server: 'secondary',
        source: `arn:aws:rds:${LAB_RDS.primary.region}:${LAB_RDS.accountId}:db:${LAB_RDS.primary.instanceIdentifier}`,
      },
    ],
  });
  const file = join(dir, 'rds.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, url: sim.url })}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`dr lab rds simulator ready (pid ${process.pid}) at ${sim.url}`);
  const stop = (): void => void sim.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const [dir, labDir] = [arg('--dir'), arg('--lab-dir')];
if (!dir || !labDir) {
  console.error('usage: serve-rds --dir DIR --lab-dir LAB_DIR');
  process.exit(2);
}
serve(dir, labDir).catch((err: unknown) => {
  console.error('dr lab rds simulator failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
