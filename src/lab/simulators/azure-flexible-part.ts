/**
 * `dr lab up --cloud azure --postgres azure-flexible`: the flexible server simulator as a part of
 * the lab, its own detached process in front of the lab's real PostgreSQL pair, checking the lab
 * Entra ID's tokens, and a bot config whose database uses the azure-flexible driver against it
 * (the SQL still goes to the servers, as the bot's role). Needs the simulators part with the Azure
 * cloud started before it (its Entra ID and CA).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_APP_ROLE } from '../permissions.js';
import type { LabPart } from '../types.js';
import { labCloud } from './part.js';
import { createFencedAppRole, labAzureCloud, labService } from './service.js';

const KEY = 'azure-flexible';
/** The simulator's own certificate, written by its process. */
export const AZURE_FLEXIBLE_CA_FILE = 'azure-flexible-ca.pem';
/** The CA file the bot had (the lab CA, or the cache part's bundle) plus this simulator's cert. */
const BUNDLE_FILE = 'azure-ca-bundle.pem';

/** The lab's two flexible servers: a primary and its geo read replica, one virtual endpoint pair. */
export const LAB_AZURE_FLEXIBLE = {
  subscriptionId: '00000000-0000-4000-8000-00000000f1e1',
  primary: { serverName: 'lab-pg-weu', resourceGroup: 'rg-weu', location: 'westeurope' },
  secondary: { serverName: 'lab-pg-neu', resourceGroup: 'rg-neu', location: 'northeurope' },
  virtualEndpoint: 'lab-pg',
} as const;

export function azureFlexiblePart(): LabPart {
  const service = labService(KEY);
  return {
    name: KEY,
    pidFile: service.pidFile,
    async start(info) {
      const cloud = labAzureCloud(info, KEY);
      // Flexible server gives no superuser (no ALTER SYSTEM): the config fences the application's role.
      await createFencedAppRole(info);
      // The service administers its servers: it reads the lab's own (admin) URLs from lab.json.
      const started = await service.spawn(info, [
        ...['--lab-dir', info.dir],
        ...['--authority', cloud.azure.authorityHost, '--tenant', cloud.azure.tenantId],
        ...['--ca-file', cloud.trafficManager.caPath],
      ]);
      return { [KEY]: started };
    },
    configure(config, info) {
      const postgres = config.components?.postgres;
      if (!postgres) return;
      const { url } = service.started(info);
      postgres.driver = 'azure-flexible';
      // Azure makes the old primary a replica (switchover, or a new replica): no `dr lab resync`.
      delete postgres.resync;
      postgres.fence = { method: 'role', roles: [LAB_APP_ROLE] };
      postgres.azureFlexible = {
        ...LAB_AZURE_FLEXIBLE,
        primary: { ...LAB_AZURE_FLEXIBLE.primary },
        secondary: { ...LAB_AZURE_FLEXIBLE.secondary },
        endpoint: url,
        promoteTimeoutSeconds: 120,
        rebuildTimeoutMinutes: 5,
        pollIntervalMs: 200,
      };
      // One CA file for the credential and every ARM client: what the bot trusted, plus this cert.
      const dir = service.dir(info);
      const before = config.azure?.caFile ?? labCloud(info)!.trafficManager.caPath;
      const pems = [
        readFileSync(before, 'utf8'),
        readFileSync(join(dir, AZURE_FLEXIBLE_CA_FILE), 'utf8'),
      ];
      const caFile = join(dir, BUNDLE_FILE);
      writeFileSync(caFile, pems.map((p) => p.trim()).join('\n') + '\n');
      config.azure = { ...config.azure, caFile };
    },
  };
}
