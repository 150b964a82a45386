/**
 * `dr lab up --cloud azure --redis azure-cache`: the Azure Cache simulator as a part of the lab, its
 * own detached process in front of the lab's real Redis pair, checking the lab Entra ID's tokens,
 * and a bot config whose cache uses the azure-cache driver against it. Needs the simulators part
 * with the Azure cloud started before it (its Entra ID and CA).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPart } from '../types.js';
import { labAzureCloud, labService } from './service.js';

const KEY = 'azure-cache';
/** The simulator's own certificate, written by its process. */
export const AZURE_CACHE_CA_FILE = 'azure-cache-ca.pem';
/** The lab CA and the simulator's certificate in one file: the bot's `azure.caFile`. */
const BUNDLE_FILE = 'azure-ca-bundle.pem';

/** The lab's two Premium caches, geo-replicated primary → secondary. */
export const LAB_AZURE_CACHE = {
  subscriptionId: '00000000-0000-4000-8000-0000000d0b07',
  primary: { resourceGroup: 'rg-weu', name: 'lab-cache-weu', location: 'West Europe' },
  secondary: { resourceGroup: 'rg-neu', name: 'lab-cache-neu', location: 'North Europe' },
} as const;

export function azureCachePart(): LabPart {
  const service = labService(KEY);
  return {
    name: KEY,
    pidFile: service.pidFile,
    async start(info) {
      const cloud = labAzureCloud(info, KEY);
      // The service acts as an admin of its nodes: the lab's own URLs, not the bot's ACL user.
      const started = await service.spawn(info, [
        ...['--primary', info.redis.primary.url, '--secondary', info.redis.secondary.url],
        ...['--authority', cloud.azure.authorityHost, '--tenant', cloud.azure.tenantId],
        ...['--ca-file', cloud.trafficManager.caPath],
      ]);
      // One CA file for the credential (Entra ID) and the ARM clients (Traffic Manager, the cache).
      const caFile = join(service.dir(info), BUNDLE_FILE);
      const pems = [cloud.trafficManager.caPath, join(service.dir(info), AZURE_CACHE_CA_FILE)];
      writeFileSync(caFile, pems.map((p) => readFileSync(p, 'utf8').trim()).join('\n') + '\n');
      return { [KEY]: { ...started, caFile } };
    },
    configure(config, info) {
      const redis = config.components?.redis;
      if (!redis) return;
      const { url, caFile } = service.started(info) as { url: string; caFile: string };
      const { subscriptionId, primary, secondary } = LAB_AZURE_CACHE;
      redis.driver = 'azure-cache';
      redis.azureCache = {
        subscriptionId,
        primary: { resourceGroup: primary.resourceGroup, name: primary.name },
        secondary: { resourceGroup: secondary.resourceGroup, name: secondary.name },
        endpoint: url,
        operationTimeoutSeconds: 120,
        pollIntervalMs: 500,
      };
      config.azure = { ...config.azure, caFile };
    },
  };
}
