/**
 * Reading the routing state: the two failover records, the primary's health check and what
 * TestDNSAnswer answers, and what they mean (which region is served, which one is held).
 */
import {
  GetHealthCheckCommand,
  ListResourceRecordSetsCommand,
  TestDNSAnswerCommand,
  type HealthCheck,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed, ProviderError } from '../../errors.js';
import { normalizeName, sameValues } from '../dns-resolve.js';
import { NAME, call, type Route53Context } from './context.js';
import { answeringRecord, recordHealth, type RecordHealth } from './health.js';

export interface RoutingState {
  records: Record<RegionRole, ResourceRecordSet>;
  healthCheck?: HealthCheck;
  answer: string[];
  servedBy: RegionRole | 'unknown';
  ttl: number | undefined;
  /** The health Route 53 sees for each record; read when asked for, and always for alias records. */
  health?: Record<RegionRole, RecordHealth>;
  /** The health checks read on the way, by id, so no one reads them twice. */
  checks: Map<string, HealthCheck>;
}

/**
 * pinned: Disabled and Inverted, so Route 53 always sees the primary unhealthy. released: neither,
 * the check follows the endpoint. partial: one of the two, which holds nothing.
 */
export type HealthCheckPin = 'pinned' | 'released' | 'partial';

export function pinOf(hc: HealthCheck | undefined): HealthCheckPin {
  const inverted = hc?.HealthCheckConfig?.Inverted === true;
  const disabled = hc?.HealthCheckConfig?.Disabled === true;
  return inverted && disabled ? 'pinned' : !inverted && !disabled ? 'released' : 'partial';
}

export function pinLine(hc: HealthCheck | undefined): string {
  return `health check ${hc?.Id ?? '?'} Disabled=${hc?.HealthCheckConfig?.Disabled === true}, Inverted=${hc?.HealthCheckConfig?.Inverted === true}`;
}

export function recordValues(r: ResourceRecordSet): string[] {
  if (r.AliasTarget?.DNSName) return [r.AliasTarget.DNSName];
  return (r.ResourceRecords ?? []).map((x) => x.Value ?? '').filter(Boolean);
}

async function loadRecords(ctx: Route53Context): Promise<Record<RegionRole, ResourceRecordSet>> {
  const { opts, client, recordName, recordType, where } = ctx;
  // ListResourceRecordSets answers NoSuchHostedZone itself: no GetHostedZone here, Route 53 allows only 5 calls/s per account.
  const out = await call(ctx, `listing ${where}`, () =>
    client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: opts.hostedZoneId,
        StartRecordName: recordName,
        StartRecordType: recordType,
        MaxItems: 20,
      }),
    ),
  );
  const group = (out.ResourceRecordSets ?? []).filter(
    (r) => normalizeName(r.Name ?? '') === recordName && r.Type === recordType,
  );
  const find = (role: RegionRole, id: string): ResourceRecordSet => {
    const r = group.find((x) => x.SetIdentifier === id);
    if (!r)
      throw new PreconditionFailed(
        `Route 53 has no ${where} with SetIdentifier "${id}" (the ${role} record). Found: ${group.map((g) => `"${g.SetIdentifier ?? '(none)'}"`).join(', ') || 'no record of that name and type'}. Fix components.dns.route53.${role}SetIdentifier or create the failover record.`,
        { code: 'not-found' },
      );
    if (!r.Failover)
      throw new PreconditionFailed(
        `${where} with SetIdentifier "${id}" is not a failover record (no Failover PRIMARY/SECONDARY): dr-bot only switches failover routing.`,
        { code: 'wrong-target' },
      );
    return r;
  };
  return {
    primary: find('primary', opts.primarySetIdentifier),
    secondary: find('secondary', opts.secondarySetIdentifier),
  };
}

export async function testAnswer(ctx: Route53Context): Promise<string[]> {
  const { opts, client, recordName, recordType, where } = ctx;
  const out = await call(ctx, `asking TestDNSAnswer for ${where}`, () =>
    client.send(
      new TestDNSAnswerCommand({
        HostedZoneId: opts.hostedZoneId,
        RecordName: recordName,
        RecordType: recordType,
      }),
    ),
  );
  return out.RecordData ?? [];
}

