/**
 * `dr lab up --cloud azure --postgres azure-flexible`: the flexible server simulator as a part of
 * the lab, its own detached process in front of the lab's real PostgreSQL pair, checking the lab
 * Entra ID's tokens, and a bot config whose database uses the azure-flexible driver against it
 * (the SQL still goes to the servers, as the bot's role). Needs the simulators part with the Azure
 * cloud started before it (its Entra ID and CA).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import { applyRoleFenceGrants, LAB_APP_ROLE } from '../permissions.js';
import { pgQuery } from '../postgres.js';
import type { LabInfo, LabPart } from '../types.js';
import { labCloud } from './part.js';
import { spawnDetached } from './spawn.js';

const KEY = 'azure-flexible';
const FILE = 'azure-flexible.json';
const PID_FILE = 'azure-flexible.pid';
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
  const sim = (info: LabInfo) => {
    const s = info.simulators[KEY];
    if (!s)
      throw new ProviderError('lab', 'the azure-flexible part was configured before it started');
    return s;
  };
  return {
    name: KEY,
    pidFile: (info) => join(info.dir, KEY, PID_FILE),
    async start(info) {
      const cloud = labCloud(info);
      if (!cloud?.azure)
        throw new ProviderError(
          'lab',
          'the azure-flexible part checks tokens of the lab Entra ID: start the simulators with the Azure cloud before it',
        );
      const dir = join(info.dir, KEY);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Flexible server gives no superuser (no ALTER SYSTEM): the config fences the application's
      // role. On the primary, as its admin would; replication carries role and grants to the replica.
      const admin = info.postgres.primary.url;
      await pgQuery(admin, `CREATE ROLE ${LAB_APP_ROLE} LOGIN`);
      await applyRoleFenceGrants(admin);
      // The service administers its servers: it reads the lab's own (admin) URLs from lab.json.
      const d = await spawnDetached<{ pid: number; url: string }>({
        dir,
        script: 'serve-azure-flexible',
        args: [
          ...['--lab-dir', info.dir],
          ...['--authority', cloud.azure.authorityHost, '--tenant', cloud.azure.tenantId],
          ...['--ca-file', cloud.trafficManager.caPath],
        ],
        file: FILE,
        pidFile: PID_FILE,
        logName: 'azure-flexible.log',
      });
      return { [KEY]: { url: d.url, pid: d.pid, logFile: d.logFile } };
    },
    configure(config, info) {
      const postgres = config.components?.postgres;
      if (!postgres) return;
      const { url } = sim(info);
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
      const dir = join(info.dir, KEY);
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
