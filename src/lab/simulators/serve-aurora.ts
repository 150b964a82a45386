/**
 * Entry point of the detached Aurora simulator process of `dr lab up --postgres aurora-global`:
 * serves until SIGTERM and announces itself in DIR/aurora.json.
 *
 *   node [--import tsx] serve-aurora.(ts|js) --dir DIR --lab-dir LAB_DIR
 */
import { startAuroraSimulator } from './aurora.js';
import { LAB_AURORA } from './aurora-part.js';
import { runLabService } from './service.js';

runLabService('aurora', { 'lab-dir': 'LAB_DIR' }, async (_dir, a) => {
  const sim = await startAuroraSimulator({
    labDir: a['lab-dir'],
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
  return { url: sim.url, stop: () => sim.close() };
});
