import { STEP_TITLES } from '../machine/runbook.js';
import { requireProvider } from './require.js';
import type { Step } from './types.js';

/**
 * Drill: stop the write load and compare the writes the servers acknowledged with what is present
 * on the final writer. This is the drill's RPO: measured, not taken from replication lag.
 */
export const stopWriteLoad: Step = {
  id: 'stop-write-load',
  title: STEP_TITLES['stop-write-load'],
  needs: ['writeLoad'],
  // Counting needs the running load's acknowledgements; there is no "already stopped" to detect.
  check: async () => ({ done: false, summary: 'the write load is counted when it stops' }),
  run: async (ctx, progress) => {
    const res = await requireProvider(ctx, 'writeLoad').stop({ runId: ctx.opId, progress });
    return { result: 'done', summary: res.summary, evidence: res.evidence, rpo: res.rpo };
  },
};
