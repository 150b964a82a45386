/**
 * The bot's own Route 53 rights, checked by preflight before anyone can approve: each read call
 * the provider makes at failover is sent once. IAM decides before Route 53 looks the resource up
 * (a NoSuch* answer proves the right), so the probe of GetChange needs no real change. Writes
 * (ChangeResourceRecordSets, UpdateHealthCheck) have no dry run: the row says so.
 */
import {
  GetChangeCommand,
  GetHealthCheckCommand,
  GetHealthCheckStatusCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  TestDNSAnswerCommand,
} from '@aws-sdk/client-route-53';
import type { ComponentReadiness } from '../../domain/types.js';
import { ROUTE53_CALLS } from './api-calls.js';
import type { Route53Context } from './context.js';

/** One read: the command sent, and what the provider reads with it. */
interface Read {
  call: keyof typeof ROUTE53_CALLS & string;
  why: string;
  /** Preflight does without it (the card says what it could not read): a warning, not a block. */
  optional?: true;
  send: () => Promise<unknown>;
}

function reads(ctx: Route53Context): Read[] {
  const { client, opts, recordName, recordType, method } = ctx;
  const zone = opts.hostedZoneId;
  const hc = opts.primaryHealthCheckId;
  const out: Read[] = [
    {
      call: 'GetHostedZoneCommand',
      why: 'read the hosted zone',
      send: () => client.send(new GetHostedZoneCommand({ Id: zone })),
    },
    {
      call: 'ListResourceRecordSetsCommand',
      why: 'read the failover records',
      send: () =>
        client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zone,
            StartRecordName: recordName,
            StartRecordType: recordType,
            MaxItems: 1,
          }),
        ),
    },
    {
      call: 'TestDNSAnswerCommand',
      why: 'see which record Route 53 answers',
      send: () =>
        client.send(
          new TestDNSAnswerCommand({
            HostedZoneId: zone,
            RecordName: recordName,
            RecordType: recordType,
          }),
        ),
    },
    {
      call: 'GetChangeCommand',
      why: 'wait for a change to be INSYNC',
      send: () => client.send(new GetChangeCommand({ Id: 'C0DRBOTRIGHTSPROBE' })),
    },
  ];
  if (hc)
    out.push(
      {
        call: 'GetHealthCheckStatusCommand',
        why: "read the records' health, to refuse a switch to a region Route 53 sees unhealthy",
        optional: true,
        send: () => client.send(new GetHealthCheckStatusCommand({ HealthCheckId: hc })),
      },
      {
        call: 'GetHealthCheckCommand',
        why:
          method === 'invert-health-check'
            ? 'read the health check it pins'
            : 'read the health check timing for the failover time',
        ...(method === 'invert-health-check' ? {} : { optional: true as const }),
        send: () => client.send(new GetHealthCheckCommand({ HealthCheckId: hc })),
      },
    );
  return out;
}

const denied = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'AccessDenied' ||
    e.name === 'AccessDeniedException' ||
    e.$metadata?.httpStatusCode === 403
  );
};

/** One at a time: Route 53 allows five API requests a second per account. */
async function deniedReads(ctx: Route53Context): Promise<Read[]> {
  const out: Read[] = [];
  for (const r of reads(ctx)) {
    // Anything but an access denied (not found, throttled, unreachable) is the readiness's concern.
    if (await r.send().then(() => false, denied)) out.push(r);
  }
  return out;
}

/** What the row always says: reads proven, the switch's write not provable before it is sent. */
function note(ctx: Route53Context): string {
  const write =
    ctx.method === 'invert-health-check'
      ? 'UpdateHealthCheckCommand'
      : 'ChangeResourceRecordSetsCommand';
  return `rights: the reads succeed; ${ROUTE53_CALLS[write]} cannot be dry-run (known only when the switch sends it)`;
}

/**
 * Readiness with the read rights folded in: blocked, one line per denied read naming its IAM
 * action and where to allow it; otherwise a note that the write right cannot be checked ahead.
 */
export async function withReadRights(
  ctx: Route53Context,
  readiness: () => Promise<ComponentReadiness>,
): Promise<ComponentReadiness> {
  const [r, missing] = await Promise.all([readiness(), deniedReads(ctx)]);
  const line = (m: Read): string =>
    `may not ${ROUTE53_CALLS[m.call]} (${m.why}): allow it in the bot's IAM policy (deploy/permissions/aws-iam-policy.json)`;
  const blocking = missing.filter((m) => !m.optional).map(line);
  const lines = missing.map(line);
  const warnings = [...(r.warnings ?? []), ...lines];
  // A readiness that could not read the records (unreachable, not found) says so itself.
  if (blocking.length === 0 && r.details.error !== undefined)
    return lines.length ? { ...r, warnings } : r;
  if (blocking.length === 0)
    return {
      ...r,
      status: lines.length && r.status === 'ready' ? 'warning' : r.status,
      // On the row itself, not a warning: nothing is wrong, a person should just know.
      summary: `${r.summary}; ${note(ctx)}`,
      ...(warnings.length ? { warnings } : {}),
    };
  return {
    ...r,
    status: 'blocked',
    summary: `the bot's AWS identity lacks ${blocking.length} Route 53 right${blocking.length === 1 ? '' : 's'}: ${blocking.join('; ')}`,
    details: { ...r.details, missingRights: lines },
    planFacts: { ...r.planFacts, missingRights: blocking.length },
    warnings,
  };
}
