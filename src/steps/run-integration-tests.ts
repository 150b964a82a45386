import type { CheckResult, Evidence } from '../domain/types.js';
import { STEP_TITLES } from '../machine/runbook.js';
import type { WriteLoadComponentSample, WriteLoadProvider } from '../providers/types.js';
import { ALWAYS_RUN, checksOutcome } from './outcome.js';
import type { Step } from './types.js';

/** How long the drill load may take to land a write on the secondary before the check fails. */
const LOAD_WAIT_MS = 10_000;

/**
 * Drill: with the secondary serving, run the region's verification checks (HTTP and the
 * integration-test commands of `verification.secondary`) against it, and check that the write
 * load's writes are now acknowledged by the secondary — the application path works there.
 */
export const runIntegrationTests: Step = {
  id: 'run-integration-tests',
  title: STEP_TITLES['run-integration-tests'],
  needs: ['verification', 'writeLoad'],
  check: async () => ALWAYS_RUN,
  run: async (ctx, progress) => {
    const checks: CheckResult[] = [];
    const { verification, writeLoad } = ctx.providers;
    if (verification) checks.push(...(await verification.run({ region: 'secondary', progress })));
    const extra: Evidence = { region: 'secondary' };
    // A bot restarted mid-drill has lost its writer: that costs the RPO measurement (the last step
    // says so), not the integration tests.
    if (writeLoad?.running(ctx.opId)) checks.push(...(await loadChecks(writeLoad)));
    else if (writeLoad)
      extra.writeLoad =
        'not running in this process (bot restarted?): writes to the secondary not checked';
    return checksOutcome('integration tests against the secondary', checks, extra);
  },
};

async function loadChecks(load: WriteLoadProvider): Promise<CheckResult[]> {
  const started = Date.now();
  const before = load.sample();
  const landed = (
    now: WriteLoadComponentSample | undefined,
    then: WriteLoadComponentSample | undefined,
  ) => now !== undefined && now.onSecondary > (then?.onSecondary ?? 0);
  for (;;) {
    const now = load.sample();
    const parts = (['database', 'cache'] as const).filter((c) => before?.[c] !== undefined);
    const pending = parts.filter((c) => !landed(now?.[c], before?.[c]));
    if (pending.length === 0 || Date.now() - started > LOAD_WAIT_MS) {
      return parts.map((c) => {
        const ok = !pending.includes(c);
        const s = now?.[c];
        return {
          name: `drill writes to the secondary ${c}`,
          kind: c,
          ok,
          detail: ok
            ? `${s?.onSecondary ?? 0} writes acknowledged by the secondary`
            : `no write acknowledged by the secondary within ${LOAD_WAIT_MS / 1000} s (${s?.failed ?? 0} failed attempts)`,
          durationMs: Date.now() - started,
        };
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
