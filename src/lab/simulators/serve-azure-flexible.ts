/**
 * Entry point of the detached flexible server simulator process of `dr lab up --cloud azure
 * --postgres azure-flexible`: checks bearer tokens against the lab's Entra ID (its keys read over
 * https, trusting the lab CA), serves until SIGTERM and announces itself in DIR/azure-flexible.json.
 *
 *   node [--import tsx] serve-azure-flexible.(ts|js) --dir DIR --lab-dir LAB_DIR --authority URL
 *     --tenant ID --ca-file LAB_CA_PEM
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAzureFlexibleSimulator } from './azure-flexible.js';
import { AZURE_FLEXIBLE_CA_FILE, LAB_AZURE_FLEXIBLE } from './azure-flexible-part.js';
import { fetchEntraVerifier } from './entra-jwks.js';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};

interface ServeArgs {
  dir: string;
  labDir: string;
  authority: string;
  tenant: string;
  caFile: string;
}

async function serve(a: ServeArgs): Promise<void> {
  const ca = await readFile(a.caFile, 'utf8');
  const verifier = await fetchEntraVerifier({ authorityHost: a.authority, tenantId: a.tenant, ca });
  const { subscriptionId, primary, secondary, virtualEndpoint } = LAB_AZURE_FLEXIBLE;
  const server = (s: typeof primary | typeof secondary) => ({
    name: s.serverName,
    resourceGroup: s.resourceGroup,
    location: s.location,
  });
  const sim = await startAzureFlexibleSimulator({
    labDir: a.labDir,
    subscriptionId,
    primary: { ...server(primary), server: 'primary' },
    secondary: { ...server(secondary), server: 'secondary' },
    virtualEndpoint,
    verifier,
  });
  // Its own self-signed certificate: the part adds it to the bot's CA file.
  await writeFile(join(a.dir, AZURE_FLEXIBLE_CA_FILE), sim.ca);
  const file = join(a.dir, 'azure-flexible.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, url: sim.url })}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`dr lab azure-flexible simulator ready (pid ${process.pid}) at ${sim.url}`);
  const stop = (): void => void sim.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const a = {
  dir: arg('--dir'),
  labDir: arg('--lab-dir'),
  authority: arg('--authority'),
  tenant: arg('--tenant'),
  caFile: arg('--ca-file'),
};
if (Object.values(a).some((v) => !v)) {
  console.error(
    'usage: serve-azure-flexible --dir DIR --lab-dir LAB_DIR --authority URL --tenant ID --ca-file PEM',
  );
  process.exit(2);
}
serve(a as ServeArgs).catch((err: unknown) => {
  console.error(
    'dr lab azure-flexible simulator failed:',
    err instanceof Error ? err.message : err,
  );
  process.exit(1);
});
