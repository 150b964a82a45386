/**
 * `dr lab up --cloud azure --redis azure-cache`: the Azure Cache simulator as a part of the lab, its
 * own detached process in front of the lab's real Redis pair, checking the lab Entra ID's tokens,
 * and a bot config whose cache uses the azure-cache driver against it. Needs the simulators part
 * with the Azure cloud started before it (its Entra ID and CA).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import type { LabInfo, LabPart } from '../types.js';
import { labCloud } from './part.js';
import { spawnDetached } from './spawn.js';

const KEY = 'azure-cache';
const FILE = 'azure-cache.json';
const PID_FILE = 'azure-cache.pid';
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

const sim = (info: LabInfo) => {
  const s = info.simulators[KEY];
  if (!s) throw new ProviderError('lab', 'the azure-cache part was configured before it started');
  return s as typeof s & { caFile: string };
};

export function azureCachePart(): LabPart {
  return {
    name: KEY,
    pidFile: (info) => join(info.dir, KEY, PID_FILE),
    async start(info) {
      const cloud = labCloud(info);
      if (!cloud?.azure)
        throw new ProviderError(
          'lab',
          'the azure-cache part checks tokens of the lab Entra ID: start the simulators with the Azure cloud before it',
        );
      const dir = join(info.dir, KEY);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The service acts as an admin of its nodes: the lab's own URLs, not the bot's ACL user.
      const d = await spawnDetached<{ pid: number; url: string }>({
        dir,
        script: 'serve-azure-cache',
        args: [
          ...['--primary', info.redis.primary.url, '--secondary', info.redis.secondary.url],
          ...['--authority', cloud.azure.authorityHost, '--tenant', cloud.azure.tenantId],
          ...['--ca-file', cloud.trafficManager.caPath],
        ],
        file: FILE,
        pidFile: PID_FILE,
        logName: 'azure-cache.log',
      });
      // One CA file for the credential (Entra ID) and the ARM clients (Traffic Manager, the cache).
      const caFile = join(dir, BUNDLE_FILE);
      const pems = [cloud.trafficManager.caPath, join(dir, AZURE_CACHE_CA_FILE)];
      writeFileSync(caFile, pems.map((p) => readFileSync(p, 'utf8').trim()).join('\n') + '\n');
      return { [KEY]: { url: d.url, pid: d.pid, logFile: d.logFile, caFile } };
    },
    configure(config, info) {
      const redis = config.components?.redis;
      if (!redis) return;
      const { url, caFile } = sim(info);
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
