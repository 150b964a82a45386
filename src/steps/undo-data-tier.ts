/**
 * The undo of a split data tier, as the machine's `undoDataTier` actor runs it: each switched
 * component the bot can put back is put back by its provider (Redis: the old primary is the
 * master again, the promoted side its replica). Idempotent, so a restart may run it again.
 */
import type { DataComponent } from '../domain/types.js';
import { PreconditionFailed } from '../errors.js';
import type { Progress, Providers } from '../providers/types.js';

export async function undoDataTier(
  providers: Providers,
  components: readonly DataComponent[],
  progress: Progress,
): Promise<{ summary: string }> {
  if (components.length === 0)
    throw new PreconditionFailed('nothing to undo: no switched data component was recorded');
  const done: string[] = [];
  for (const component of components) {
    const cache = providers.cache;
    // Only a promoted Redis has an undo; a promoted PostgreSQL is never offered one.
    if (component !== 'cache' || !cache?.undoPromotion)
      throw new PreconditionFailed(
        `the bot cannot undo ${component === 'cache' ? 'this Redis driver' : 'PostgreSQL'}; nothing was changed`,
      );
    const result = await cache.undoPromotion({ promoted: 'secondary', progress });
    done.push(result.summary);
  }
  return { summary: done.join('; ') };
}
