/**
 * Entry point of the detached ElastiCache simulator process of `dr lab up --redis
 * elasticache-global`: serves until SIGTERM and announces itself in DIR/elasticache.json.
 *
 *   node [--import tsx] serve-elasticache.(ts|js) --dir DIR --primary REDIS_URL --secondary REDIS_URL
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startElastiCacheSimulator } from './elasticache.js';
import { LAB_DATASTORE } from './elasticache-part.js';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};

async function serve(dir: string, primary: string, secondary: string): Promise<void> {
  const sim = await startElastiCacheSimulator({
    globalReplicationGroupId: LAB_DATASTORE.globalReplicationGroupId,
    primary: { ...LAB_DATASTORE.primary, url: primary },
    secondary: { ...LAB_DATASTORE.secondary, url: secondary },
  });
  const file = join(dir, 'elasticache.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, url: sim.url })}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`dr lab elasticache simulator ready (pid ${process.pid}) at ${sim.url}`);
  const stop = (): void => void sim.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const [dir, primary, secondary] = [arg('--dir'), arg('--primary'), arg('--secondary')];
if (!dir || !primary || !secondary) {
  console.error('usage: serve-elasticache --dir DIR --primary REDIS_URL --secondary REDIS_URL');
  process.exit(2);
}
serve(dir, primary, secondary).catch((err: unknown) => {
  console.error('dr lab elasticache simulator failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
