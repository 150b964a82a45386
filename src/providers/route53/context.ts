/**
 * The Route 53 provider's options, the context its functions share (SDK client, settings derived
 * from the options, the change awaiting INSYNC) and the mapping of SDK errors to ours.
 */
import { describeAwsCredentialError } from '../aws-credential.js';
import { Route53Client } from '@aws-sdk/client-route-53';
import type { Logger } from 'pino';
import { DrError, PreconditionFailed, ProviderError, errorInfo } from '../../errors.js';
import { createResolver, normalizeName, type ResolveFn } from '../dns-resolve.js';

export interface Route53ProviderOptions {
  hostedZoneId: string;
  recordName: string;
  recordType?: 'A' | 'AAAA' | 'CNAME';
  primarySetIdentifier: string;
  secondarySetIdentifier: string;
  method?: 'invert-health-check' | 'rewrite-records';
  primaryHealthCheckId?: string;
  /** Switch even when Route 53 sees the target region unhealthy (it then keeps answering the other). */
  allowUnhealthyTarget?: boolean;
  endpoint?: string;
  region?: string;
  changeTimeoutSeconds?: number;
  pollMs?: number;
  rtoMinutes?: number;
  resolveName?: string;
  resolverServers?: string[];
  resolver?: ResolveFn;
  maxAttempts?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  log: Logger;
}

/** What every function of the provider works with; one per provider instance. */
export interface Route53Context {
  opts: Route53ProviderOptions;
  method: 'invert-health-check' | 'rewrite-records';
  recordType: 'A' | 'AAAA' | 'CNAME';
  recordName: string;
  timeoutMs: number;
  pollMs: number;
  log: Logger;
  client: Route53Client;
  doResolve: boolean;
  resolve: ResolveFn;
  where: string;
  /** The last change this provider submitted and has not seen INSYNC (rewrite-records). */
  unconfirmed: string | undefined;
}

export const NAME = 'route53';
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

export function createRoute53Context(opts: Route53ProviderOptions): Route53Context {
  const recordType = opts.recordType ?? 'A';
  const recordName = normalizeName(opts.recordName);
  const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL_ROUTE_53;
  const client = new Route53Client({
    region: opts.region ?? 'us-east-1',
    maxAttempts: opts.maxAttempts ?? 5,
    ...(endpoint ? { endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  return {
    opts,
    method: opts.method ?? 'invert-health-check',
    recordType,
    recordName,
    timeoutMs: (opts.changeTimeoutSeconds ?? 300) * 1000,
    pollMs: opts.pollMs ?? 2000,
    // The factory hands in a logger already bound to the provider name.
    log: opts.log,
    client,
    doResolve:
      opts.resolveName !== undefined ||
      opts.resolverServers !== undefined ||
      opts.resolver !== undefined,
    resolve: opts.resolver ?? createResolver({ servers: opts.resolverServers }),
    where: `${recordName} ${recordType} in hosted zone ${opts.hostedZoneId}`,
    unconfirmed: undefined,
  };
}

/** Turn an SDK error into one of ours, with what to do about it. */
function mapRoute53Error(err: unknown, doing: string): DrError {
  if (err instanceof DrError) return err;
  const credentials = describeAwsCredentialError(err);
  if (credentials)
    return new ProviderError(NAME, `${doing}: ${credentials}`, {
      code: 'forbidden',
      retryable: false,
      cause: err,
    });
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const said = e.message ? ` (AWS said: ${e.message})` : '';
  if (code === 'NoSuchHostedZone' || code === 'NoSuchHealthCheck' || code === 'NoSuchChange')
    return new PreconditionFailed(
      `Route 53: ${doing} failed, ${code}${said}. Check the ids in components.dns.route53 against the AWS account the bot's credentials belong to.`,
      { code: 'not-found', cause: err },
    );
  if (code === 'AccessDenied' || code === 'AccessDeniedException' || status === 403)
    return new ProviderError(
      NAME,
      `access denied while ${doing}${said}. Grant the bot's IAM identity route53:GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets, GetChange, GetHealthCheck, GetHealthCheckStatus, UpdateHealthCheck and TestDNSAnswer, then retry the step.`,
      { code: 'forbidden', retryable: false, cause: err },
    );
  if (THROTTLING.has(code) || status === 429)
    return new ProviderError(
      NAME,
      `throttled while ${doing} even after retries${said}. Another tool may be hammering the Route 53 API; retry the step in a minute.`,
      { code: 'throttled', retryable: true, cause: err },
    );
  if (
    code === 'InvalidChangeBatch' ||
    code === 'InvalidInput' ||
    code === 'HealthCheckVersionMismatch'
  )
    return new ProviderError(
      NAME,
      `${doing} was rejected: ${code}${said}. Someone may have changed the records or the health check meanwhile; retry re-reads them.`,
      { retryable: true, cause: err },
    );
  if (status === undefined)
    return new ProviderError(
      NAME,
      `cannot reach the Route 53 API while ${doing}: ${e.code ?? code} ${e.message ?? ''}`.trim() +
        '. Check network egress and the endpoint setting.',
      { retryable: true, cause: err },
    );
  return new ProviderError(NAME, `${doing} failed: ${code} (HTTP ${status})${said}`, {
    retryable: status >= 500,
    cause: err,
  });
}

/** Run one API call; a failure is logged and thrown as one of ours. */
export async function call<T>(
  ctx: Route53Context,
  doing: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const mapped = mapRoute53Error(err, doing);
    ctx.log.warn({ err: errorInfo(mapped) }, `route53: ${doing} failed`);
    throw mapped;
  }
}
