/**
 * Standby cost: each region's footprint (replicas per workload against its production and standby
 * counts), and a standby left above its standby counts, typically after a drill or a failback
 * that did not scale it down, with the extra replicas it costs. While failed over the secondary
 * serves at production size on purpose: the DNS row says so too.
 */
import type { ComponentReadiness, JsonValue, RegionRole } from '../domain/types.js';
import type { ClusterProvider } from '../providers/types.js';
import type { ReadinessCheck, ReadinessFinding } from './types.js';

interface Footprint {
  name: string;
  spec: number;
  standby: number;
  production: number;
}

function footprints(r: ComponentReadiness): Footprint[] {
  return Object.entries(r.details).flatMap(([name, v]: [string, JsonValue]) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
    const { spec, standby, production } = v;
    if (typeof spec !== 'number' || typeof standby !== 'number' || typeof production !== 'number')
      return [];
    return [{ name: name.split('/').pop()!, spec, standby, production }];
  });
}

const total = (f: Footprint[], k: keyof Omit<Footprint, 'name'>): number =>
  f.reduce((n, w) => n + w[k], 0);

function regionText(region: RegionRole, f: Footprint[]): string {
  const each = f.map((w) => `${w.name} ${w.spec}`).join(', ');
  return `${region} ${total(f, 'spec')} replicas (${each}; production ${total(f, 'production')}, standby ${total(f, 'standby')})`;
}

export function standbyCostCheck(cluster: ClusterProvider): ReadinessCheck {
  const target = 'secondary at its standby counts';
  return {
    id: 'standby-cost',
    title: 'Standby footprint',
    async run(): Promise<ReadinessFinding> {
      const [p, s] = await Promise.all([
        cluster.readiness('primary'),
        cluster.readiness('secondary'),
      ]);
      if (s.status === 'blocked')
        return { status: 'unknown', detail: s.summary, measured: null, target };
      const secondary = footprints(s);
      const primary = p.status === 'blocked' ? [] : footprints(p);
      const measured = [
        primary.length ? regionText('primary', primary) : `primary unreadable: ${p.summary}`,
        regionText('secondary', secondary),
      ].join('; ');
      const evidence = {
        primary: Object.fromEntries(primary.map((w) => [w.name, w.spec])),
        secondary: Object.fromEntries(secondary.map((w) => [w.name, w.spec])),
      };
      const above = secondary.filter((w) => w.spec > w.standby);
      if (above.length === 0)
        return {
          status: 'ok',
          detail: `the standby is at its standby counts`,
          measured,
          target,
          evidence,
        };
      const extra = above.reduce((n, w) => n + w.spec - w.standby, 0);
      return {
        status: 'degraded',
        detail: `the standby is above its standby counts by ${extra} replica(s): ${above.map((w) => `${w.name} ${w.spec} (standby ${w.standby}, +${w.spec - w.standby})`).join(', ')}; unless it serves (failed over), scale it back down (a drill's failback should have)`,
        measured,
        target,
        evidence: { ...evidence, extraReplicas: extra },
      };
    },
  };
}
