/**
 * Entry point of the detached Azure Cache simulator process of `dr lab up --cloud azure --redis
 * azure-cache`: checks bearer tokens against the lab's Entra ID (its keys read over https, trusting
 * the lab CA), serves until SIGTERM and announces itself in DIR/azure-cache.json.
 *
 *   node [--import tsx] serve-azure-cache.(ts|js) --dir DIR --primary REDIS_URL --secondary REDIS_URL
 *     --authority URL --tenant ID --ca-file LAB_CA_PEM
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAzureCacheSimulator } from './azure-cache.js';
import { AZURE_CACHE_CA_FILE, LAB_AZURE_CACHE } from './azure-cache-part.js';
import { fetchEntraVerifier } from './entra-jwks.js';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};

interface ServeArgs {
  dir: string;
  primary: string;
  secondary: string;
  authority: string;
  tenant: string;
  caFile: string;
}

async function serve(a: ServeArgs): Promise<void> {
  const ca = await readFile(a.caFile, 'utf8');
  const verifier = await fetchEntraVerifier({ authorityHost: a.authority, tenantId: a.tenant, ca });
  const { subscriptionId, primary, secondary } = LAB_AZURE_CACHE;
  const sim = await startAzureCacheSimulator({
    subscriptionId,
    primary: { ...primary, url: a.primary },
    secondary: { ...secondary, url: a.secondary },
    verifier,
  });
  // Its own self-signed certificate: the part adds it to the lab's CA file for the bot.
  await writeFile(join(a.dir, AZURE_CACHE_CA_FILE), sim.ca);
  const file = join(a.dir, 'azure-cache.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, url: sim.url })}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`dr lab azure-cache simulator ready (pid ${process.pid}) at ${sim.url}`);
  const stop = (): void => void sim.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const a = {
  dir: arg('--dir'),
  primary: arg('--primary'),
  secondary: arg('--secondary'),
  authority: arg('--authority'),
  tenant: arg('--tenant'),
  caFile: arg('--ca-file'),
};
if (Object.values(a).some((v) => !v)) {
  console.error(
    'usage: serve-azure-cache --dir DIR --primary REDIS_URL --secondary REDIS_URL --authority URL --tenant ID --ca-file PEM',
  );
  process.exit(2);
}
serve(a as ServeArgs).catch((err: unknown) => {
  console.error('dr lab azure-cache simulator failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
