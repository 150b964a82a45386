import type { CacheProvider, DatabaseProvider } from '../providers/types.js';
import { STEP_TITLES } from '../machine/runbook.js';
import { dataCheck, dataRun } from './data-tier.js';
import type { Step, StepContext } from './types.js';

/**
 * The primary database counts as promoted only next to a secondary that streams from it, or that
 * is fenced while the primary is not the side it was promoted away from. A writer primary alone
 * is not enough: with the resync and consistency stages skipped, the old primary still writes
 * its diverged timeline, and DNS would move to it. Not done sends it to promote, which refuses.
 */
async function primaryDatabasePromoted(db: DatabaseProvider): Promise<boolean> {
  if (!(await db.isWriter('primary'))) return false;
  if (await db.isStreamingStandby('secondary')) return true;
  if (await db.isWriter('secondary')) return false;
  const r = await db.readiness('primary');
  return r.status !== 'blocked' && r.planFacts.targetRole !== 'stale-writer';
}

/**
 * Likewise the primary cache counts only next to a secondary that replicates from it. Two masters
 * are a stale old master left by a skipped resync (promote refuses it) or a promotion the bot was
 * interrupted in (promote finishes it), never "done"; isWriter alone cannot tell, since it reads
 * the secondary's own promotion as the interrupted one. A replica whose link is not up yet is
 * "not done" too, which only costs a promote that answers "already a master".
 */
async function primaryCachePromoted(cache: CacheProvider): Promise<boolean> {
  return (await cache.isWriter('primary')) && (await cache.isStreamingStandby('secondary'));
}

const done = (ctx: StepContext) => (p: DatabaseProvider | CacheProvider) =>
  p === ctx.providers.database
    ? primaryDatabasePromoted(ctx.providers.database)
    : primaryCachePromoted(p as CacheProvider);

/** Failback switches writes back only once the primary has caught up, so it is always planned. */
export const promotePrimary: Step = {
  id: 'promote-primary',
  title: STEP_TITLES['promote-primary'],
  needs: ['database', 'cache'],
  check: (ctx) =>
    dataCheck(ctx, ['database', 'cache'], done(ctx), {
      done: 'primary already takes writes',
      todo: 'primary still a standby',
    }),
  run: (ctx, progress) =>
    dataRun(ctx, ['database', 'cache'], done(ctx), (p) =>
      p.promote({ target: 'primary', mode: 'planned', progress }),
    ),
};
