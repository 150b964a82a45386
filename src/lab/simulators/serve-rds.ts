/**
 * Entry point of the detached RDS simulator process of `dr lab up --postgres rds-replica`:
 * serves until SIGTERM and announces itself in DIR/rds.json.
 *
 *   node [--import tsx] serve-rds.(ts|js) --dir DIR --lab-dir LAB_DIR
 */
import { startRdsSimulator } from './rds.js';
import { LAB_RDS } from './rds-part.js';
import { runLabService } from './service.js';

runLabService('rds', { 'lab-dir': 'LAB_DIR' }, async (_dir, a) => {
  const sim = await startRdsSimulator({
    labDir: a['lab-dir'],
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
  return { url: sim.url, stop: () => sim.close() };
});
