/**
 * `dr lab up --cloud azure` as a new Azure user meets it: the config it writes names Traffic Manager
 * and Blob, `dr readiness` (a child process with only lab.env) is green for DNS and object storage
 * through the real credential chain, and without AZURE_CLIENT_SECRET it says so in one line;
 * `dr lab status` shows the Traffic Manager switch.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import { labDown, labUp, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { runDr } from '../support/dr-cli.js';

let lab: LabInfo;
let env: Record<string, string>;

beforeAll(async () => {
  lab = await labUp({ cloud: 'azure', walinspect: false });
  env = readLabEnv(lab.envFile);
}, 120_000);

afterAll(async () => {
  if (lab) await labDown({ dir: lab.dir });
});

/** The environment of a shell that sourced lab.env, and nothing else of this runner's. */
function shellEnv(without: string[] = []): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  for (const k of without) delete e[k];
  return e;
}

const line = (out: string, what: RegExp): string =>
  out.split('\n').find((l) => what.test(l)) ?? `(no line for ${what} in:\n${out})`;

test('the config uses Traffic Manager, Blob and the local Entra ID; lab.env carries what the Azure SDKs read', () => {
  const config = parse(readFileSync(lab.configPath, 'utf8')) as {
    components: { dns: { provider: string }; objectStorage: { provider: string } };
    azure: { disableInstanceDiscovery: boolean };
  };
  expect(config.components.dns.provider).toBe('traffic-manager');
  expect(config.components.objectStorage.provider).toBe('azure-blob');
  expect(config.azure.disableInstanceDiscovery).toBe(true);
  for (const v of [
    'AZURE_AUTHORITY_HOST',
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_ID',
    'AZURE_CLIENT_SECRET',
  ])
    expect(env[v]).toBeTruthy();
  expect(env.AZURE_AUTHORITY_HOST).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  // The secret lives in lab.env only, never in the config file.
  expect(readFileSync(lab.configPath, 'utf8')).not.toContain(env.AZURE_CLIENT_SECRET);
});

test('`dr readiness` is green for DNS (Traffic Manager) and object storage (Blob replication)', async () => {
  const run = await runDr(['readiness'], { env: shellEnv() });
  expect(line(run.stdout, /dns/i)).toMatch(/: ok\b/);
  expect(line(run.stdout, /object/i)).toMatch(/: ok\b/);
  expect(run.stdout + run.stderr).not.toMatch(/ChainedTokenCredential/);
}, 60_000);

test('without AZURE_CLIENT_SECRET, `dr readiness` shows one readable line naming it', async () => {
  const run = await runDr(['readiness'], { env: shellEnv(['AZURE_CLIENT_SECRET']) });
  const dns = line(run.stdout, /dns/i);
  expect(dns).toMatch(/AZURE_CLIENT_SECRET is not set/);
  expect(run.stdout + run.stderr).not.toMatch(
    /ChainedTokenCredential|Visual Studio Code Authentication/,
  );
  expect(run.code).not.toBe(0);
}, 60_000);

test('without AZURE_CLIENT_SECRET, `dr start` refuses to start and says what to set', async () => {
  const run = await runDr(['start'], {
    env: {
      ...shellEnv(['AZURE_CLIENT_SECRET']),
      SLACK_BOT_TOKEN: 'xoxb-lab-not-used',
      SLACK_SIGNING_SECRET: 'lab-not-used',
    },
  });
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(/^dr start: .*AZURE_CLIENT_SECRET is not set/m);
  expect(run.stderr).not.toMatch(/ChainedTokenCredential|dr-bot started/);
}, 60_000);

test('`dr config check --live` passes with the lab credentials and names AZURE_CLIENT_SECRET without it', async () => {
  const slackEnv = { SLACK_BOT_TOKEN: 'xoxb-lab-not-used', SLACK_SIGNING_SECRET: 'lab-not-used' };
  const ok = await runDr(['config', 'check', '--live'], { env: { ...shellEnv(), ...slackEnv } });
  expect(line(ok.stdout, /^ {2}dns: /)).toMatch(/^ {2}dns: (ok|warning) — /);
  expect(ok.stdout + ok.stderr).not.toMatch(/blocked|live check failed|ChainedTokenCredential/);
  expect(ok.code).toBe(0);

  const without = await runDr(['config', 'check', '--live'], {
    env: { ...shellEnv(['AZURE_CLIENT_SECRET']), ...slackEnv },
  });
  const out = without.stdout + without.stderr;
  expect(line(without.stdout, /^ {2}dns: /)).toMatch(
    /^ {2}dns: blocked — .*AZURE_CLIENT_SECRET is not set.*; set AZURE_CLIENT_SECRET/,
  );
  expect(out).not.toMatch(/ChainedTokenCredential|Visual Studio Code Authentication/);
  expect(without.code).not.toBe(0);
}, 60_000);

test('`dr lab status` shows the Traffic Manager switch the Azure config makes, not Route 53', async () => {
  const status = async (): Promise<string> =>
    line(
      (await runDr(['lab', 'status', '--dir', lab.dir], { env: shellEnv() })).stdout,
      /^ {2}dns/,
    );
  expect(await status()).toBe('  dns (traffic mgr)   serving primary, primary endpoint Enabled');
  // The bot's own DNS switch, through the ARM API as `dr start` would make it; the SDK's
  // credential chain reads lab.env from process.env.
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const log = pino({ level: 'silent' });
  const providers = createProviders(loadConfig({ path: lab.configPath }), process.env, log);
  try {
    await providers.dns!.switchTo({ target: 'secondary', progress: () => undefined });
    expect(await status()).toBe(
      '  dns (traffic mgr)   serving secondary, primary endpoint Disabled',
    );
    await providers.dns!.switchTo({ target: 'primary', progress: () => undefined });
  } finally {
    await closeProviders(providers, log);
    process.env = saved;
  }
}, 60_000);
