/**
 * `dr lab up --cloud azure --redis azure-cache`: the lab writes a config whose cache uses the
 * azure-cache driver against the Azure Cache simulator (its own detached process) in front of the
 * real Redis pair; the bot, built from that config and lab.env, signs in with the real credential
 * chain against the lab's Entra ID, and reads both caches; `dr lab down` stops the simulator. The
 * failover cycle through Slack (planned under load, the flush named before the relink, failback,
 * unplanned) is test/e2e/azure-flexible-slack-lab.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { labDown, labUp, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { signJwt } from '../../src/lab/simulators/jwt.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import type { Providers } from '../../src/providers/types.js';
import { until } from '../support/lab.js';

const log = pino({ level: 'silent' });
const savedEnv = { ...process.env };
let lab: LabInfo | undefined;
let providers: Providers | undefined;

afterAll(async () => {
  if (providers) await closeProviders(providers, log);
  if (lab && existsSync(lab.dir)) await labDown({ dir: lab.dir });
  process.env = savedEnv;
});

/** GET a cache from the simulator with `token`, trusting the lab's CA file: the status and error code. */
function getCache(url: string, caFile: string, token: string): Promise<[number, string]> {
  const path = `/subscriptions/00000000-0000-4000-8000-0000000d0b07/resourceGroups/rg-weu/providers/Microsoft.Cache/Redis/lab-cache-weu?api-version=2024-11-01`;
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { ca: readFileSync(caFile, 'utf8'), headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          const code = (JSON.parse(body || '{}') as { error?: { code?: string } }).error?.code;
          resolve([res.statusCode ?? 0, code ?? '']);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('the written config reaches Azure Cache with the lab Entra ID; a forged token is refused; dr lab down stops it', async () => {
  lab = await labUp({ cloud: 'azure', redis: 'azure-cache', walinspect: false });
  const sim = lab.simulators['azure-cache']!;
  const config = loadConfig({ path: lab.configPath });
  expect(config.components.redis).toMatchObject({
    driver: 'azure-cache',
    azureCache: {
      endpoint: sim.url,
      primary: { resourceGroup: 'rg-weu', name: 'lab-cache-weu' },
      secondary: { resourceGroup: 'rg-neu', name: 'lab-cache-neu' },
    },
  });
  expect(config.azure?.caFile).toBe(sim.caFile);

  // A token the lab's Entra ID did not sign is refused, as ARM refuses it.
  const env = readLabEnv(lab.envFile);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = Math.floor(Date.now() / 1000);
  const forged = signJwt(
    {
      iss: `${env.AZURE_AUTHORITY_HOST}/${env.AZURE_TENANT_ID}/v2.0`,
      aud: sim.url,
      iat: now,
      exp: now + 600,
    },
    privateKey,
    'lab-entra-key-1',
  );
  expect(await getCache(sim.url, String(sim.caFile), forged)).toEqual([
    401,
    'InvalidAuthenticationToken',
  ]);

  // The real credential chain: lab.env's service principal against the lab's Entra ID. The
  // failover cycle through this config runs in test/e2e/azure-flexible-slack-lab.test.ts.
  Object.assign(process.env, env);
  providers = createProviders(config, process.env, log);
  const cache = providers.cache!;
  expect(cache.name).toBe('azure-cache');
  const card = await cache.readiness('secondary');
  expect(card.status).toBe('ready');
  expect(card.summary).toContain('secondary lab-cache-neu: Premium Succeeded, geo-secondary');

  const pid = sim.pid!;
  await labDown({ dir: lab.dir });
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until('the simulator process to exit', async () => !alive());
}, 300_000);

test('labUp with azure-cache on the AWS cloud is refused before anything starts', async () => {
  const dir = join(tmpdir(), `dr-lab-azure-cache-aws-${process.pid}`);
  await expect(labUp({ dir, redis: 'azure-cache' })).rejects.toThrow(
    '--redis azure-cache signs in with the lab Entra ID of the Azure cloud: add --cloud azure.',
  );
  expect(existsSync(dir)).toBe(false);
});
