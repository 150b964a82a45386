/**
 * The ARM JSON shapes of Azure Cache for Redis (REST api-version 2024-11-01, the one
 * @azure/arm-rediscache 8.2 sends): the Redis resource (Redis - Get), a linked server (Linked
 * Server - Get/Create), an async operation status (Azure-AsyncOperation, as ARM's async operation
 * pattern describes it: learn.microsoft.com azure/azure-resource-manager/management/async-operations).
 */
import { json, type SimResponse } from './http-sim.js';

export const REDIS_API_VERSION = '2024-11-01';

export interface SimCache {
  name: string;
  resourceGroup: string;
  location: string;
  /** Premium, Standard or Basic (Redis - Get: properties.sku.name). */
  sku: string;
  /** P1 = 1 ... (sku.capacity): geo-replication needs a secondary at least this size. */
  capacity: number;
  /** The real Redis behind it, as the service (an admin) reaches it. */
  url: string;
  /** Succeeded, Linking, Unlinking, ... (KnownProvisioningState). */
  provisioningState: string;
}

export interface SimLink {
  primary: string;
  secondary: string;
  /** Creating, Succeeded, Deleting (RedisLinkedServerWithProperties.provisioningState). */
  provisioningState: string;
}

export interface SimOperation {
  id: string;
  location: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
}

const cacheId = (sub: string, c: SimCache): string =>
  `/subscriptions/${sub}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Cache/Redis/${c.name}`;

export function cacheJson(sub: string, c: SimCache, link: SimLink | null, others: SimCache[]) {
  const linked = link && [link.primary, link.secondary].includes(c.name) ? others : [];
  return {
    id: cacheId(sub, c),
    name: c.name,
    type: 'Microsoft.Cache/Redis',
    location: c.location,
    tags: {},
    properties: {
      provisioningState: c.provisioningState,
      redisVersion: '6.0',
      sku: { name: c.sku, family: c.sku === 'Premium' ? 'P' : 'C', capacity: c.capacity },
      enableNonSslPort: false,
      hostName: `${c.name}.redis.cache.windows.net`,
      port: 6379,
      sslPort: 6380,
      publicNetworkAccess: 'Enabled',
      linkedServers: linked.map((o) => ({ id: `${cacheId(sub, c)}/linkedServers/${o.name}` })),
      instances: [],
    },
  };
}

/** `on`'s view of the link: the other cache, its role, the link's state. */
export function linkedServerJson(sub: string, on: SimCache, otherCache: SimCache, link: SimLink) {
  const primary = link.primary === on.name ? on : otherCache;
  return {
    id: `${cacheId(sub, on)}/linkedServers/${otherCache.name}`,
    name: otherCache.name,
    type: 'Microsoft.Cache/Redis/linkedServers',
    properties: {
      linkedRedisCacheId: cacheId(sub, otherCache),
      linkedRedisCacheLocation: otherCache.location,
      serverRole: link.primary === otherCache.name ? 'Primary' : 'Secondary',
      provisioningState: link.provisioningState,
      primaryHostName: `${primary.name}.redis.cache.windows.net`,
      geoReplicatedPrimaryHostName: `${link.primary}.geo.redis.cache.windows.net`,
    },
  };
}

export function operationJson(op: SimOperation): SimResponse {
  return json(200, {
    id: `/providers/Microsoft.Cache/locations/${op.location}/asyncOperations/${op.id}`,
    name: op.id,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error ? { error: op.error } : {}),
  });
}
