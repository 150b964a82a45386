/**
 * `dr lab up --cloud azure` as a new Azure user meets it: the config it writes names Traffic Manager
 * and Blob, and without AZURE_CLIENT_SECRET `dr readiness`, `dr start` and `dr config check --live`
 * (child processes with only lab.env) each say so in one line; `dr lab status` shows the Traffic
 * Manager switch. Readiness green through the real credential chain and the Traffic Manager switch
 * made by the bot are the Azure cycle of test/e2e/failover-slack-lab.test.ts (`dr start` with lab.env).
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parse } from 'yaml';
import { runLab } from '../../src/cli/lab.js';
import { loadConfig } from '../../src/config/index.js';
import { closeProviders, createProviders } from '../../src/providers/factory.js';
import { labDown, labUp, readLabEnv, type LabInfo } from '../../src/lab/index.js';
import { runDr, type DrRun } from '../support/dr-cli.js';

let lab: LabInfo;
let env: Record<string, string>;
/** The CLI runs of the tests below: none changes the lab, so they run side by side, once. */
let runs: Record<
  'liveOk' | 'liveWithout' | 'readinessWithout' | 'startWithout' | 'statusPrimary',
  DrRun
>;

beforeAll(async () => {
  lab = await labUp({ cloud: 'azure', walinspect: false });
  env = readLabEnv(lab.envFile);
  const slackEnv = { SLACK_BOT_TOKEN: 'xoxb-lab-not-used', SLACK_SIGNING_SECRET: 'lab-not-used' };
  const without = shellEnv(['AZURE_CLIENT_SECRET']);
  const [liveOk, liveWithout, readinessWithout, startWithout, statusPrimary] = await Promise.all([
    runDr(['config', 'check', '--live'], { env: { ...shellEnv(), ...slackEnv } }),
    runDr(['config', 'check', '--live'], { env: { ...without, ...slackEnv } }),
    runDr(['readiness'], { env: without }),
    runDr(['start'], { env: { ...without, ...slackEnv } }),
    runDr(['lab', 'status', '--dir', lab.dir], { env: shellEnv() }),
  ]);
  runs = { liveOk, liveWithout, readinessWithout, startWithout, statusPrimary };
}, 180_000);

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

test('without AZURE_CLIENT_SECRET, `dr readiness` shows one readable line naming it', () => {
  const run = runs.readinessWithout;
  const dns = line(run.stdout, /dns/i);
  expect(dns).toMatch(/AZURE_CLIENT_SECRET is not set/);
  expect(run.stdout + run.stderr).not.toMatch(
    /ChainedTokenCredential|Visual Studio Code Authentication/,
  );
  expect(run.code).not.toBe(0);
});

test('without AZURE_CLIENT_SECRET, `dr start` refuses to start and says what to set', () => {
  const run = runs.startWithout;
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(/^dr start: .*AZURE_CLIENT_SECRET is not set/m);
  expect(run.stderr).not.toMatch(/ChainedTokenCredential|dr-bot started/);
});

test('`dr config check --live` passes with the lab credentials and names AZURE_CLIENT_SECRET without it', () => {
  const ok = runs.liveOk;
  expect(line(ok.stdout, /^ {2}dns: /)).toMatch(/^ {2}dns: (ok|warning) — /);
  expect(ok.stdout + ok.stderr).not.toMatch(/blocked|live check failed|ChainedTokenCredential/);
  expect(ok.code).toBe(0);

  const without = runs.liveWithout;
  const out = without.stdout + without.stderr;
  expect(line(without.stdout, /^ {2}dns: /)).toMatch(
    /^ {2}dns: blocked — .*AZURE_CLIENT_SECRET is not set.*; set AZURE_CLIENT_SECRET/,
  );
  expect(out).not.toMatch(/ChainedTokenCredential|Visual Studio Code Authentication/);
  expect(without.code).not.toBe(0);
});

test('`dr lab status` shows the Traffic Manager switch the Azure config makes, not Route 53', async () => {
  expect(line(runs.statusPrimary.stdout, /^ {2}dns/)).toBe(
    '  dns (traffic mgr)   serving primary, primary endpoint Enabled',
  );
  // After the switch, the same command's code in this process (the child above ran it as is).
  const status = async (): Promise<string> => {
    let out = '';
    const io = { stdout: (t: string) => (out += t), stderr: () => undefined, env: shellEnv() };
    expect(await runLab('status', { dir: lab.dir, io })).toBe(0);
    return line(out, /^ {2}dns/);
  };
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
