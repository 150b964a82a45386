/**
 * Every Azure Database for PostgreSQL flexible server SDK call the azure-flexible driver makes,
 * with the Azure operations it needs. deploy/permissions/azure-custom-role.json must allow each one
 * (test/permissions checks it). A switchover moves the virtual endpoints: write on them too.
 */
export const AZURE_FLEXIBLE_CALLS: Readonly<Record<string, readonly string[]>> = {
  'servers.get': ['Microsoft.DBforPostgreSQL/flexibleServers/read'],
  'virtualEndpoints.listByServer': [
    'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/read',
  ],
  'servers.beginUpdateAndWait': [
    'Microsoft.DBforPostgreSQL/flexibleServers/write',
    'Microsoft.DBforPostgreSQL/flexibleServers/virtualendpoints/write',
  ],
  'servers.beginCreateOrUpdateAndWait': ['Microsoft.DBforPostgreSQL/flexibleServers/write'],
};
