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

const AZURE_CACHE = `    azureCache:
      subscriptionId: 00000000-0000-4000-8000-000000000001
      primary: { resourceGroup: rg-weu, name: app-cache-weu }
      secondary: { resourceGroup: rg-neu, name: app-cache-neu }
`;

test('driver azure-cache builds the geo-replication driver with its defaults', async () => {
  const config = parseConfig(`${BASE}    driver: azure-cache\n${AZURE_CACHE}`, 'dr.yaml');
  expect(config.components.redis?.azureCache).toMatchObject({
    pauseWrites: true,
    operationTimeoutSeconds: 1800,
    pollIntervalMs: 5000,
  });
  const providers = createProviders(config, {}, log);
  expect(providers.cache?.name).toBe('azure-cache');
  await closeProviders(providers, log);
});

test('azure-cache without its block, or its block with another driver, says what to fix', () => {
  expect(() => parseConfig(`${BASE}    driver: azure-cache\n`, 'dr.yaml')).toThrow(
    /components\.redis\.azureCache.*driver azure-cache needs `azureCache` \(subscriptionId, primary and secondary resourceGroup and name\)/s,
  );
  expect(() => parseConfig(`${BASE}${AZURE_CACHE}`, 'dr.yaml')).toThrow(
    /`azureCache` is for driver azure-cache; driver is replication/,
  );
});

test('one cache named as both sides, or a host name for a name, is refused', () => {
  const same = AZURE_CACHE.replace('app-cache-neu', 'app-cache-weu');
  expect(() => parseConfig(`${BASE}    driver: azure-cache\n${same}`, 'dr.yaml')).toThrow(
    /a cache cannot be linked to itself/,
  );
  const host = AZURE_CACHE.replace(
    'name: app-cache-neu',
    'name: app-cache-neu.redis.cache.windows.net',
  );
  expect(() => parseConfig(`${BASE}    driver: azure-cache\n${host}`, 'dr.yaml')).toThrow(
    /an Azure Cache for Redis name/,
  );
});
