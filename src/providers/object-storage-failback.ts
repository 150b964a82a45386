/**
 * Object storage on the approval card. The bot switches no bucket, but a failback hands users back
 * to the primary's: what they wrote to the secondary's while it served must be there too. With
 * reverse replication configured, a canary written to the secondary must reach the primary within
 * the RPO; without it, the card lists the objects on the secondary that the primary lacks (or holds
 * with other content), before anyone approves. A failover needs nothing here: the readiness canary
 * measures the forward direction.
 */
import type { ComponentReadiness, RegionRole } from '../domain/types.js';
import type { ObjectStorageProvider, SecondaryWrites } from './object-storage.js';
import type { Inspectable } from './types.js';

interface FailbackOptions {
  storage: ObjectStorageProvider;
  /** A replication rule copies the secondary's writes back to the primary. */
  reverseReplication: boolean;
  rpoSeconds: number;
  /** Keys named on the card; the rest are counted. */
  listMax?: number;
}

const base = { component: 'object-storage' as const, details: {} };

function writesReadiness(
  w: SecondaryWrites,
  o: FailbackOptions,
  listMax: number,
): ComponentReadiness {
  const { storage } = o;
  const scan = w.truncated ? ` (scanned the first ${w.scanned}; there are more)` : '';
  const details = {
    missingOnPrimary: w.objects.map((x) => x.key),
    scanned: w.scanned,
    truncated: w.truncated,
  };
  if (w.objects.length === 0)
    return {
      ...base,
      status: 'ready',
      summary: `every object in ${storage.secondaryWhere} is on ${storage.primaryWhere}${scan}`,
      details,
      planFacts: { missingOnPrimary: 0 },
    };
  const named = w.objects
    .slice(0, listMax)
    .map((x) => `${x.key} (${new Date(x.lastModified).toISOString()})`);
  const more = w.objects.length > listMax ? ` and ${w.objects.length - listMax} more` : '';
  return {
    ...base,
    status: 'warning',
    summary: `${w.objects.length} object(s) written to ${storage.secondaryWhere} are not on ${storage.primaryWhere}: ${named.join(', ')}${more}${scan}`,
    details,
    planFacts: { missingOnPrimary: w.objects.length },
    warnings: [
      `no reverse replication is configured: after failback users will not see ${w.objects.length} object(s) written in the secondary region; copy them to ${storage.primaryWhere} first`,
    ],
  };
}

async function failbackReadiness(o: FailbackOptions): Promise<ComponentReadiness> {
  if (!o.reverseReplication)
    return writesReadiness(await o.storage.secondaryWrites(), o, o.listMax ?? 10);
  const r = await o.storage.checkReverseReplication({ rpoSeconds: o.rpoSeconds });
  return {
    ...base,
    status: r.ok ? 'ready' : 'warning',
    summary: `reverse replication: ${r.detail}`,
    details: r.evidence,
    planFacts: { reverseReplication: r.ok },
    ...(r.ok
      ? {}
      : {
          warnings: [
            `objects written to the secondary may not be on the primary: the reverse canary did not arrive within ${o.rpoSeconds} s`,
          ],
        }),
  };
}

/** A failover switches no bucket; the card checks the canary's rights, so readiness keeps measuring. */
async function failoverReadiness(storage: ObjectStorageProvider): Promise<ComponentReadiness> {
  const access = await storage.checkAccess();
  const ok = `nothing to switch: ${storage.primaryWhere} replicates to ${storage.secondaryWhere} (measured by the readiness canary)`;
  if (access.denied.length > 0)
    return {
      ...base,
      status: 'blocked',
      summary: `the bot may not use the canary: ${access.denied.join('; ')}`,
      details: { missingRights: access.denied },
      planFacts: { missingRights: access.denied.length },
      warnings: access.denied,
    };
  if (access.unchecked.length > 0)
    return {
      ...base,
      status: 'warning',
      summary: ok,
      planFacts: {},
      warnings: access.unchecked.map((u) => `the canary's rights could not be checked: ${u}`),
    };
  return {
    ...base,
    status: 'ready',
    summary: `${ok}; the bot wrote and read the canary`,
    planFacts: {},
  };
}

export function createObjectStorageFailback(o: FailbackOptions): Inspectable {
  return {
    name: o.storage.name,
    async readiness(target: RegionRole) {
      if (target === 'primary') return failbackReadiness(o);
      return failoverReadiness(o.storage);
    },
    close: () => o.storage.close(),
  };
}
