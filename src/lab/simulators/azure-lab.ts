/**
 * The Azure half of the lab's simulators (`dr lab up --cloud azure`): Microsoft Entra ID, whose
 * tokens the Traffic Manager and Resource Health simulators check; Azure Blob on Azurite with the
 * primary's container replicating to the secondary's; Resource Health for a resource in the
 * primary region. All https services share one self-signed certificate (the lab's CA file).
 */
import { join } from 'node:path';
import type { DrConfigInput } from '../../config/schema.js';
import {
  startAzureResourceHealthSimulator,
  type AzureResourceHealthSim,
} from './azure-resource-health.js';
import { startAzurite, type Azurite } from './azurite.js';
import { startBlobReplication, type BlobReplication } from './blob-replication.js';
import { startEntraIdSimulator, type EntraIdSim } from './entra-id.js';
import { selfSignedCert } from './tls.js';
import type { TrafficManagerSim } from './traffic-manager.js';

type Stoppable = { stop(): Promise<void> };

const CONTAINERS = { primary: 'lab-primary-assets', secondary: 'lab-secondary-assets' };
/** The environment variable the bot config names for Azurite's connection string. */
const BLOB_CONNECTION_ENV = 'LAB_AZURE_STORAGE_CONNECTION_STRING';
const SUBSCRIPTION = '00000000-0000-4000-8000-0000000d0b07';

/** Entra ID first: the ARM simulators are started with it as their token verifier. */
export interface AzureIdentity {
  tls: { key: string; cert: string };
  entra: EntraIdSim;
}

export interface AzureServices {
  resourceHealth: AzureResourceHealthSim;
  resourceId: string;
  azurite: Azurite;
  replication: BlobReplication;
}

/** Plain JSON for lab.json: where the Azure parts are (secrets only in `env`). */
export interface AzureDescriptor {
  authorityHost: string;
  tenantId: string;
  clientId: string;
  resourceHealth: { url: string; subscriptionId: string; resourceId: string };
  blob: { primaryContainer: string; secondaryContainer: string; connectionStringEnv: string };
}

export async function startAzureIdentity(started: Stoppable[]): Promise<AzureIdentity> {
  const tls = await selfSignedCert();
  const entra = await startEntraIdSimulator({ tls });
  started.push(entra);
  return { tls, entra };
}

export async function startAzureServices(
  dir: string,
  id: AzureIdentity,
  region: string,
  started: Stoppable[],
): Promise<AzureServices> {
  const resourceHealth = await startAzureResourceHealthSimulator({
    tls: id.tls,
    verifier: id.entra,
    subscriptionId: SUBSCRIPTION,
  });
  started.push(resourceHealth);
  const resourceId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-dr/providers/Microsoft.Web/sites/lab-app`;
  resourceHealth.setStatuses([{ resourceId, location: region, availabilityState: 'Available' }]);
  const azurite = await startAzurite({ dir: join(dir, 'azurite') });
  started.push(azurite);
  const replication = await startBlobReplication({
    connectionString: azurite.connectionString,
    from: CONTAINERS.primary,
    to: CONTAINERS.secondary,
    intervalMs: 250,
  });
  started.push(replication);
  return { resourceHealth, resourceId, azurite, replication };
}

export function describeAzure(id: AzureIdentity, s: AzureServices): AzureDescriptor {
  return {
    authorityHost: id.entra.url,
    tenantId: id.entra.tenantId,
    clientId: id.entra.clientId,
    resourceHealth: {
      url: s.resourceHealth.url,
      subscriptionId: s.resourceHealth.subscriptionId,
      resourceId: s.resourceId,
    },
    blob: {
      primaryContainer: CONTAINERS.primary,
      secondaryContainer: CONTAINERS.secondary,
      connectionStringEnv: BLOB_CONNECTION_ENV,
    },
  };
}

/** What the bot's Azure SDKs read from the environment: the service principal, Azurite's account. */
export function azureEnv(id: AzureIdentity, s: AzureServices): Record<string, string> {
  return {
    AZURE_AUTHORITY_HOST: id.entra.url,
    AZURE_TENANT_ID: id.entra.tenantId,
    AZURE_CLIENT_ID: id.entra.clientId,
    AZURE_CLIENT_SECRET: id.entra.clientSecret,
    [BLOB_CONNECTION_ENV]: s.azurite.connectionString,
  };
}

/** DNS through Traffic Manager and object storage on Blob, instead of Route 53 and S3. */
export function azureComponents(
  tm: TrafficManagerSim,
  caPath: string,
): Pick<NonNullable<DrConfigInput['components']>, 'dns' | 'objectStorage'> {
  return {
    dns: {
      provider: 'traffic-manager',
      trafficManager: {
        subscriptionId: tm.subscriptionId,
        resourceGroup: tm.resourceGroup,
        profileName: tm.profileName,
        primaryEndpoint: tm.primaryEndpoint,
        secondaryEndpoint: tm.secondaryEndpoint,
        endpointType: 'externalEndpoints',
        method: 'disable-endpoint',
        endpoint: tm.url,
        caFile: caPath,
      },
    },
    objectStorage: {
      provider: 'azure-blob',
      primary: { container: CONTAINERS.primary, connectionStringEnv: BLOB_CONNECTION_ENV },
      secondary: { container: CONTAINERS.secondary, connectionStringEnv: BLOB_CONNECTION_ENV },
      rpoSeconds: 10,
    },
  };
}
