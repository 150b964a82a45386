/**
 * The cloud's own status signal for the primary region, as detection evidence: open AWS Health
 * events for the region, or Azure Resource Health availability (one resource, or every resource of
 * the subscription in the primary's location). Read-only; a failure rejects with a ProviderError
 * that says what to check, and detection shows it as "unavailable".
 */
import {
  HealthClient,
  paginateDescribeEvents,
  type Event as AwsHealthEvent,
} from '@aws-sdk/client-health';
import { MicrosoftResourceHealth, type AvailabilityStatus } from '@azure/arm-resourcehealth';
import type { TokenCredential } from '@azure/identity';
import type { DrConfig } from '../config/schema.js';
import type { ProviderStatusEvent, ProviderStatusReader } from '../detection/types.js';
import { ProviderError } from '../errors.js';
import {
  createAzureCredential,
  describeAzureCredentialError,
  isAzureCredentialError,
  readAzureCa,
} from './azure-credential.js';

interface AwsHealthOptions {
  /** The region whose events count. */
  region: string;
  /** Endpoint override (lab, tests); default the global endpoint in us-east-1. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

interface AzureResourceHealthOptions {
  subscriptionId: string;
  /** The primary's Azure location: resources elsewhere do not count. */
  location: string;
  resourceId?: string;
  endpoint?: string;
  credential: TokenCredential;
  /** PEM of extra CA certificates to trust for `endpoint` (the lab simulator's self-signed one). */
  ca?: string;
}

function reason(err: unknown): string {
  const e = err as {
    name?: string;
    code?: string;
    statusCode?: number;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.$metadata?.httpStatusCode ?? e.statusCode;
  return [
    status ? `HTTP ${status}` : '',
    e.name && e.name !== 'Error' && e.name !== 'RestError' ? e.name : (e.code ?? ''),
    e.message ?? String(err),
  ]
    .filter((p) => p !== '')
    .join(' ')
    .replace(/\.+$/, '');
}

const OPEN = 'open';

function createAwsHealthReader(opts: AwsHealthOptions): ProviderStatusReader {
  // AWS Health is a global API served from us-east-1; the region is a filter, not the endpoint.
  const client = new HealthClient({
    region: 'us-east-1',
    maxAttempts: 2,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  return {
    source: 'AWS Health',
    async read() {
      const events: AwsHealthEvent[] = [];
      try {
        const pages = paginateDescribeEvents(
          { client, pageSize: 100 },
          { filter: { regions: [opts.region], eventStatusCodes: [OPEN] } },
        );
        for await (const page of pages) events.push(...(page.events ?? []));
      } catch (err) {
        throw new ProviderError(
          'AWS Health',
          `DescribeEvents failed: ${reason(err)}. AWS Health needs a Business or Enterprise support plan and health:DescribeEvents permission.`,
          { retryable: true, cause: err },
        );
      }
      // The filter asks for these already; checked again so a broader answer never shows another region's trouble.
      return events
        .filter((e) => e.statusCode === OPEN && e.region === opts.region)
        .map((e): ProviderStatusEvent => ({
          id: e.arn ?? `${e.service ?? '?'}:${e.eventTypeCode ?? '?'}`,
          title: [e.service, e.eventTypeCode].filter(Boolean).join(' ') || 'event',
          status: e.statusCode ?? OPEN,
          ...(e.region ? { region: e.region } : {}),
          ...(e.startTime ? { startedAt: e.startTime.toISOString() } : {}),
        }));
    },
  };
}

function sameLocation(a: string | undefined, b: string): boolean {
  // ARM spells locations both ways ("West Europe", "westeurope").
  return (
    a === undefined || a.replace(/\s+/g, '').toLowerCase() === b.replace(/\s+/g, '').toLowerCase()
  );
}

function azureEvent(s: AvailabilityStatus, fallbackId: string): ProviderStatusEvent {
  const p = s.properties ?? {};
  const state = p.availabilityState ?? 'Unknown';
  const id = (s.id ?? fallbackId).replace(
    /\/providers\/Microsoft\.ResourceHealth\/availabilityStatuses\/current$/i,
    '',
  );
  return {
    id,
    title: `${id.split('/').pop() ?? id}: ${state}${p.summary ? ` — ${p.summary}` : ''}`,
    status: state,
    ...(s.location ? { region: s.location } : {}),
    ...(p.occuredTime ? { startedAt: p.occuredTime.toISOString() } : {}),
  };
}

function createAzureResourceHealthReader(opts: AzureResourceHealthOptions): ProviderStatusReader {
  const client = new MicrosoftResourceHealth(opts.credential, opts.subscriptionId, {
    ...(opts.endpoint ? { endpoint: opts.endpoint, $host: opts.endpoint } : {}),
    ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    retryOptions: { maxRetries: 1, retryDelayInMs: 500 },
  });
  return {
    source: 'Azure Resource Health',
    async read() {
      let statuses: AvailabilityStatus[];
      try {
        if (opts.resourceId) {
          // The SDK puts a slash before the URI itself; a second one would make the path protocol-relative.
          statuses = [
            await client.availabilityStatuses.getByResource(opts.resourceId.replace(/^\/+/, '')),
          ];
        } else {
          statuses = [];
          for await (const s of client.availabilityStatuses.listBySubscriptionId())
            statuses.push(s);
        }
      } catch (err) {
        if (isAzureCredentialError(err))
          throw new ProviderError('Azure Resource Health', describeAzureCredentialError(err).line, {
            code: 'forbidden',
            cause: err,
          });
        throw new ProviderError(
          'Azure Resource Health',
          `reading availability statuses failed: ${reason(err)}. Check subscriptionId, resourceId and that the credential may read Microsoft.ResourceHealth.`,
          { retryable: true, cause: err },
        );
      }
      return statuses
        .filter((s) => (opts.resourceId ? true : sameLocation(s.location, opts.location)))
        .filter((s) => s.properties?.availabilityState !== 'Available')
        .map((s) => azureEvent(s, opts.resourceId ?? 'resource'));
    },
  };
}

/** Test hooks for the Azure client; otherwise the credential and CAs of `config.azure`. */
export interface ProviderStatusExtras {
  azureCredential?: TokenCredential;
  ca?: string;
}

/** The reader `detection.providerStatus` configures, or undefined when it is not set. */
export function createProviderStatusReader(
  config: DrConfig,
  extras: ProviderStatusExtras = {},
): { reader: ProviderStatusReader; intervalMs: number } | undefined {
  const ps = config.detection?.providerStatus;
  if (!ps) return undefined;
  const region = config.regions.primary.name;
  const intervalMs = ps.intervalSeconds * 1000;
  if (ps.aws) {
    return {
      intervalMs,
      reader: createAwsHealthReader({
        region: ps.aws.region ?? region,
        ...(ps.aws.endpoint ? { endpoint: ps.aws.endpoint } : {}),
      }),
    };
  }
  const az = ps.azure!;
  return {
    intervalMs,
    reader: createAzureResourceHealthReader({
      subscriptionId: az.subscriptionId,
      location: region,
      ...(az.resourceId ? { resourceId: az.resourceId } : {}),
      ...(az.endpoint ? { endpoint: az.endpoint } : {}),
      credential: extras.azureCredential ?? createAzureCredential(config),
      ...(extras.ca
        ? { ca: extras.ca }
        : config.azure?.caFile
          ? { ca: readAzureCa(config.azure.caFile) }
          : {}),
    }),
  };
}
