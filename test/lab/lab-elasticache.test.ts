/**
 * `dr lab up --redis elasticache-global`: the lab writes a config whose cache uses the Global
 * Datastore driver against the ElastiCache simulator in front of the real pair; the bot, built
 * from that config with the lab's least-privilege Redis user, fails over and back, and
 * `dr lab down` stops the simulator process.
 */
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { elasticachePart } from '../../src/lab/simulators/index.js';
import { labDown, labUp, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { until } from '../support/lab.js';
import { labRedisClients } from '../support/redis.js';

const log = pino({ level: 'silent' });
const { connect, closeAll } = labRedisClients();
let lab: LabInfo | undefined;
let providers: Providers | undefined;

afterAll(async () => {
  if (providers) await closeProviders(providers, log);
  await closeAll();
  if (lab && existsSync(lab.dir)) await labDown({ dir: lab.dir });
});

const role = async (url: string): Promise<string> =>
  /^role:(\w+)/m.exec(await connect(url).info('replication'))![1]!;

test('the written config fails the real pair over through the simulator, and back', async () => {
  lab = await labUp({ parts: [elasticachePart()], walinspect: false });
  const config = loadConfig({ path: lab.configPath });
  expect(config.components.redis).toMatchObject({
    driver: 'elasticache-global',
    elasticache: { globalReplicationGroupId: 'ldgnf-lab-cache', pauseWrites: true },
  });
  // The SDK's credential chain reads the lab's dummy AWS keys from the environment, as `dr start` would.
  Object.assign(process.env, readLabEnv(lab.envFile));
  providers = createProviders(config, process.env, log);
  const cache = providers.cache!;
  expect(cache.name).toBe('elasticache-global');
  const card = await cache.readiness('secondary');
  expect(card.status).toBe('ready');
  expect(card.summary).toContain('lab-cache-secondary@eu-central-1: SECONDARY associated');
  const progress = () => undefined;
  const over = await cache.promote({ target: 'secondary', mode: 'planned', progress });
  expect(over.rpo.bytes).toBe(0);
  expect(await role(lab.redis.secondary.url)).toBe('master');
  expect(await role(lab.redis.primary.url)).toBe('slave');
  expect((await cache.verifyWriter('secondary')).every((c) => c.ok)).toBe(true);
  await cache.resync({ standby: 'primary', progress });
  const back = await cache.promote({ target: 'primary', mode: 'planned', progress });
  expect(back.rpo.bytes).toBe(0);
  expect(await role(lab.redis.primary.url)).toBe('master');
  const pid = lab.simulators.elasticache!.pid!;
  await labDown({ dir: lab.dir });
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until('the simulator process to exit', async () => !alive());
});
