/**
 * The Traffic Manager provider's options, the context its functions share (ARM client, settings
 * derived from the options, endpoint names) and the mapping of ARM errors to ours.
 */
import { TrafficManagerManagementClient, type EndpointType } from '@azure/arm-trafficmanager';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import type { RegionRole } from '../../domain/types.js';
import { DrError, PreconditionFailed, ProviderError, errorInfo } from '../../errors.js';
import { describeAzureCredentialError, isAzureCredentialError } from '../azure-credential.js';
import { createResolver, type ResolveFn } from '../dns-resolve.js';

export interface TrafficManagerProviderOptions {
  subscriptionId: string;
  resourceGroup: string;
  profileName: string;
  primaryEndpoint: string;
  secondaryEndpoint: string;
  endpointType?: 'azureEndpoints' | 'externalEndpoints' | 'nestedEndpoints';
  method?: 'disable-endpoint' | 'swap-priorities';
  endpoint?: string;
  credential?: TokenCredential;
  ca?: string;
  changeTimeoutSeconds?: number;
  pollMs?: number;
  rtoMinutes?: number;
  resolveName?: string;
  resolverServers?: string[];
  resolver?: ResolveFn;
  log: Logger;
}

/** What every function of the provider works with; one per provider instance. */
export interface TrafficManagerContext {
  opts: TrafficManagerProviderOptions;
  method: 'disable-endpoint' | 'swap-priorities';
  /** As configured ('externalEndpoints'), for matching endpoint resource types. */
  endpointTypeConfig: 'azureEndpoints' | 'externalEndpoints' | 'nestedEndpoints';
  /** As the SDK takes it ('ExternalEndpoints'). */
  endpointType: EndpointType;
  timeoutMs: number;
  pollMs: number;
  log: Logger;
  client: TrafficManagerManagementClient;
  doResolve: boolean;
  resolve: ResolveFn;
  names: Record<RegionRole, string>;
  where: string;
}

export const NAME = 'traffic-manager';
/** Monitor states in which Traffic Manager does not hand out an endpoint while a healthier one exists. */
export const UNHEALTHY = new Set(['Degraded', 'Stopped', 'Inactive', 'Disabled']);
export const other = (r: RegionRole): RegionRole => (r === 'primary' ? 'secondary' : 'primary');

export function createTrafficManagerContext(
  opts: TrafficManagerProviderOptions,
): TrafficManagerContext {
  const endpointTypeConfig = opts.endpointType ?? 'externalEndpoints';
  const client = new TrafficManagerManagementClient(
    opts.credential ?? new DefaultAzureCredential(),
    opts.subscriptionId,
    {
      ...(opts.endpoint ? { endpoint: opts.endpoint, $host: opts.endpoint } : {}),
      ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    },
  );
  return {
    opts,
    method: opts.method ?? 'disable-endpoint',
    endpointTypeConfig,
    endpointType: (endpointTypeConfig[0].toUpperCase() +
      endpointTypeConfig.slice(1)) as EndpointType,
    timeoutMs: (opts.changeTimeoutSeconds ?? 120) * 1000,
    pollMs: opts.pollMs ?? 2000,
    // The factory hands in a logger already bound to the provider name.
    log: opts.log,
    client,
    doResolve:
      opts.resolveName !== undefined ||
      opts.resolverServers !== undefined ||
      opts.resolver !== undefined,
    resolve: opts.resolver ?? createResolver({ servers: opts.resolverServers }),
    names: { primary: opts.primaryEndpoint, secondary: opts.secondaryEndpoint },
    where: `Traffic Manager profile ${opts.profileName} (resource group ${opts.resourceGroup})`,
  };
}

function mapArmError(err: unknown, doing: string): DrError {
  if (err instanceof DrError) return err;
  if (isAzureCredentialError(err))
    return new ProviderError(NAME, `${doing}: ${describeAzureCredentialError(err).line}`, {
      code: 'forbidden',
      retryable: false,
      cause: err,
    });
  const e = err as { statusCode?: number; code?: string; message?: string };
  const said = e.message ? ` (Azure said: ${e.message})` : '';
  if (e.statusCode === 404)
    return new PreconditionFailed(
      `Traffic Manager: ${doing} failed, ${e.code ?? 'NotFound'}${said}. Check subscriptionId, resourceGroup, profileName and the endpoint names in components.dns.trafficManager.`,
      { code: 'not-found', cause: err },
    );
  if (e.statusCode === 401 || e.statusCode === 403)
    return new ProviderError(
      NAME,
      `${e.statusCode === 401 ? 'authentication failed' : 'access denied'} while ${doing}${said}. Give the bot's identity the Traffic Manager Contributor role on the profile (or its resource group), then retry the step.`,
      { code: 'forbidden', retryable: false, cause: err },
    );
  if (e.statusCode === 429)
    return new ProviderError(
      NAME,
      `throttled by Azure Resource Manager while ${doing} even after retries${said}; retry the step in a minute.`,
      { code: 'throttled', retryable: true, cause: err },
    );
  if (e.statusCode === undefined)
    return new ProviderError(
      NAME,
      `cannot reach Azure Resource Manager while ${doing}: ${e.code ?? ''} ${e.message ?? String(err)}`.replace(
        /\s+/g,
        ' ',
      ) + '. Check network egress, the endpoint setting and the credential.',
      { retryable: true, cause: err },
    );
  return new ProviderError(NAME, `${doing} failed: HTTP ${e.statusCode} ${e.code ?? ''}${said}`, {
    retryable: e.statusCode >= 500 || e.statusCode === 409,
    cause: err,
  });
}

/** Run one ARM call; a failure is logged and thrown as one of ours. */
export async function call<T>(
  ctx: TrafficManagerContext,
  doing: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const mapped = mapArmError(err, doing);
    // The whole credential chain (every type's own message) is too long for a person; keep it here.
    if (isAzureCredentialError(err))
      ctx.log.debug({ chain: describeAzureCredentialError(err).chain }, 'azure credential chain');
    ctx.log.warn({ err: errorInfo(mapped) }, `traffic-manager: ${doing} failed`);
    throw mapped;
  }
}
