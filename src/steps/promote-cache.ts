import { PreconditionFailed } from '../errors.js';
import { STEP_TITLES } from '../machine/runbook.js';
import { actionOutcome, allDone } from './outcome.js';
import { checkWithRoles, withRoles } from './data-roles.js';
import { requireProvider } from './require.js';
import type { Step } from './types.js';

export const promoteCache: Step = {
  id: 'promote-cache',
  title: STEP_TITLES['promote-cache'],
  needs: ['cache'],
  check(ctx) {
    const cache = requireProvider(ctx, 'cache');
    // Found done (a resumed step): its roles are recorded all the same, so a split is seen.
    return checkWithRoles(ctx, 'cache', async () =>
      allDone(
        [{ label: 'cache', done: await cache.isWriter('secondary') }],
        'secondary cache is already the writer',
        'secondary cache still a replica',
      ),
    );
  },
  async run(ctx, progress) {
    const cache = requireProvider(ctx, 'cache');
    // Where cache writes afterwards, failed or not: a split data tier is shown and undone from it.
    return withRoles(ctx, 'cache', async () => {
      // The last resort only when two people confirmed it (ctx.lastResort); never otherwise.
      if (ctx.lastResort === 'detach-cache' && !cache.detach)
        throw new PreconditionFailed(
          `the ${cache.name} cache driver has no last resort; nothing was changed`,
        );
      const result =
        ctx.lastResort === 'detach-cache'
          ? await cache.detach!({ target: 'secondary', progress })
          : await cache.promote({ target: 'secondary', mode: ctx.mode, progress });
      return actionOutcome([{ component: 'cache', result }]);
    });
  },
};
