/**
 * Entry point of the detached Azure Cache simulator process of `dr lab up --cloud azure --redis
 * azure-cache`: checks bearer tokens against the lab's Entra ID (its keys read over https, trusting
 * the lab CA), serves until SIGTERM and announces itself in DIR/azure-cache.json.
 *
 *   node [--import tsx] serve-azure-cache.(ts|js) --dir DIR --primary REDIS_URL --secondary REDIS_URL
 *     --authority URL --tenant ID --ca-file LAB_CA_PEM
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAzureCacheSimulator } from './azure-cache.js';
import { AZURE_CACHE_CA_FILE, LAB_AZURE_CACHE } from './azure-cache-part.js';
import { fetchEntraVerifier } from './entra-jwks.js';
import { runLabService } from './service.js';

const FLAGS = {
  primary: 'REDIS_URL',
  secondary: 'REDIS_URL',
  authority: 'URL',
  tenant: 'ID',
  'ca-file': 'PEM',
};

runLabService('azure-cache', FLAGS, async (dir, a) => {
  const ca = await readFile(a['ca-file'], 'utf8');
  const verifier = await fetchEntraVerifier({ authorityHost: a.authority, tenantId: a.tenant, ca });
  const { subscriptionId, primary, secondary } = LAB_AZURE_CACHE;
  const sim = await startAzureCacheSimulator({
    subscriptionId,
    primary: { ...primary, url: a.primary },
    secondary: { ...secondary, url: a.secondary },
    verifier,
  });
  // Its own self-signed certificate: the part adds it to the lab's CA file for the bot.
  await writeFile(join(dir, AZURE_CACHE_CA_FILE), sim.ca);
  return { url: sim.url, stop: () => sim.stop() };
});
