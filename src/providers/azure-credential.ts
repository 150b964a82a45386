/**
 * The bot's Azure credential, and Azure credential failures in one line a person can act on.
 *
 * DefaultAzureCredential runs as in production (environment, workload identity, managed identity,
 * CLI...). With AZURE_AUTHORITY_HOST pointing at a private cloud or the lab's Entra ID, MSAL's
 * instance discovery (an online call to login.microsoftonline.com that validates the host) must be
 * off: `azure.disableInstanceDiscovery` (AuthorityValidationOptions in @azure/identity's docs).
 */
import { readFileSync } from 'node:fs';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { DrConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/** The credential `config.azure` describes; one per provider, as each caches its own tokens. */
export function createAzureCredential(config: Pick<DrConfig, 'azure'>): TokenCredential {
  const a = config.azure;
  return new DefaultAzureCredential({
    ...(a?.disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
    ...(a?.caFile ? { tlsOptions: { ca: readAzureCa(a.caFile) } } : {}),
  });
}

/** The PEM of `azure.caFile`, for the Azure API clients as well as the credential. */
export function readAzureCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `azure.caFile: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file`,
    );
  }
}

interface CredentialFailure {
  name?: string;
  message?: string;
  errors?: CredentialFailure[];
  errorResponse?: { error?: string; errorDescription?: string };
}

/** Short names of the credential types, from the start of their messages. */
const KINDS: [RegExp, string][] = [
  [/^EnvironmentCredential/, 'environment'],
  [/^WorkloadIdentityCredential/, 'workload identity'],
  [/^ManagedIdentityCredential/, 'managed identity'],
  [/Visual Studio Code/, 'VS Code'],
  [/Azure Developer CLI/, 'Azure Developer CLI'],
  [/Azure CLI/, 'Azure CLI'],
  [/PowerShell/, 'Azure PowerShell'],
  [/^ClientSecretCredential/, 'client secret'],
  [/^ClientAssertionCredential/, 'workload identity'],
];

/** The credential type an error comes from; an Entra ID refusal names none: the configured one. */
function kindOf(e: CredentialFailure, env: NodeJS.ProcessEnv): string {
  const clean = (e.message ?? '').replace(/^(\w+Error|Error): /, '');
  const known = KINDS.find(([re]) => re.test(clean))?.[1];
  if (known) return known;
  if (!stsReason(e)) return 'other';
  return env.AZURE_FEDERATED_TOKEN_FILE ? 'workload identity' : 'environment';
}

/** An @azure/identity failure (unavailable, refused, or the chain of them). */
export function isAzureCredentialError(err: unknown): boolean {
  const name = (err as CredentialFailure | undefined)?.name;
  return (
    name === 'AggregateAuthenticationError' ||
    name === 'CredentialUnavailableError' ||
    name === 'AuthenticationError'
  );
}

/** Entra ID's code and first sentence, without the trace ids (AADSTS7000215: Invalid client secret provided.). */
function stsReason(e: CredentialFailure): string | undefined {
  const text = `${e.errorResponse?.errorDescription ?? ''}\n${e.message ?? ''}`;
  return /AADSTS\d+:.*?(?:\.(?=\s)|(?= Trace ID:)|$)/m.exec(text)?.[0];
}

/** What to fix for the Entra ID codes a misconfigured service principal gets. */
const STS_FIX: [RegExp, string][] = [
  [
    /AADSTS700021[35]|AADSTS7000222/,
    'check AZURE_CLIENT_SECRET (a secret value, not its id; not expired)',
  ],
  [/AADSTS700016/, 'check AZURE_CLIENT_ID and AZURE_TENANT_ID'],
  [/AADSTS90002/, 'check AZURE_TENANT_ID and AZURE_AUTHORITY_HOST'],
  [
    /AADSTS70021[123]/,
    "check the app's federated credential (issuer, subject) against the service account",
  ],
];

const ENV_VARS = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'] as const;

