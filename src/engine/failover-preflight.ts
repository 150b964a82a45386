/**
 * "Already failed over": the secondary region already serves — its database and cache are the
 * writers, DNS sends users to it and its workloads run at production size. A failover then would
 * change nothing (every step finds its work done) and record a completed failover with an RTO of
 * milliseconds, so preflight refuses it and says to fail back instead; the same holds for a drill,
 * which starts with a failover. The mirror of failback's "nothing to fail back".
 *
 * Only the whole failover counts. A half-done one (the database promoted but DNS still on the
 * primary, DNS switched but the workloads still at standby counts, a promotion interrupted before
 * the writer was unfenced) is not refused: its steps skip what is done and finish the rest. The
 * old primary is not asked: down, fenced or back as a stale writer, the secondary serves either
 * way, and a failback is what deals with it.
 */
import type { ComponentReadiness, OperationKind } from '../domain/types.js';
import type { Providers } from '../providers/types.js';

/** The facts, one per configured component; null when something is left to do or no component could tell. */
export async function secondaryAlreadyServing(providers: Providers): Promise<string[] | null> {
  const { database, cache, dns, cluster } = providers;
  if (!database && !cache && !dns) return null;
  const facts: string[] = [];
  try {
    for (const [name, p] of [
      ['database', database],
      ['cache', cache],
    ] as const) {
      if (!p) continue;
      if (!(await p.isWriter('secondary'))) return null;
      facts.push(`the secondary ${name} is the writer`);
    }
    if (dns) {
      if ((await dns.currentTarget()) !== 'secondary') return null;
      facts.push('DNS sends users to the secondary');
    }
    if (cluster) {
      if (!(await cluster.isScaled('secondary', 'production'))) return null;
      facts.push("the secondary's workloads run at production size");
    }
  } catch {
    // A component that cannot answer is reported by its own readiness; it does not prove "nothing to do".
    return null;
  }
  return facts;
}

/** Block the report on the first DNS/data component with the reason, so the request is refused before any change. */
export function refuseAlreadyFailedOver(
  kind: OperationKind,
  components: ComponentReadiness[],
  facts: string[],
): ComponentReadiness[] {
  const blockOn = (['dns', 'database', 'cache'] as const).find((k) =>
    components.some((c) => c.component === k && c.status !== 'not-configured'),
  );
  const serving = `already failed over: the secondary region is serving (${facts.join('; ')})`;
  const summary =
    kind === 'drill'
      ? `${serving}, and a drill starts with a failover. Request a failback to return to the primary first. Nothing was changed.`
      : `${serving}: nothing to fail over. Request a failback to return to the primary. Nothing was changed.`;
  return components.map((c) =>
    c.component === blockOn
      ? { ...c, status: 'blocked', summary, planFacts: { ...c.planFacts, alreadyFailedOver: true } }
      : c,
  );
}
