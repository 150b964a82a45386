/**
 * The readiness checks, one function each. The data-tier, DNS and cluster checks reuse the
 * providers' readiness('secondary') (the same read-only queries the approval card shows) and
 * judge it against the targets; object storage and Velero measure with their own readers.
 * Every check reads, none changes anything except the object-storage canary it owns.
 */
import type { ComponentReadiness, JsonValue } from '../domain/types.js';
import { formatBytes } from '../providers/bytes.js';
import type { ObjectStorageProvider } from '../providers/object-storage.js';
import type {
  CacheProvider,
  ClusterProvider,
  DatabaseProvider,
  DnsProvider,
} from '../providers/types.js';
import { lastDrillAt, type DrillRecordStore } from './drill-record.js';
import type { ReadinessCheck, ReadinessFinding } from './types.js';

const num = (v: JsonValue | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;
const round1 = (n: number): number => Math.round(n * 10) / 10;

function blocked(r: ComponentReadiness, target: string): ReadinessFinding | undefined {
  if (r.status !== 'blocked') return undefined;
  return { status: 'degraded', detail: r.summary, measured: null, target };
}

export function postgresCheck(db: DatabaseProvider, rpoSeconds: number): ReadinessCheck {
  const target = `lag ≤ ${rpoSeconds} s`;
  return {
    id: 'postgres',
    title: 'PostgreSQL replication',
    async run() {
      const r = await db.readiness('secondary');
      const early = blocked(r, target);
      if (early) return early;
      const d = r.details;
      if (d.targetInRecovery === false)
        return {
          status: 'degraded',
          detail: `the secondary accepts writes (not a standby): nothing replicates to a standby until failback makes it one again. ${r.summary}`,
          measured: 'no standby',
          target,
        };
      if (r.primaryReachable === false)
        return { status: 'degraded', detail: r.summary, measured: null, target };
      const lagSeconds = num(d.lagSeconds);
      const lagBytes = num(d.lagBytes);
      const measured = `${lagSeconds === null ? '?' : `${round1(lagSeconds)} s`} (${lagBytes === null ? '?' : formatBytes(lagBytes)})`;
      const evidence = { lagSeconds, lagBytes, receiverStatus: d.receiverStatus ?? null };
      // The driver's status is the judgement: a platform driver's notes for the approval card
      // (failback is a rebuild, writes cannot be dry-run) come with status ready.
      if (r.status === 'warning' && r.warnings?.length)
        return { status: 'degraded', detail: r.warnings.join('; '), measured, target, evidence };
      if (lagSeconds === null)
        return {
          status: 'unknown',
          detail: `replication lag could not be measured: ${r.summary}`,
          measured,
          target,
          evidence,
        };
      if (lagSeconds > rpoSeconds)
        return {
          status: 'degraded',
          detail: `the standby is ${round1(lagSeconds)} s behind, over the RPO of ${rpoSeconds} s: a failover now would lose that much`,
          measured,
          target,
          evidence,
        };
      return { status: 'ok', detail: r.summary, measured, target, evidence };
    },
  };
}

export function redisCheck(cache: CacheProvider, rpoSeconds: number): ReadinessCheck {
  const target = 'link up';
  return {
    id: 'redis',
    title: 'Redis replication',
    async run() {
      const r = await cache.readiness('secondary');
      const early = blocked(r, target);
      if (early) return early;
      const d = r.details;
      if (d.targetRole === 'master')
        return {
          status: 'degraded',
          detail: `the secondary is a master, not replicating: ${r.summary}`,
          measured: 'no replica',
          target,
        };
      if (r.primaryReachable === false)
        return { status: 'degraded', detail: r.summary, measured: null, target };
      const gap = num(d.offsetGapBytes);
      const lastIo = num(d.masterLastIoSecondsAgo);
      const down = num(d.masterLinkDownSinceSeconds);
      const measured =
        d.linkUp === true
          ? `link up, offset gap ${gap === null ? '?' : formatBytes(gap)}`
          : `link down${down === null ? '' : ` for ${down} s`}`;
      const evidence = {
        linkUp: d.linkUp ?? null,
        offsetGapBytes: gap,
        masterLastIoSecondsAgo: lastIo,
      };
      if (d.linkUp !== true)
        return {
          status: 'degraded',
          detail: `the secondary's replication link is down: ${r.summary}`,
          measured,
          target,
          evidence,
        };
      // The offset gap is shown, not judged: it is bytes of stream, and Redis reports no lag in
      // seconds to turn it into time against the RPO. A stalled link shows as master_last_io
      // growing, which is judged here; a link that is down, above.
      if (lastIo !== null && lastIo > rpoSeconds)
        return {
          status: 'degraded',
          detail: `the secondary last heard from the primary ${lastIo} s ago, over the RPO of ${rpoSeconds} s`,
          measured,
          target,
          evidence,
        };
      return { status: 'ok', detail: r.summary, measured, target, evidence };
    },
  };
}

export function dnsCheck(dns: DnsProvider, rtoMinutes: number): ReadinessCheck {
  const target = `primary, TTL + detection < ${rtoMinutes} min`;
  return {
    id: 'dns',
    title: 'DNS routing',
    async run() {
      const r = await dns.readiness('secondary');
      const early = blocked(r, target);
      if (early) return early;
      const servedBy = typeof r.details.servedBy === 'string' ? r.details.servedBy : 'unknown';
      // Where the routing controls hold users (Route 53 pin or records, Traffic Manager endpoints):
      // answering the primary means nothing while the controls say the environment is failed over.
      const heldOn = typeof r.details.heldOn === 'string' ? r.details.heldOn : 'primary';
      const ttl = num(r.details.ttl);
      const measured = `${servedBy}${heldOn === 'primary' ? '' : ` (held on ${heldOn})`}, TTL ${ttl ?? '?'} s`;
      const evidence = { servedBy, heldOn, ttl };
      if (heldOn === 'secondary' && servedBy === 'primary')
        return {
          status: 'degraded',
          detail: `DNS is switched to the secondary (failed over) but answers the primary: check the routing controls. ${r.summary}`,
          measured,
          target,
          evidence,
        };
      if (heldOn === 'secondary')
        return {
          status: 'degraded',
          detail: `DNS is switched to the secondary (failed over): users stay there until a failback switches it back. ${r.summary}`,
          measured,
          target,
          evidence,
        };
      if (heldOn !== 'primary')
        return {
          status: 'degraded',
          detail: `DNS routing controls are half switched (${heldOn}): ${r.warnings?.join('; ') ?? r.summary}`,
          measured,
          target,
          evidence,
        };
      if (servedBy !== 'primary')
        return {
          status: 'degraded',
          detail: `users are sent to the ${servedBy}, not the primary: ${r.summary}`,
          measured,
          target,
          evidence,
        };
      // The provider adds to the TTL the time its health check takes to see a region fail, where it can read it.
      const failover = num(r.details.failoverSeconds) ?? ttl;
      const how =
        typeof r.details.failoverText === 'string' ? r.details.failoverText : `TTL ${ttl} s`;
      if (failover !== null && failover >= rtoMinutes * 60)
        return {
          status: 'degraded',
          detail: `${how} is not under the RTO of ${rtoMinutes} min: users would keep being sent to a failed region past the RTO`,
          measured,
          target,
          evidence: { ...evidence, failoverSeconds: failover },
        };
      return { status: 'ok', detail: r.summary, measured, target, evidence };
    },
  };
}

interface WorkloadDetails {
  spec: number;
  ready: number;
  standby: number;
}

function isWorkload(v: JsonValue): v is JsonValue & WorkloadDetails {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof v.spec === 'number' &&
    typeof v.ready === 'number' &&
    typeof v.standby === 'number'
  );
}

