/**
 * Every Azure Cache for Redis SDK call the azure-cache driver makes, with the Azure operations it
 * needs. deploy/permissions/azure-custom-role.json must allow each one (test/permissions checks it).
 * Linking names the other cache by resource id: create needs write on the link and read of both.
 */
export const AZURE_CACHE_CALLS: Readonly<Record<string, readonly string[]>> = {
  'redis.get': ['Microsoft.Cache/redis/read'],
  'linkedServer.list': ['Microsoft.Cache/redis/linkedServers/read'],
  'linkedServer.beginCreateAndWait': ['Microsoft.Cache/redis/linkedServers/write'],
  'linkedServer.beginDeleteAndWait': ['Microsoft.Cache/redis/linkedServers/delete'],
};
