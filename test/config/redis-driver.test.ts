/**
 * components.redis.driver: the default keeps today's replication provider, elasticache-global is
 * built behind the same CacheProvider, and a driver without its block (or a block without its
 * driver) is refused with an error that says what to fix.
 */
import { pino } from 'pino';
import { parseConfig } from '../../src/config/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';

const log = pino({ level: 'silent' });
const BASE = `environment: staging
regions:
  primary: { name: eu-west-1 }
  secondary: { name: eu-central-1 }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE]
components:
  redis:
    primary: { url: "redis://cache-primary.internal:6379" }
    secondary: { url: "redis://cache-secondary.internal:6379" }
`;
const ELASTICACHE = `    elasticache:
      globalReplicationGroupId: ldgnf-app-cache
      primary: { region: eu-west-1, replicationGroupId: app-cache-euw1 }
      secondary: { region: eu-central-1, replicationGroupId: app-cache-euc1 }
`;

test('without a driver the cache is the replication provider, as before', async () => {
  const config = parseConfig(BASE, 'dr.yaml');
  expect(config.components.redis?.driver).toBe('replication');
  const providers = createProviders(config, {}, log);
  expect(providers.cache?.name).toBe('redis');
  await closeProviders(providers, log);
});

test('driver elasticache-global builds the Global Datastore driver', async () => {
  const config = parseConfig(`${BASE}    driver: elasticache-global\n${ELASTICACHE}`, 'dr.yaml');
  expect(config.components.redis?.elasticache).toMatchObject({
    pauseWrites: true,
    failoverTimeoutSeconds: 900,
  });
  const providers = createProviders(config, {}, log);
  expect(providers.cache?.name).toBe('elasticache-global');
  await closeProviders(providers, log);
});

test('elasticache-global without its block says what to add', () => {
  expect(() => parseConfig(`${BASE}    driver: elasticache-global\n`, 'dr.yaml')).toThrow(
    /components\.redis\.elasticache.*driver elasticache-global needs `elasticache`/s,
  );
});

test('an elasticache block with another driver says to set the driver or remove it', () => {
  expect(() => parseConfig(`${BASE}${ELASTICACHE}`, 'dr.yaml')).toThrow(
    /`elasticache` is for driver elasticache-global; driver is replication/,
  );
});

test('an unknown driver and a malformed region are named', () => {
  expect(() => parseConfig(`${BASE}    driver: memorystore\n`, 'dr.yaml')).toThrow(
    /components\.redis\.driver/,
  );
  const badRegion = ELASTICACHE.replace('region: eu-west-1', 'region: Ireland');
  expect(() =>
    parseConfig(`${BASE}    driver: elasticache-global\n${badRegion}`, 'dr.yaml'),
  ).toThrow(/an AWS region name, e\.g\. eu-west-1/);
});
