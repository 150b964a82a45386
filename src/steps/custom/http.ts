// A custom step that makes an HTTP call: its check request first (the expected answer: already
// done), then the call with retries; the status and the start of the body are the evidence.
import type { DrConfig } from '../../config/schema.js';
import type { StepOutcome } from '../../domain/types.js';
import { errorInfo, ProviderError } from '../../errors.js';
import type { HttpResult } from '../../providers/custom-actions.js';
import { requireProvider } from '../require.js';
import type { CheckOutcome, Step, StepContext } from '../types.js';

type HttpConfig = NonNullable<DrConfig['runbook']['steps'][number]['http']>;

async function check(ctx: StepContext, c: HttpConfig): Promise<CheckOutcome> {
  if (!c.check) return { done: false, summary: 'no check configured' };
  const k = c.check;
  const r = await requireProvider(ctx, 'customActions').request({
    ...k,
    timeoutSeconds: c.timeoutSeconds,
  });
  const matches =
    r.status === k.expectStatus &&
    (k.bodyMatch === undefined || new RegExp(k.bodyMatch).test(r.body));
  return {
    done: matches,
    summary: `check ${k.method} ${k.url} answered ${r.status}${matches ? '' : ` (done means ${k.expectStatus}${k.bodyMatch ? ` matching /${k.bodyMatch}/` : ''})`}`,
  };
}

async function run(ctx: StepContext, c: HttpConfig): Promise<StepOutcome> {
  const actions = requireProvider(ctx, 'customActions');
  let last: HttpResult | undefined;
  let failure = '';
  for (let attempt = 1; attempt <= c.retries + 1; attempt++) {
    try {
      last = await actions.request(c);
    } catch (err) {
      failure = errorInfo(err).message;
      continue;
    }
    if (last.status === c.expectStatus)
      return {
        result: 'done',
        summary: `${c.method} ${c.url} answered ${last.status}`,
        evidence: {
          request: `${c.method} ${c.url}`,
          status: last.status,
          attempts: attempt,
          body: last.body,
        },
      };
    failure = `answered ${last.status}, expected ${c.expectStatus}${last.body ? `: ${last.body.slice(0, 200)}` : ''}`;
  }
  throw new ProviderError(
    'http',
    `${c.method} ${c.url} ${failure} (${c.retries + 1} attempt${c.retries ? 's' : ''})`,
    {
      retryable: true,
    },
  );
}

export function httpStep(base: Omit<Step, 'check' | 'run' | 'needs'>, c: HttpConfig): Step {
  return {
    ...base,
    needs: ['customActions'],
    check: (ctx) => check(ctx, c),
    run: (ctx) => run(ctx, c),
  };
}
