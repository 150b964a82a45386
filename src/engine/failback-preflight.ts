/**
 * "Nothing to fail back": the primary region already serves — its database and cache are the
 * writers with the secondary streaming from them, and DNS sends users to it. A failback then
 * would change nothing, so preflight refuses it and says why. A half-finished failback (DNS back
 * but the secondary not yet a standby, say) is not refused: its steps skip what is already done.
 */
import type { ComponentReadiness } from '../domain/types.js';
import type { Providers } from '../providers/types.js';

/** The facts, one per configured component; null when no component could tell (nothing to judge by). */
export async function primaryAlreadyServing(providers: Providers): Promise<string[] | null> {
  const { database, cache, dns } = providers;
  if (!database && !cache && !dns) return null;
  const facts: string[] = [];
  try {
    for (const [name, p] of [
      ['database', database],
      ['cache', cache],
    ] as const) {
      if (!p) continue;
      if (!(await p.isWriter('primary')) || !(await p.isStreamingStandby('secondary'))) return null;
      facts.push(`the primary ${name} is the writer and the secondary streams from it`);
    }
    if (dns) {
      if ((await dns.currentTarget()) !== 'primary') return null;
      facts.push('DNS sends users to the primary');
    }
  } catch {
    // A component that cannot answer is reported by its own readiness; it does not prove "nothing to do".
    return null;
  }
  return facts;
}

/** Block the report on the first data/DNS component with the reason, so the request is refused before any change. */
export function refuseNothingToFailBack(
  components: ComponentReadiness[],
  facts: string[],
): ComponentReadiness[] {
  const blockOn = (['dns', 'database', 'cache'] as const).find((k) =>
    components.some((c) => c.component === k && c.status !== 'not-configured'),
  );
  return components.map((c) =>
    c.component === blockOn
      ? {
          ...c,
          status: 'blocked',
          summary: `nothing to fail back: the primary region already serves (${facts.join('; ')}). Nothing was changed.`,
          planFacts: { ...c.planFacts, nothingToFailBack: true },
        }
      : c,
  );
}