export function standbyWorkloadsCheck(cluster: ClusterProvider): ReadinessCheck {
  const target = 'standby counts ready';
  return {
    id: 'standby-workloads',
    title: 'Standby workloads',
    async run() {
      const r = await cluster.readiness('secondary');
      const early = blocked(r, target);
      if (early) return early;
      // A right only a failback needs (in the primary) warns on the card; here it is a finding.
      const rights = r.details.missingRights;
      if (Array.isArray(rights) && rights.length > 0)
        return { status: 'degraded', detail: rights.join('; '), measured: null, target };
      const workloads = Object.entries(r.details).filter(
        (e): e is [string, JsonValue & WorkloadDetails] => isWorkload(e[1]),
      );
      const measured = workloads
        .map(([name, w]) => `${name.split('/').pop()} ${w.ready}/${w.standby}`)
        .join(', ');
      const short = workloads.filter(([, w]) => w.ready < w.standby || w.spec < w.standby);
      // Per workload, for the dr_standby_replicas / dr_standby_size_replicas gauges.
      const evidence = {
        workloads: Object.fromEntries(
          workloads.map(([name, w]) => [
            name,
            { spec: w.spec, ready: w.ready, standby: w.standby },
          ]),
        ),
      };
      if (short.length > 0)
        return {
          status: 'degraded',
          detail: `below their standby counts in the secondary: ${short.map(([name, w]) => `${name} ${w.ready} ready of ${w.standby} (spec ${w.spec})`).join(', ')}; a failover would start from fewer pods`,
          measured,
          target,
          evidence,
        };
      return {
        status: 'ok',
        detail: `${workloads.length} workloads at or above their standby counts in the secondary`,
        measured,
        target,
        evidence,
      };
    },
  };
}

export function objectStorageCheck(
  storage: ObjectStorageProvider,
  rpoSeconds: number,
): ReadinessCheck {
  const target = `≤ ${rpoSeconds} s`;
  return {
    id: 'object-storage',
    title: 'Object storage replication',
    async run() {
      const r = await storage.checkReplication({ rpoSeconds });
      return {
        status: r.ok ? 'ok' : 'degraded',
        detail: r.detail,
        measured: r.seconds === null ? `not replicated after ${rpoSeconds} s` : `${r.seconds} s`,
        target,
        evidence: r.evidence,
      };
    },
  };
}

export function drillCheck(
  store: DrillRecordStore,
  env: string,
  warnDays: number,
  now: () => number = Date.now,
): ReadinessCheck {
  const target = `≤ ${warnDays} days`;
  return {
    id: 'drill',
    title: 'Last drill',
    async run() {
      const at = await lastDrillAt(store, env);
      if (at === null)
        return {
          status: 'degraded',
          detail: `no drill recorded for ${env}: run a drill to rehearse failover and failback`,
          measured: 'no drill recorded',
          target,
        };
      const days = Math.floor((now() - at) / 86_400_000);
      const when = new Date(at).toISOString().slice(0, 10);
      if (days > warnDays)
        return {
          status: 'degraded',
          detail: `the last drill was ${days} days ago (${when}), more than ${warnDays}: run a drill`,
          measured: `${days} days`,
          target,
          evidence: { lastDrillAt: at },
        };
      return {
        status: 'ok',
        detail: `last drill ${days} days ago (${when})`,
        measured: `${days} days`,
        target,
        evidence: { lastDrillAt: at },
      };
    },
  };
}
