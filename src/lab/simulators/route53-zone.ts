/**
 * The Route 53 simulator's one hosted zone: its record sets (a PRIMARY/SECONDARY failover pair,
 * plain or alias), a health check per region and the changes in flight, and how the name servers
 * answer from them (failover as AWS evaluates it; a change is served only once it is INSYNC, in order).
 */
import type { DnsAnswer, DnsRecordType } from './dns-server.js';

type Region = 'primary' | 'secondary';

export interface SimRecordSet {
  name: string;
  type: string;
  setIdentifier?: string;
  failover?: 'PRIMARY' | 'SECONDARY';
  ttl: number;
  values: string[];
  healthCheckId?: string;
  /** An alias record: no TTL or values of its own, Route 53 answers the target's. */
  alias?: SimAlias;
}

interface SimAlias {
  dnsName: string;
  hostedZoneId: string;
  evaluateTargetHealth: boolean;
}

/** A load balancer an alias can point at: what its name resolves to, and whether its targets pass. */
interface SimAliasTarget {
  values: string[];
  healthy: boolean;
}

/** What Route 53's checkers concluded: the status flips after FailureThreshold probes in a row disagree. */
interface CheckerState {
  status: boolean;
  streak: number;
}

export interface SimHealthCheck {
  id: string;
  version: number;
  inverted: boolean;
  disabled: boolean;
  fqdn: string;
  port: number;
  path: string;
  /**
   * HTTPS probes the endpoint; CALCULATED follows child checks and has no RequestInterval or
   * FailureThreshold; RECOVERY_CONTROL follows an ARC routing control (`routingControlArn`).
   */
  type: 'HTTPS' | 'CALCULATED' | 'RECOVERY_CONTROL';
  routingControlArn?: string;
  /** Seconds between checks (10 or 30 in Route 53). */
  requestInterval: number;
  /** Consecutive failures (or passes) before the status changes, 1..10. */
  failureThreshold: number;
}

export interface ZoneOptions {
  zoneId?: string;
  zoneName?: string;
  recordName?: string;
  recordType?: 'A' | 'AAAA' | 'CNAME';
  primaryValue?: string;
  secondaryValue?: string;
  ttl?: number;
  /** How long a change stays PENDING before GetChange says INSYNC. */
  changeDelayMs?: number;
  /** Whether the endpoint behind a region's health check answers (before inversion). Default: always. */
  endpointHealthy?: (region: Region) => boolean;
  /**
   * Make the failover pair alias records to a load balancer per region (ELB-style names), with
   * EvaluateTargetHealth; `healthChecks: false` leaves the records without health checks.
   */
  alias?: { evaluateTargetHealth?: boolean; healthChecks?: boolean };
  /**
   * Milliseconds per health-check probe. 0 (default): the status follows the endpoint at once;
   * above 0 the checker probes on that clock and flips after FailureThreshold probes in a row.
   */
  checkerIntervalMs?: number;
  /**
   * Make each region's health check a routing control health check (RECOVERY_CONTROL) of that
   * ARC routing control, whose state `state` reads (the lab's ARC cluster simulator).
   */
  routingControls?: { arns: Record<Region, string>; state: (arn: string) => 'On' | 'Off' };
}

/** A submitted change; `before` is what the name servers serve until the change is INSYNC. */
interface SimChange {
  submittedAt: Date;
  insyncAt: number;
  comment?: string;
  before: SimRecordSet[];
}

export interface ZoneState {
  readonly zoneId: string;
  readonly zoneName: string;
  readonly recordName: string;
  readonly recordType: 'A' | 'AAAA' | 'CNAME';
  readonly primaryValue: string;
  readonly secondaryValue: string;
  readonly ids: { primary: string; secondary: string; hcPrimary: string; hcSecondary: string };
  readonly opts: ZoneOptions;
  /** What the endpoints answer when no `endpointHealthy` callback was given. */
  readonly endpointHealthy: Record<Region, boolean>;
  /** Changes submitted now stay PENDING (stickPending). */
  stuck: boolean;
  changeSeq: number;
  records: SimRecordSet[];
  readonly healthChecks: Map<string, SimHealthCheck>;
  /** The checkers' conclusion per health check (only with checkerIntervalMs > 0). */
  readonly checker: Map<string, CheckerState>;
  /** Load balancers the alias records point at, by DNS name. */
  readonly aliasTargets: Map<string, SimAliasTarget>;
  /** In submission order. */
  readonly changes: Map<string, SimChange>;
}

