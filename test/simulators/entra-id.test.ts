/**
 * The bot's real @azure/identity chain against the lab's Microsoft Entra ID simulator, and the ARM
 * simulators' token checks: client secret and workload identity get a token and drive Traffic
 * Manager; a wrong audience, an expired token or a missing secret fail as they would in Azure.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  startAzureResourceHealthSimulator,
  startEntraIdSimulator,
  startTrafficManagerSimulator,
  type AzureResourceHealthSim,
  type EntraIdSim,
  type TrafficManagerSim,
} from '../../src/lab/simulators/index.js';
import { signJwt } from '../../src/lab/simulators/jwt.js';
import { selfSignedCert } from '../../src/lab/simulators/tls.js';
import { createAzureCredential } from '../../src/providers/azure-credential.js';
import { createTrafficManagerProvider } from '../../src/providers/traffic-manager/index.js';

const log = pino({ level: 'silent' });
const AKS_ISSUER = 'https://oidc.lab-aks.local/issuer';
const SUBJECT = 'system:serviceaccount:dr:dr-bot';
const aks = generateKeyPairSync('rsa', { modulusLength: 2048 });
const AZURE_VARS = [
  'AZURE_AUTHORITY_HOST',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_FEDERATED_TOKEN_FILE',
];
const saved = Object.fromEntries(AZURE_VARS.map((v) => [v, process.env[v]]));

let entra: EntraIdSim;
let tm: TrafficManagerSim;
let rh: AzureResourceHealthSim;
let dir: string;
let caFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dr-entra-test-'));
  const tls = await selfSignedCert();
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.cert);
  entra = await startEntraIdSimulator({
    tls,
    federated: {
      issuer: AKS_ISSUER,
      subject: SUBJECT,
      publicKey: aks.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  });
  tm = await startTrafficManagerSimulator({ tls, verifier: entra, dns: false });
  rh = await startAzureResourceHealthSimulator({ tls, verifier: entra });
});

afterAll(async () => {
  await Promise.all([entra.stop(), tm.stop(), rh.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const v of AZURE_VARS) delete process.env[v];
  Object.assign(process.env, {
    AZURE_AUTHORITY_HOST: entra.url,
    AZURE_TENANT_ID: entra.tenantId,
    AZURE_CLIENT_ID: entra.clientId,
    AZURE_CLIENT_SECRET: entra.clientSecret,
  });
});

afterEach(() => {
  for (const v of AZURE_VARS)
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
});

function labCredential() {
  return createAzureCredential({ azure: { disableInstanceDiscovery: true, caFile } });
}

function trafficManager() {
  return createTrafficManagerProvider({
    subscriptionId: tm.subscriptionId,
    resourceGroup: tm.resourceGroup,
    profileName: tm.profileName,
    primaryEndpoint: tm.primaryEndpoint,
    secondaryEndpoint: tm.secondaryEndpoint,
    endpoint: tm.url,
    credential: labCredential(),
    ca: tm.ca,
    log,
  });
}

/** A raw ARM GET with the given bearer token: status and ARM error code. */
function armGet(
  url: string,
  token: string,
): Promise<{ status: number; code?: string; challenge?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: tm.ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            code: (JSON.parse(body || '{}') as { error?: { code?: string } }).error?.code,
            challenge: res.headers['www-authenticate'],
          }),
        );
      },
    );
    req.on('error', reject);
  });
}

const profilePath = () =>
  `${tm.url}/subscriptions/${tm.subscriptionId}/resourceGroups/${tm.resourceGroup}/providers/Microsoft.Network/trafficmanagerprofiles/${tm.profileName}?api-version=2022-04-01`;

test('client secret: the real credential chain reads the OIDC metadata, gets an ARM token and drives Traffic Manager', async () => {
  const before = entra.requests.length;
  await expect(trafficManager().currentTarget()).resolves.toBe('primary');
  const seen = entra.requests.slice(before);
  expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(
    expect.arrayContaining([
      `GET /${entra.tenantId}/v2.0/.well-known/openid-configuration`,
      `POST /${entra.tenantId}/oauth2/v2.0/token`,
    ]),
  );
  const form = new URLSearchParams(seen.find((r) => r.method === 'POST')!.body);
  expect(form.get('grant_type')).toBe('client_credentials');
  expect(form.get('scope')).toContain(`${tm.url}/.default`);
  expect(form.get('client_secret')).toBe(entra.clientSecret);
});

