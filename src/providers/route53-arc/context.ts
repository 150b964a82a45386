/**
 * The ARC routing-control provider's options, one SDK client per regional cluster endpoint, and
 * the rotation every call goes through: AWS recommends trying the cluster's endpoints in turn,
 * since any of the five may be down for maintenance while at least three answer.
 */
import { Route53RecoveryClusterClient } from '@aws-sdk/client-route53-recovery-cluster';
import type { Logger } from 'pino';
import type { RegionRole } from '../../domain/types.js';
import { DrError, PreconditionFailed, ProviderError, errorInfo } from '../../errors.js';

export interface ArcEndpoint {
  url: string;
  region: string;
}

export interface Route53ArcProviderOptions {
  /** The cluster's regional endpoints (DescribeCluster's ClusterEndpoints). */
  endpoints: ArcEndpoint[];
  primaryRoutingControlArn: string;
  secondaryRoutingControlArn: string;
  /** Per endpoint: how long to wait for a connection and an answer before trying the next. */
  timeoutSeconds?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  log: Logger;
}

export interface ArcContext {
  opts: Route53ArcProviderOptions;
  arns: Record<RegionRole, string>;
  clients: { endpoint: ArcEndpoint; client: Route53RecoveryClusterClient }[];
  /** Index of the endpoint that answered last: the next call starts there. */
  next: number;
  log: Logger;
}

export const NAME = 'route53-arc';
export const other = (r: RegionRole): RegionRole => (r === 'primary' ? 'secondary' : 'primary');

export function createArcContext(opts: Route53ArcProviderOptions): ArcContext {
  const ms = (opts.timeoutSeconds ?? 5) * 1000;
  return {
    opts,
    arns: { primary: opts.primaryRoutingControlArn, secondary: opts.secondaryRoutingControlArn },
    clients: opts.endpoints.map((endpoint) => ({
      endpoint,
      client: new Route53RecoveryClusterClient({
        region: endpoint.region,
        endpoint: endpoint.url,
        // One attempt per endpoint: the rotation below is the retry, as AWS's examples do it.
        maxAttempts: 1,
        requestHandler: { connectionTimeout: ms, requestTimeout: ms },
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
      }),
    })),
    next: 0,
    log: opts.log,
  };
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  resourceId?: string;
  resourceType?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Unreachable, 5xx (EndpointTemporarilyUnavailable, InternalServer) or throttled: try the next one. */
function endpointFailed(e: SdkError): boolean {
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
}

/** The safety rule a refusal names (its ARN as resourceId, or in the message), if it is one. */
function safetyRuleOf(e: SdkError): string | undefined {
  if (e.name !== 'ConflictException' && e.name !== 'ValidationException') return undefined;
  if (e.resourceType === 'SafetyRule' || e.resourceId?.includes('/safetyrule/'))
    return e.resourceId;
  const arn = e.message?.match(/arn:aws[\w-]*:route53-recovery-control::\d+:\S*safetyrule\/[\w-]+/);
  if (arn) return arn[0];
  return /safety rule/i.test(e.message ?? '') ? 'a safety rule' : undefined;
}

/** ECONNREFUSED, ETIMEDOUT...: on the error, its cause, or (dual stack) its parts. */
function networkCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; errors?: { code?: string }[] };
  // The SDK wraps errors from another realm; the code then only survives in the message.
  const said = /\b(E[A-Z]{3,})\b/.exec((err as Error).message ?? '')?.[1];
  return e.code ?? e.cause?.code ?? e.errors?.[0]?.code ?? said ?? 'unreachable';
}

function mapError(err: unknown, doing: string): DrError {
  if (err instanceof DrError) return err;
  const e = err as SdkError;
  const said = e.message ? ` (AWS said: ${e.message})` : '';
  const rule = safetyRuleOf(e);
  if (rule)
    return new PreconditionFailed(
      `Route 53 ARC refused ${doing}: safety rule ${rule} forbids it${said}. Nothing changed. Check the routing control states and the rule in the ARC console; a person may override the rule there in an emergency.`,
      { cause: err },
    );
  const status = e.$metadata?.httpStatusCode;
  if (status === 404 || e.name === 'ResourceNotFoundException')
    return new PreconditionFailed(
      `Route 53 ARC: ${doing} failed, ${e.name ?? 'not found'}${said}. Check the routing control ARNs in components.dns.route53Arc.`,
      { code: 'not-found', cause: err },
    );
  if (status === 403 || e.name === 'AccessDeniedException')
    return new ProviderError(
      NAME,
      `access denied while ${doing}${said}. Grant the bot's IAM identity the route53-recovery-cluster actions in deploy/permissions/aws-iam-policy.json, then retry the step.`,
      { code: 'forbidden', retryable: false, cause: err },
    );
  return new ProviderError(NAME, `${doing} failed: ${e.name ?? 'error'}${said}`, {
    retryable: false,
    cause: err,
  });
}

/**
 * Send one call, endpoint after endpoint from the last that answered, until one answers; an
 * answer that is an error of the request itself (a safety rule, a wrong ARN) ends the rotation.
 */
export async function call<T>(
  ctx: ArcContext,
  doing: string,
  fn: (client: Route53RecoveryClusterClient) => Promise<T>,
): Promise<{ value: T; endpoint: ArcEndpoint; failed: string[] }> {
  const failed: string[] = [];
  const n = ctx.clients.length;
  for (let i = 0; i < n; i++) {
    const at = (ctx.next + i) % n;
    const { endpoint, client } = ctx.clients[at]!;
    try {
      const value = await fn(client);
      ctx.next = at;
      return { value, endpoint, failed };
    } catch (err) {
      const e = err as SdkError;
      if (!endpointFailed(e)) {
        const mapped = mapError(err, doing);
        ctx.log.warn(
          { err: errorInfo(mapped), endpoint: endpoint.url },
          `${NAME}: ${doing} failed`,
        );
        throw mapped;
      }
      const why = e.$metadata?.httpStatusCode
        ? `${e.$metadata.httpStatusCode} ${e.name}`
        : networkCode(err);
      failed.push(`${endpoint.region} (${why})`);
      ctx.log.warn({ endpoint: endpoint.url, why }, `${NAME}: endpoint failed, trying the next`);
    }
  }
  throw new ProviderError(
    NAME,
    `no cluster endpoint answered while ${doing}: ${failed.join(', ')}. ARC keeps at least three of five up; check the bot's network egress to them, then retry the step.`,
    { retryable: true },
  );
}

export function destroyClients(ctx: ArcContext): void {
  for (const c of ctx.clients) c.client.destroy();
}
