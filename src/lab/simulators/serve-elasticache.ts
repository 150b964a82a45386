/**
 * Entry point of the detached ElastiCache simulator process of `dr lab up --redis
 * elasticache-global`: serves until SIGTERM and announces itself in DIR/elasticache.json.
 *
 *   node [--import tsx] serve-elasticache.(ts|js) --dir DIR --primary REDIS_URL --secondary REDIS_URL
 */
import { startElastiCacheSimulator } from './elasticache.js';
import { LAB_DATASTORE } from './elasticache-part.js';
import { runLabService } from './service.js';

runLabService('elasticache', { primary: 'REDIS_URL', secondary: 'REDIS_URL' }, async (_dir, a) => {
  const sim = await startElastiCacheSimulator({
    globalReplicationGroupId: LAB_DATASTORE.globalReplicationGroupId,
    primary: { ...LAB_DATASTORE.primary, url: a.primary },
    secondary: { ...LAB_DATASTORE.secondary, url: a.secondary },
  });
  return { url: sim.url, stop: () => sim.stop() };
});
