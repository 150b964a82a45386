/**
 * components.postgres.driver azure-flexible: its azureFlexible block, and the rest of the postgres
 * block it cannot use (resync, a fence needing ALTER SYSTEM or a host), with errors that name the
 * key and say what to fix; `dr config check` names the servers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, summarizeConfig } from '../../src/config/index.js';

const BASE = `environment: staging
regions:
  primary: { name: westeurope }
  secondary: { name: northeurope }
slack:
  incidentChannel: C0123ABCD
approvals:
  approvers: [U0123ALICE]
components:
  postgres:
    primary: { url: "postgres://dr_bot@app-pg-weu.postgres.database.azure.com:5432/app" }
    secondary: { url: "postgres://dr_bot@app-pg-neu.postgres.database.azure.com:5432/app" }
`;
const DRIVER = '    driver: azure-flexible\n';
const BLOCK = `    azureFlexible:
      subscriptionId: 00000000-0000-4000-8000-00000000f1e1
      resourceGroup: rg-app
      primary: { serverName: app-pg-weu, location: westeurope }
      secondary: { serverName: app-pg-neu, location: northeurope }
      virtualEndpoint: app-pg
`;
const ROLE_FENCE = `    fence: { method: role, roles: [app] }\n`;

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'dr-flex-config-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(extra: string): ReturnType<typeof loadConfig> {
  const path = join(dir, 'dr.config.yaml');
  writeFileSync(path, BASE + extra);
  return loadConfig({ path, env: {} });
}

it('accepts azure-flexible with its servers and the role fence, with defaults', () => {
  const pg = load(DRIVER + BLOCK + ROLE_FENCE).components.postgres;
  expect(pg?.driver).toBe('azure-flexible');
  expect(pg?.azureFlexible).toMatchObject({
    virtualEndpoint: 'app-pg',
    promoteTimeoutSeconds: 900,
    rebuildTimeoutMinutes: 240,
    pollIntervalMs: 5000,
  });
});

it('dr config check names the servers and how a promotion is made', () => {
  const { lines } = summarizeConfig(load(DRIVER + BLOCK + ROLE_FENCE), {});
  expect(lines.find((l) => l.startsWith('  postgres'))).toContain(
    '; Azure flexible server app-pg-weu (westeurope), read replica app-pg-neu (northeurope), switchover via virtual endpoint app-pg',
  );
});

it.each([
  [
    DRIVER + ROLE_FENCE,
    /components\.postgres\.azureFlexible.*driver azure-flexible needs `azureFlexible`/,
  ],
  [BLOCK, /components\.postgres\.azureFlexible.*set driver: azure-flexible or remove it/],
  [
    DRIVER + BLOCK + ROLE_FENCE + '    resync: { command: /bin/true }\n',
    /components\.postgres\.resync.*azure-flexible makes the old primary a replica through Azure.*remove `resync`/,
  ],
  [
    DRIVER + BLOCK,
    /components\.postgres\.fence.*cannot fence with method read-only \(the default\): flexible server gives no superuser, so ALTER SYSTEM is refused\. Set fence: \{ method: role/,
  ],
  [
    DRIVER + BLOCK + '    fence: { method: command, command: /bin/true }\n',
    /components\.postgres\.fence.*cannot fence with method command: there is no host to run it on/,
  ],
  [
    DRIVER + BLOCK.replace('      resourceGroup: rg-app\n', '') + ROLE_FENCE,
    /components\.postgres\.azureFlexible\.primary\.resourceGroup.*set azureFlexible\.resourceGroup or primary\.resourceGroup/,
  ],
  [
    DRIVER + BLOCK.replace('serverName: app-pg-neu', 'serverName: app-pg-weu') + ROLE_FENCE,
    /components\.postgres\.azureFlexible\.secondary\.serverName.*the same server/,
  ],
  [
    DRIVER + BLOCK.replace('serverName: app-pg-weu', 'serverName: App_PG') + ROLE_FENCE,
    /components\.postgres\.azureFlexible\.primary\.serverName.*lowercase letters, digits and hyphens/,
  ],
  [
    DRIVER + BLOCK.replace('location: westeurope', 'location: West Europe') + ROLE_FENCE,
    /components\.postgres\.azureFlexible\.primary\.location.*westeurope/,
  ],
  [
    DRIVER + BLOCK.replace('00000000-0000-4000-8000-00000000f1e1', 'my-subscription') + ROLE_FENCE,
    /components\.postgres\.azureFlexible\.subscriptionId.*GUID/,
  ],
])('refuses a wrong azure-flexible config, saying what to fix (%#)', (extra, message) => {
  expect(() => load(extra)).toThrow(message);
});
