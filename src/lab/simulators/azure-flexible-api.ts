/**
 * The ARM JSON shapes of Azure Database for PostgreSQL flexible server (REST api-version
 * 2025-08-01, the one @azure/arm-postgresql-flexible 9.0 sends): Servers - Get, Virtual Endpoints
 * - Get/List, and an async operation status (Azure-AsyncOperation, as ARM's async operation pattern
 * describes it: learn.microsoft.com azure/azure-resource-manager/management/async-operations).
 */
import type { RegionRole } from '../../domain/types.js';
import { json, type SimResponse } from './http-sim.js';

export const FLEXIBLE_API_VERSION = '2025-08-01';
const RP = 'Microsoft.DBforPostgreSQL';

export interface SimFlexibleServer {
  name: string;
  resourceGroup: string;
  location: string;
  /** The lab PostgreSQL server behind it. */
  server: RegionRole;
  /** Primary, AsyncReplica or GeoAsyncReplica (replica.role); a standalone server is Primary. */
  role: string;
  /** The replica's source server name, or null. */
  source: string | null;
  /** Ready, Updating, Provisioning, Stopped, ... (properties.state). */
  state: string;
  /** Active, Catchup, Provisioning, Updating, Broken, Reconfiguring (replica.replicationState). */
  replicationState: string | null;
  sku: { name: string; tier: string };
  storageSizeGB: number;
}

export interface SimVirtualEndpoint {
  name: string;
  /** The server it is defined on: the primary ("in the context of the primary server"). */
  on: string;
  /** The reader endpoint's target: the replica a switchover may promote. */
  members: string[];
}

export interface SimFlexOperation {
  id: string;
  location: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
}

const serverId = (sub: string, s: Pick<SimFlexibleServer, 'resourceGroup' | 'name'>) =>
  `/subscriptions/${sub}/resourceGroups/${s.resourceGroup}/providers/${RP}/flexibleServers/${s.name}`;

export function serverJson(sub: string, s: SimFlexibleServer, source?: SimFlexibleServer) {
  return {
    id: serverId(sub, s),
    name: s.name,
    type: `${RP}/flexibleServers`,
    location: s.location,
    tags: {},
    sku: s.sku,
    properties: {
      state: s.state,
      version: '16',
      fullyQualifiedDomainName: `${s.name}.postgres.database.azure.com`,
      storage: { storageSizeGB: s.storageSizeGB, autoGrow: 'Disabled', type: 'Premium_LRS' },
      replicationRole: s.role,
      replicaCapacity: 5,
      replica: {
        role: s.role,
        capacity: 5,
        ...(s.replicationState ? { replicationState: s.replicationState } : {}),
      },
      ...(source ? { sourceServerResourceId: serverId(sub, source) } : {}),
    },
  };
}

export function virtualEndpointJson(sub: string, on: SimFlexibleServer, ve: SimVirtualEndpoint) {
  return {
    id: `${serverId(sub, on)}/virtualendpoints/${ve.name}`,
    name: ve.name,
    type: `${RP}/flexibleServers/virtualendpoints`,
    properties: {
      endpointType: 'ReadWrite',
      members: ve.members,
      virtualEndpoints: [
        `${ve.name}.writer.postgres.database.azure.com`,
        `${ve.name}.reader.postgres.database.azure.com`,
      ],
    },
  };
}

export function flexOperationJson(op: SimFlexOperation): SimResponse {
  return json(200, {
    id: `/providers/${RP}/locations/${op.location}/azureAsyncOperation/${op.id}`,
    name: op.id,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error ? { error: op.error } : {}),
  });
}