export const fqdn = (name: string): string =>
  (name.endsWith('.') ? name : `${name}.`).toLowerCase();

export function createZoneState(opts: ZoneOptions): ZoneState {
  const zoneName = fqdn(opts.zoneName ?? 'example.test');
  const recordType = opts.recordType ?? 'A';
  const primaryValue =
    opts.primaryValue ??
    (recordType === 'CNAME'
      ? 'primary.example.net'
      : recordType === 'AAAA'
        ? 'fd00::1:10'
        : '10.0.1.10');
  const secondaryValue =
    opts.secondaryValue ??
    (recordType === 'CNAME'
      ? 'secondary.example.net'
      : recordType === 'AAAA'
        ? 'fd00::2:10'
        : '10.0.2.10');
  const zone = {
    zoneId: opts.zoneId ?? 'Z0SIMULATED0001',
    zoneName,
    recordName: fqdn(opts.recordName ?? `app.${zoneName}`),
    recordType,
    primaryValue,
    secondaryValue,
    ids: {
      primary: 'app-primary',
      secondary: 'app-secondary',
      hcPrimary: 'hc-0000-primary',
      hcSecondary: 'hc-0000-secondary',
    },
  };
  const aliasTargets = new Map<string, SimAliasTarget>([
    [LB_NAMES.primary, { values: [primaryValue], healthy: true }],
    [LB_NAMES.secondary, { values: [secondaryValue], healthy: true }],
  ]);
  const records = initialRecords(zone, opts.ttl ?? 60);
  return {
    ...zone,
    opts,
    endpointHealthy: { primary: true, secondary: true },
    stuck: false,
    changeSeq: 0,
    records: opts.alias ? records.map((r) => asAlias(r, zone, opts.alias!)) : records,
    healthChecks: initialHealthChecks(zone, opts.routingControls?.arns),
    checker: new Map(),
    aliasTargets,
    changes: new Map(),
  };
}

/** The ELB hosted zone of us-east-1, as an alias to an ALB there names it. */
const ELB_ZONE = 'Z35SXDOTRQ7X7K';
export const LB_NAMES: Record<Region, string> = {
  primary: 'dualstack.primary-lb-1.us-east-1.elb.amazonaws.com.',
  secondary: 'dualstack.secondary-lb-1.us-west-2.elb.amazonaws.com.',
};

function asAlias(
  r: SimRecordSet,
  z: ZoneNames,
  how: NonNullable<ZoneOptions['alias']>,
): SimRecordSet {
  if (!r.failover) return r;
  const region: Region = r.setIdentifier === z.ids.primary ? 'primary' : 'secondary';
  return {
    ...r,
    ttl: 0,
    values: [],
    healthCheckId: how.healthChecks === false ? undefined : r.healthCheckId,
    alias: {
      dnsName: LB_NAMES[region],
      hostedZoneId: ELB_ZONE,
      evaluateTargetHealth: how.evaluateTargetHealth ?? true,
    },
  };
}

type ZoneNames = Pick<
  ZoneState,
  'zoneName' | 'recordName' | 'recordType' | 'primaryValue' | 'secondaryValue' | 'ids'
>;

function initialRecords(z: ZoneNames, ttl: number): SimRecordSet[] {
  return [
    {
      name: z.zoneName,
      type: 'NS',
      ttl: 172800,
      values: ['ns-1.sim.invalid.', 'ns-2.sim.invalid.'],
    },
    {
      name: z.zoneName,
      type: 'SOA',
      ttl: 900,
      values: ['ns-1.sim.invalid. hostmaster.sim.invalid. 1 7200 900 1209600 86400'],
    },
    {
      name: z.recordName,
      type: z.recordType,
      setIdentifier: z.ids.primary,
      failover: 'PRIMARY',
      ttl,
      values: [z.primaryValue],
      healthCheckId: z.ids.hcPrimary,
    },
    {
      name: z.recordName,
      type: z.recordType,
      setIdentifier: z.ids.secondary,
      failover: 'SECONDARY',
      ttl,
      values: [z.secondaryValue],
      healthCheckId: z.ids.hcSecondary,
    },
  ];
}

