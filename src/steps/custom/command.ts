// A custom step that runs a program: its check first (exit 0: already done, so a resumed step
// never repeats its effect), then the program with retries; the output's tail is the evidence.
import type { DrConfig } from '../../config/schema.js';
import type { StepOutcome } from '../../domain/types.js';
import { DrError, ProviderError } from '../../errors.js';
import type { ArgvResult } from '../../providers/custom-actions.js';
import { requireProvider } from '../require.js';
import type { CheckOutcome, Step, StepContext } from '../types.js';

type CommandConfig = NonNullable<DrConfig['runbook']['steps'][number]['command']>;

function how(r: ArgvResult, timeoutSeconds: number): string {
  if (r.timedOut) return `was killed after the ${timeoutSeconds} s timeout`;
  return r.exitCode !== null ? `exited with ${r.exitCode}` : `was killed by ${r.signal}`;
}

async function check(ctx: StepContext, c: CommandConfig): Promise<CheckOutcome> {
  if (!c.check) {
    // Without a check nobody can tell whether a run the bot died in had its effect.
    if (ctx.resumed)
      throw new DrError(
        'precondition-failed',
        `${c.argv[0]} was running when the bot stopped and the step has no check, so whether it took effect is unknown: look, then Retry (runs it again) or Skip`,
        { retryable: true },
      );
    return { done: false, summary: 'no check configured' };
  }
  const actions = requireProvider(ctx, 'customActions');
  const r = await actions.runArgv(c.check.argv, c.env, c.check.timeoutSeconds);
  return r.exitCode === 0
    ? { done: true, summary: `check ${c.check.argv.join(' ')} exited with 0` }
    : { done: false, summary: `check ${how(r, c.check.timeoutSeconds)}` };
}

async function run(ctx: StepContext, c: CommandConfig): Promise<StepOutcome> {
  const actions = requireProvider(ctx, 'customActions');
  let last: ArgvResult | undefined;
  for (let attempt = 1; attempt <= c.retries + 1; attempt++) {
    // A failed attempt may still have done part of the work: ask the check again before repeating.
    if (attempt > 1 && c.check && (await check(ctx, c)).done)
      return {
        result: 'already-done',
        summary: 'done (the check passed after a failed attempt)',
        evidence: { attempts: attempt - 1 },
      };
    last = await actions.runArgv(c.argv, c.env, c.timeoutSeconds);
    if (last.exitCode === 0)
      return {
        result: 'done',
        summary: `${c.argv[0]} exited with 0 in ${(last.durationMs / 1000).toFixed(1)} s`,
        evidence: { argv: c.argv.join(' '), exitCode: 0, attempts: attempt, output: last.output },
      };
  }
  const r = last as ArgvResult;
  throw new ProviderError(
    'command',
    `${c.argv[0]} ${how(r, c.timeoutSeconds)} (${c.retries + 1} attempt${c.retries ? 's' : ''})${r.output ? `: ${r.output.split('\n').slice(-5).join('\n')}` : ''}`,
    { code: r.timedOut ? 'timeout' : 'provider', retryable: true },
  );
}

export function commandStep(base: Omit<Step, 'check' | 'run' | 'needs'>, c: CommandConfig): Step {
  return {
    ...base,
    needs: ['customActions'],
    check: (ctx) => check(ctx, c),
    run: (ctx) => run(ctx, c),
  };
}