export function servedBy(
  records: Record<RegionRole, ResourceRecordSet>,
  answer: string[],
): RegionRole | 'unknown' {
  if (sameValues(answer, recordValues(records.primary))) return 'primary';
  if (sameValues(answer, recordValues(records.secondary))) return 'secondary';
  return 'unknown';
}

async function readHealthCheck(ctx: Route53Context): Promise<HealthCheck> {
  const { opts, client } = ctx;
  if (!opts.primaryHealthCheckId)
    throw new PreconditionFailed(
      'method "invert-health-check" needs components.dns.route53.primaryHealthCheckId',
      { code: 'precondition-failed' },
    );
  const id = opts.primaryHealthCheckId;
  const out = await call(ctx, `reading health check ${id}`, () =>
    client.send(new GetHealthCheckCommand({ HealthCheckId: id })),
  );
  if (!out.HealthCheck)
    throw new ProviderError(NAME, `GetHealthCheck ${id} returned no health check`);
  return out.HealthCheck;
}

/** Promise.all that lets every promise settle before it throws the first failure. */
async function allSettledOrThrow<T extends readonly unknown[]>(
  ps: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(ps);
  for (const x of settled) if (x.status === 'rejected') throw x.reason;
  return settled.map((x) => (x as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

export async function readState(
  ctx: Route53Context,
  { withHealth = false }: { withHealth?: boolean } = {},
): Promise<RoutingState> {
  // Three independent reads at once (under Route 53's five requests a second): a switch waits on
  // them. All settle before a failure is thrown, so none is still in flight after the error.
  const [records, hc, answer] = await allSettledOrThrow([
    loadRecords(ctx),
    ctx.method === 'invert-health-check' ? readHealthCheck(ctx) : undefined,
    testAnswer(ctx),
  ] as const);
  const alias = !!(records.primary.AliasTarget || records.secondary.AliasTarget);
  const checks = new Map<string, HealthCheck>(hc?.Id ? [[hc.Id, hc]] : []);
  const health =
    withHealth || alias
      ? await Promise.all([
          recordHealth(ctx, records.primary, checks),
          recordHealth(ctx, records.secondary, checks),
        ]).then(([primary, secondary]) => ({ primary, secondary }))
      : undefined;
  return {
    records,
    healthCheck: hc,
    answer,
    servedBy:
      alias && health
        ? await aliasServedBy(ctx, records, health, answer)
        : servedBy(records, answer),
    ttl: records.primary.TTL ?? records.secondary.TTL,
    health,
    checks,
  };
}

/**
 * An alias answers with its target's addresses, never its own value: the record set that answers
 * is worked out from the records' health; where a target's health cannot be read, by which
 * target's name resolves to what TestDNSAnswer returned.
 */
async function aliasServedBy(
  ctx: Route53Context,
  records: Record<RegionRole, ResourceRecordSet>,
  health: Record<RegionRole, RecordHealth>,
  answer: string[],
): Promise<RegionRole | 'unknown'> {
  const byHealth = answeringRecord(records, health);
  if (byHealth !== 'unknown') return byHealth;
  const matches: RegionRole[] = [];
  for (const role of ['primary', 'secondary'] as const) {
    const target = records[role].AliasTarget?.DNSName;
    if (!target) continue;
    const got = await ctx.resolve(target, ctx.recordType).catch(() => [] as string[]);
    if (got.some((v) => answer.includes(v))) matches.push(role);
  }
  return matches.length === 1 ? matches[0] : 'unknown';
}

/** The region the routing controls hold users on, health permitting; 'partial' for a half-done pin. */
export function heldOn(ctx: Route53Context, st: RoutingState): RegionRole | 'partial' {
  if (ctx.method === 'invert-health-check') {
    const pin = pinOf(st.healthCheck);
    return pin === 'pinned' ? 'secondary' : pin === 'released' ? 'primary' : 'partial';
  }
  return st.records.secondary.Failover === 'PRIMARY' ? 'secondary' : 'primary';
}

export function describe(
  records: Record<RegionRole, ResourceRecordSet>,
  role: RegionRole | 'unknown',
): string {
  return role === 'unknown'
    ? 'neither record'
    : `${role} (${recordValues(records[role]).join(', ')})`;
}