function initialHealthChecks(
  z: ZoneNames,
  controls: Record<Region, string> | undefined,
): Map<string, SimHealthCheck> {
  const check = (id: string, region: Region): SimHealthCheck => ({
    id,
    version: 1,
    inverted: false,
    disabled: false,
    fqdn: `${region}.${z.zoneName}`.replace(/\.$/, ''),
    port: 443,
    path: '/healthz',
    type: controls ? 'RECOVERY_CONTROL' : 'HTTPS',
    ...(controls ? { routingControlArn: controls[region] } : {}),
    requestInterval: 30,
    failureThreshold: 3,
  });
  return new Map([
    [z.ids.hcPrimary, check(z.ids.hcPrimary, 'primary')],
    [z.ids.hcSecondary, check(z.ids.hcSecondary, 'secondary')],
  ]);
}

function regionOfCheck(z: ZoneState, id: string): Region | undefined {
  return id === z.ids.hcPrimary ? 'primary' : id === z.ids.hcSecondary ? 'secondary' : undefined;
}

/** One probe of the endpoint behind a check, as a checker sees it now. */
function probe(z: ZoneState, id: string): boolean {
  const arn = z.healthChecks.get(id)?.routingControlArn;
  // ARC Developer Guide, "Creating a routing control health check": the check follows its
  // routing control, healthy while it is On, unhealthy while Off; no endpoint is probed.
  if (arn && z.opts.routingControls) return z.opts.routingControls.state(arn) === 'On';
  const region = regionOfCheck(z, id);
  if (!region) return true;
  return z.opts.endpointHealthy ? z.opts.endpointHealthy(region) : z.endpointHealthy[region];
}

/**
 * What the checkers conclude about the endpoint, before Disabled and Inverted. "How Route 53
 * determines whether an endpoint health check is healthy": a checker changes its status only after
 * FailureThreshold consecutive probes, one every RequestInterval, say the opposite.
 */
export function endpointStatus(z: ZoneState, id: string): boolean {
  // A routing control check has no checkers' streak: it follows the control at once.
  const followsControl = z.healthChecks.get(id)?.type === 'RECOVERY_CONTROL';
  return !followsControl && (z.opts.checkerIntervalMs ?? 0) > 0
    ? (z.checker.get(id)?.status ?? true)
    : probe(z, id);
}

/** One round of the checkers (checkerIntervalMs > 0): every endpoint check probed once. */
export function runCheckers(z: ZoneState): void {
  for (const hc of z.healthChecks.values()) {
    if (hc.type !== 'HTTPS' || hc.disabled) continue; // a disabled check is not probed
    const st = z.checker.get(hc.id) ?? { status: true, streak: 0 };
    st.streak = probe(z, hc.id) === st.status ? 0 : st.streak + 1;
    if (st.streak >= hc.failureThreshold) {
      st.status = !st.status;
      st.streak = 0;
    }
    z.checker.set(hc.id, st);
  }
}

function checkPasses(z: ZoneState, id: string | undefined): boolean {
  if (!id) return true;
  const hc = z.healthChecks.get(id);
  if (!hc) return false;
  // A disabled check counts as healthy whatever the endpoint says; inversion then flips that
  // status, so Disabled+Inverted is always unhealthy ("to stop routing traffic to a resource,
  // change the value of Inverted", UpdateHealthCheck).
  const up = hc.disabled ? true : endpointStatus(z, id);
  return hc.inverted ? !up : up;
}

/**
 * "How Amazon Route 53 chooses records when health checking is configured": a record with a
 * health check is healthy while the check passes; an alias with EvaluateTargetHealth while its
 * target is (an ELB's targets, or a healthy record of the target name in this zone); a record
 * with neither is always healthy. With both, each must pass.
 */
function recordHealthy(z: ZoneState, rec: SimRecordSet, depth = 0): boolean {
  if (rec.healthCheckId && !checkPasses(z, rec.healthCheckId)) return false;
  if (!rec.alias?.evaluateTargetHealth) return true;
  if (rec.alias.hostedZoneId === z.zoneId) {
    if (depth > 4) return false;
    const group = propagated(z).filter((r) => r.name === fqdn(rec.alias!.dnsName));
    return group.some((r) => r.type === rec.type && recordHealthy(z, r, depth + 1));
  }
  return z.aliasTargets.get(fqdn(rec.alias.dnsName))?.healthy ?? false;
}