test('workload identity: a federated service account token (AZURE_FEDERATED_TOKEN_FILE) is exchanged without a secret', async () => {
  delete process.env.AZURE_CLIENT_SECRET;
  const now = Math.floor(Date.now() / 1000);
  const file = join(dir, 'azure-identity-token');
  writeFileSync(
    file,
    signJwt(
      {
        iss: AKS_ISSUER,
        sub: SUBJECT,
        aud: 'api://AzureADTokenExchange',
        iat: now,
        exp: now + 3600,
      },
      aks.privateKey,
      'aks',
    ),
  );
  process.env.AZURE_FEDERATED_TOKEN_FILE = file;
  const before = entra.requests.length;
  await expect(trafficManager().currentTarget()).resolves.toBe('primary');
  const post = entra.requests.slice(before).find((r) => r.method === 'POST')!;
  const form = new URLSearchParams(post.body);
  expect(form.get('client_assertion_type')).toBe(
    'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  );
  expect(form.get('client_secret')).toBeNull();
});

test('a federated token for another service account is refused by Entra ID with its AADSTS code, in one line', async () => {
  delete process.env.AZURE_CLIENT_SECRET;
  const now = Math.floor(Date.now() / 1000);
  const file = join(dir, 'other-token');
  writeFileSync(
    file,
    signJwt(
      {
        iss: AKS_ISSUER,
        sub: 'system:serviceaccount:default:other',
        aud: 'api://AzureADTokenExchange',
        iat: now,
        exp: now + 3600,
      },
      aks.privateKey,
      'aks',
    ),
  );
  process.env.AZURE_FEDERATED_TOKEN_FILE = file;
  const err = (await trafficManager()
    .currentTarget()
    .catch((e: unknown) => e)) as Error;
  expect(err.message).toMatch(/AADSTS700213/);
  expect(err.message).not.toMatch(/\n/);
});

test('ARM answers 401 with a Bearer challenge for a token of another audience, an expired one, or none', async () => {
  const storageToken = await labCredential().getToken('https://storage.azure.com/.default');
  expect(await armGet(profilePath(), storageToken!.token)).toMatchObject({
    status: 401,
    code: 'InvalidAuthenticationTokenAudience',
    challenge: expect.stringContaining('Bearer authorization_uri='),
  });
  const expired = entra.issue({ aud: tm.url, exp: Math.floor(Date.now() / 1000) - 60 });
  expect(await armGet(profilePath(), expired)).toMatchObject({
    status: 401,
    code: 'ExpiredAuthenticationToken',
  });
  expect(await armGet(profilePath(), 'not-a-jwt')).toMatchObject({
    status: 401,
    code: 'InvalidAuthenticationToken',
  });
  // A token for Traffic Manager's API is not one for Resource Health's.
  const tmToken = await labCredential().getToken(`${tm.url}/.default`);
  const rhPath = `${rh.url}/subscriptions/${rh.subscriptionId}/providers/Microsoft.ResourceHealth/availabilityStatuses?api-version=2022-10-01`;
  expect(await armGet(rhPath, tmToken!.token)).toMatchObject({
    status: 401,
    code: 'InvalidAuthenticationTokenAudience',
  });
  const rhToken = await labCredential().getToken(`${rh.url}/.default`);
  expect(await armGet(rhPath, rhToken!.token)).toMatchObject({ status: 200 });
});

test('without AZURE_CLIENT_SECRET the failure is one line naming it, not the whole chain', async () => {
  delete process.env.AZURE_CLIENT_SECRET;
  const err = (await trafficManager()
    .currentTarget()
    .catch((e: unknown) => e)) as Error;
  expect(err.message).toMatch(/AZURE_CLIENT_SECRET is not set/);
  expect(err.message).toMatch(/tried environment, .*managed identity/);
  expect(err.message).not.toMatch(/ChainedTokenCredential|\n/);
});

test('a wrong client secret is named by its Entra ID code', async () => {
  process.env.AZURE_CLIENT_SECRET = 'not-the-secret';
  const err = (await trafficManager()
    .currentTarget()
    .catch((e: unknown) => e)) as Error;
  expect(err.message).toMatch(/AADSTS7000215: Invalid client secret provided/);
  expect(err.message).not.toMatch(/Trace ID|\n/);
});
