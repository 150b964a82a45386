/**
 * Every Traffic Manager SDK call this provider makes, with the Azure operations it needs
 * (endpoints.update is a PUT/PATCH on the endpoint of the configured endpointType).
 * deploy/permissions/azure-custom-role.json must allow each one (test/permissions).
 */
export const TRAFFIC_MANAGER_CALLS: Readonly<Record<string, readonly string[]>> = {
  'profiles.get': ['Microsoft.Network/trafficManagerProfiles/read'],
  'endpoints.update': [
    'Microsoft.Network/trafficManagerProfiles/azureEndpoints/write',
    'Microsoft.Network/trafficManagerProfiles/externalEndpoints/write',
    'Microsoft.Network/trafficManagerProfiles/nestedEndpoints/write',
  ],
};
