/**
 * Entry point of the detached flexible server simulator process of `dr lab up --cloud azure
 * --postgres azure-flexible`: checks bearer tokens against the lab's Entra ID (its keys read over
 * https, trusting the lab CA), serves until SIGTERM and announces itself in DIR/azure-flexible.json.
 *
 *   node [--import tsx] serve-azure-flexible.(ts|js) --dir DIR --lab-dir LAB_DIR --authority URL
 *     --tenant ID --ca-file LAB_CA_PEM
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAzureFlexibleSimulator } from './azure-flexible.js';
import { AZURE_FLEXIBLE_CA_FILE, LAB_AZURE_FLEXIBLE } from './azure-flexible-part.js';
import { fetchEntraVerifier } from './entra-jwks.js';
import { runLabService } from './service.js';

const FLAGS = { 'lab-dir': 'LAB_DIR', authority: 'URL', tenant: 'ID', 'ca-file': 'PEM' };

runLabService('azure-flexible', FLAGS, async (dir, a) => {
  const ca = await readFile(a['ca-file'], 'utf8');
  const verifier = await fetchEntraVerifier({ authorityHost: a.authority, tenantId: a.tenant, ca });
  const { subscriptionId, primary, secondary, virtualEndpoint } = LAB_AZURE_FLEXIBLE;
  const server = (s: typeof primary | typeof secondary) => ({
    name: s.serverName,
    resourceGroup: s.resourceGroup,
    location: s.location,
  });
  const sim = await startAzureFlexibleSimulator({
    labDir: a['lab-dir'],
    subscriptionId,
    primary: { ...server(primary), server: 'primary' },
    secondary: { ...server(secondary), server: 'secondary' },
    virtualEndpoint,
    verifier,
  });
  // Its own self-signed certificate: the part adds it to the bot's CA file.
  await writeFile(join(dir, AZURE_FLEXIBLE_CA_FILE), sim.ca);
  return { url: sim.url, stop: () => sim.stop() };
});