/** What the environment says the operator meant, why that failed, and what to set. */
function likely(errors: CredentialFailure[], env: NodeJS.ProcessEnv): string {
  const refused = errors.find((e) => stsReason(e));
  if (refused) {
    const why = stsReason(refused)!;
    const fix = STS_FIX.find(([re]) => re.test(why))?.[1];
    return `${kindOf(refused, env)} credential refused by ${env.AZURE_AUTHORITY_HOST ?? 'Microsoft Entra ID'}: ${why}${fix ? `; ${fix}` : ''}`;
  }
  if (errors.some((e) => /endpoints_resolution_error|untrusted_authority/.test(e.message ?? '')))
    return `the authority host ${env.AZURE_AUTHORITY_HOST ?? ''} could not be resolved: for a private cloud or the lab set azure.disableInstanceDiscovery: true (instance discovery asks login.microsoftonline.com), and azure.caFile if its certificate is not publicly trusted`;
  if (env.AZURE_FEDERATED_TOKEN_FILE) {
    const missing = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID'].filter((v) => !env[v]);
    return `workload identity (AZURE_FEDERATED_TOKEN_FILE is set) needs ${missing.length ? missing.join(' and ') : 'a readable token file'}: set ${missing.length ? missing.join(' and ') : `AZURE_FEDERATED_TOKEN_FILE to the projected service account token`}`;
  }
  const set = ENV_VARS.filter((v) => env[v]);
  if (set.length > 0) {
    const missing = ENV_VARS.filter((v) => !env[v]);
    return `environment credential incomplete: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set (${set.join(', ')} ${set.length > 1 ? 'are' : 'is'}); set ${missing.join(' and ')}, or AZURE_FEDERATED_TOKEN_FILE for workload identity`;
  }
  return 'no Azure credential: set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run with workload identity (AZURE_FEDERATED_TOKEN_FILE) or a managed identity';
}

/**
 * One line for an @azure/identity failure: which credential types were tried, why the likely one
 * failed, what to set. The full chain (each type's own message) is for the debug log: `chain`.
 */
export function describeAzureCredentialError(
  err: unknown,
  env: NodeJS.ProcessEnv = process.env,
): { line: string; chain: string } {
  const e = err as CredentialFailure;
  const errors = e.errors?.length ? e.errors : [e];
  const tried = [...new Set(errors.map((x) => kindOf(x, env)))].filter((k) => k !== 'other');
  const line = `Azure credential failed (tried ${tried.join(', ') || 'the default chain'}): ${likely(errors, env)}`;
  return { line, chain: e.message ?? String(err) };
}

const ARM = 'https://management.azure.com';

/** The token scopes the configured Azure clients will ask for (ARM clients: `${endpoint}/.default`). */
function azureScopes(config: DrConfig): string[] {
  const c = config.components;
  const scopes: string[] = [];
  if (c.dns?.provider === 'traffic-manager')
    scopes.push(`${c.dns.trafficManager?.endpoint ?? ARM}/.default`);
  if (c.redis?.driver === 'azure-cache')
    scopes.push(`${c.redis.azureCache?.endpoint ?? ARM}/.default`);
  const az = config.detection?.providerStatus?.azure;
  if (az) scopes.push(`${az.endpoint ?? ARM}/.default`);
  const o = c.objectStorage;
  if (o?.provider === 'azure-blob' && (o.primary.accountUrl || o.secondary.accountUrl))
    scopes.push('https://storage.azure.com/.default');
  return [...new Set(scopes)];
}

/**
 * `dr start` gets one token per scope the config needs before it serves anyone: a bot that cannot
 * authenticate could never fail over, so it refuses with the one line that says what to set.
 */
export async function checkAzureCredential(config: DrConfig): Promise<void> {
  const scopes = azureScopes(config);
  if (scopes.length === 0) return;
  const credential = createAzureCredential(config);
  for (const scope of scopes) {
    try {
      await credential.getToken(scope);
    } catch (err) {
      throw new ConfigError(`${describeAzureCredentialError(err).line} (needed for ${scope})`);
    }
  }
}