/** The values a record answers with: its own, or for an alias, what its target resolves to. */
export function valuesOf(z: ZoneState, rec: SimRecordSet, depth = 0): string[] {
  if (!rec.alias) return rec.values;
  if (rec.alias.hostedZoneId === z.zoneId)
    return depth > 4 ? [] : valuesOf(z, served(z, rec.alias.dnsName, rec.type)!, depth + 1);
  return z.aliasTargets.get(fqdn(rec.alias.dnsName))?.values ?? [];
}

/** The records as the name servers have them: before the oldest change that is not INSYNC yet. */
function propagated(z: ZoneState): SimRecordSet[] {
  const now = Date.now();
  for (const c of z.changes.values()) if (c.insyncAt > now) return c.before;
  return z.records;
}

export function served(z: ZoneState, name: string, type: string): SimRecordSet | undefined {
  const group = propagated(z).filter((r) => r.name === fqdn(name) && r.type === type);
  const primary = group.find((r) => r.failover === 'PRIMARY');
  const secondary = group.find((r) => r.failover === 'SECONDARY');
  if (!primary || !secondary) return primary ?? secondary ?? group.find((r) => !r.failover);
  if (recordHealthy(z, primary)) return primary;
  if (recordHealthy(z, secondary)) return secondary;
  // Same page, "If no record is healthy, all records are healthy": the failover policy then
  // picks the PRIMARY, so an unhealthy secondary never takes the traffic.
  return primary;
}

/** The DNS server's answer: the record asked for, else a CNAME of that name. */
export function dnsAnswer(z: ZoneState, name: string, type: DnsRecordType): DnsAnswer | null {
  // The load balancers' own names resolve too, as an ELB's do in public DNS.
  const lb = z.aliasTargets.get(fqdn(name));
  if (lb && type === z.recordType) return { type, values: lb.values, ttl: 60 };
  const rec = served(z, name, type) ?? (type !== 'CNAME' ? served(z, name, 'CNAME') : undefined);
  // An alias answers with its target's values and TTL; 60 s stands in for an ELB's.
  return rec
    ? { type: rec.type as DnsRecordType, values: valuesOf(z, rec), ttl: rec.alias ? 60 : rec.ttl }
    : null;
}

/** Make `next` the zone's records as a new change; returns the change's id. */
export function commitChange(z: ZoneState, next: SimRecordSet[], comment?: string): string {
  const before = z.records;
  z.records = next;
  const id = `C${String(++z.changeSeq).padStart(6, '0')}SIM`;
  // INSYNC in order: never before a change submitted earlier.
  const previous = [...z.changes.values()].reduce((max, c) => Math.max(max, c.insyncAt), 0);
  const insyncAt = z.stuck
    ? Number.POSITIVE_INFINITY
    : Math.max(previous, Date.now() + (z.opts.changeDelayMs ?? 0));
  z.changes.set(id, { submittedAt: new Date(), insyncAt, comment, before });
  return id;
}

/** Change a health check's flags as someone in the console would (bumps its version). */
export function setHealthCheckFlags(
  z: ZoneState,
  id: string,
  flags: { inverted?: boolean; disabled?: boolean },
): void {
  const hc = z.healthChecks.get(id);
  if (!hc) throw new Error(`no health check ${id} in the Route 53 simulator`);
  if (flags.inverted !== undefined) hc.inverted = flags.inverted;
  if (flags.disabled !== undefined) hc.disabled = flags.disabled;
  hc.version += 1;
}

export function setHealthCheckConfig(
  z: ZoneState,
  id: string,
  config: { type?: SimHealthCheck['type']; requestInterval?: number; failureThreshold?: number },
): void {
  const hc = z.healthChecks.get(id);
  if (!hc) throw new Error(`no health check ${id} in the Route 53 simulator`);
  Object.assign(hc, Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)));
  hc.version += 1;
}

/** The failover record's TTL, also in what changes in flight still serve. */
export function setRecordTtl(z: ZoneState, newTtl: number): void {
  const withTtl = (rs: SimRecordSet[]): SimRecordSet[] =>
    rs.map((r) => (r.name === z.recordName && r.type === z.recordType ? { ...r, ttl: newTtl } : r));
  z.records = withTtl(z.records);
  for (const c of z.changes.values()) c.before = withTtl(c.before);
}

export function stickPending(z: ZoneState, value: boolean): void {
  z.stuck = value;
  // Released: the stuck changes propagate now, still in order.
  if (!value) {
    const now = Date.now();
    for (const c of z.changes.values())
      if (c.insyncAt === Number.POSITIVE_INFINITY) c.insyncAt = now;
  }
}
