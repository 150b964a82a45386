import { STEP_TITLES } from '../machine/runbook.js';
import { actionOutcome, allDone } from './outcome.js';
import { checkWithRoles, withRoles } from './data-roles.js';
import { requireProvider } from './require.js';
import type { Step } from './types.js';

export const promoteDatabase: Step = {
  id: 'promote-database',
  title: STEP_TITLES['promote-database'],
  needs: ['database'],
  check(ctx) {
    const db = requireProvider(ctx, 'database');
    // Found done (a resumed step): its roles are recorded all the same, so a split is seen.
    return checkWithRoles(ctx, 'database', async () => {
      // A writer that readiness refuses (another cluster, two writers, a diverged timeline, no evidence with the primary down) is not "already promoted": promote says why.
      const done =
        (await db.isWriter('secondary')) && (await db.readiness('secondary')).status !== 'blocked';
      const outcome = allDone(
        [{ label: 'database', done }],
        'secondary database already accepts writes',
        'secondary database still a standby',
      );
      // Maybe this failover's own promotion, its reply lost: keep what it would have left for the failback.
      if (!done || ctx.mode !== 'planned' || !db.keepFoundPromotion) return outcome;
      return { ...outcome, evidence: { fenceRecord: await db.keepFoundPromotion('secondary') } };
    });
  },
  async run(ctx, progress) {
    const db = requireProvider(ctx, 'database');
    // Where database writes afterwards, failed or not: a split data tier is shown and undone from it.
    return withRoles(ctx, 'database', async () => {
      const result = await db.promote({ target: 'secondary', mode: ctx.mode, progress });
      return actionOutcome([{ component: 'database', result }]);
    });
  },
};
