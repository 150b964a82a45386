import { STEP_TITLES } from '../machine/runbook.js';
import { requireProvider } from './require.js';
import type { Step } from './types.js';

/** Drill: the write load runs from before the failover to after the failback; RPO is counted from it. */
export const startWriteLoad: Step = {
  id: 'start-write-load',
  title: STEP_TITLES['start-write-load'],
  needs: ['writeLoad'],
  check: async (ctx) => {
    const running = requireProvider(ctx, 'writeLoad').running(ctx.opId);
    return {
      done: running,
      summary: running
        ? `the write load of ${ctx.opId} is running`
        : 'the write load is not running',
    };
  },
  run: async (ctx, progress) => {
    const res = await requireProvider(ctx, 'writeLoad').start({ runId: ctx.opId, progress });
    return {
      result: res.noop ? 'already-done' : 'done',
      summary: res.summary,
      evidence: res.evidence,
    };
  },
};
