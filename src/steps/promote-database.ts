import { STEP_TITLES } from '../machine/runbook.js';
import { actionOutcome, allDone } from './outcome.js';
import { requireProvider } from './require.js';
import type { Step } from './types.js';

export const promoteDatabase: Step = {
  id: 'promote-database',
  title: STEP_TITLES['promote-database'],
  needs: ['database'],
  async check(ctx) {
    const db = requireProvider(ctx, 'database');
    return allDone([{ label: 'database', done: await db.isWriter('secondary') }], 'secondary database already accepts writes', 'secondary database still a standby');
  },
  async run(ctx, progress) {
    const db = requireProvider(ctx, 'database');
    const result = await db.promote({ target: 'secondary', mode: ctx.mode, progress });
    return actionOutcome([{ component: 'database', result }]);
  },
};
