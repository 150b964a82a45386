/**
 * The undo of a split data tier, as the machine's `undoDataTier` actor runs it: each switched
 * component the bot can put back is put back by its provider (Redis: the old primary is the
 * master again, the promoted side its replica; PostgreSQL: the fence on the old primary is
 * lifted, its standby never promoted). Idempotent, so a restart may run it again.
 */
import type { DataComponent } from '../domain/types.js';
import { PreconditionFailed } from '../errors.js';
import type { Progress, Providers } from '../providers/types.js';

const NAMES: Record<DataComponent, string> = { database: 'PostgreSQL', cache: 'Redis' };

export async function undoDataTier(
  providers: Providers,
  components: readonly DataComponent[],
  progress: Progress,
): Promise<{ summary: string }> {
  if (components.length === 0)
    throw new PreconditionFailed('nothing to undo: no switched data component was recorded');
  const missing = components.filter((c) => !providers[c]?.undoPromotion);
  // Checked before anything is undone: a half-done undo would leave another split.
  if (missing.length > 0)
    throw new PreconditionFailed(
      `the bot cannot undo ${missing.map((c) => NAMES[c]).join(' and ')} with this driver; nothing was changed`,
    );
  const done: string[] = [];
  for (const component of components) {
    // The providers refuse what is not theirs to put back (a promoted PostgreSQL), changing nothing.
    const result = await providers[component]!.undoPromotion!({ promoted: 'secondary', progress });
    done.push(result.summary);
  }
  return { summary: done.join('; ') };
}
