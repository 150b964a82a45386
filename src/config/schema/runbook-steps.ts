/**
 * `runbook.steps`: the team's own steps (pause the queue consumers, purge the CDN, tell support),
 * placed after or beside a built-in step and run with the same guarantees. Each has exactly one
 * action: a command (argv, no shell), an HTTP call, or a manual checklist item a person confirms.
 * Placement is checked here with the engine's own placement code, so a config that passes runs.
 */
import { z } from 'zod';
import type { CustomStepPlan, OperationKind, Runbook } from '../../domain/types.js';
import {
  customStepId,
  placeCustomSteps,
  type CustomStepSpec,
} from '../../machine/custom-runbook.js';
import { envName } from './fields.js';

const argv = z
  .array(z.string().min(1))
  .min(1, 'give the program and its arguments, e.g. [./purge-cdn.sh, --all]');

const commandCheck = z
  .object({
    /** Exit 0 means the step's effect is already in place: the command is not run (again). */
    argv,
    timeoutSeconds: z.number().positive().default(30),
  })
  .strict();

const command = z
  .object({
    /** Run without a shell, in a process group of its own. */
    argv,
    /** Names of environment variables passed on (besides PATH, HOME, LANG, TZ, TMPDIR); values come from the bot's environment. */
    env: z.array(envName).default([]),
    timeoutSeconds: z.number().positive().default(300),
    /** Extra attempts after a failed one, before the step fails and the operation pauses. */
    retries: z.number().int().min(0).max(10).default(0),
    check: commandCheck.optional(),
  })
  .strict();

const method = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Header name → the environment variable holding its value (tokens never live in the file). */
const headers = z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), envName);

const httpCheck = z
  .object({
    method: method.default('GET'),
    url: z.string().url(),
    headers: headers.default({}),
    /** This status (and bodyMatch, when given) means the step's effect is already in place. */
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyMatch: z.string().optional(),
  })
  .strict();

const http = z
  .object({
    method: method.default('POST'),
    url: z.string().url(),
    headers: headers.default({}),
    /** Sent as is; a mapping is sent as JSON. */
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    expectStatus: z.number().int().min(100).max(599).default(200),
    timeoutSeconds: z.number().positive().default(30),
    retries: z.number().int().min(0).max(10).default(0),
    check: httpCheck.optional(),
  })
  .strict();

const manual = z
  .object({
    /** What the person has to do, posted in the incident thread with a Done button. */
    text: z.string().min(1),
    /** Slack user ids who may press Done besides the approvers; empty: the approvers and the requester. Skip is for approvers. */
    owners: z
      .array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id looks like U0123ABCD'))
      .default([]),
  })
  .strict();

const step = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes, e.g. purge-cdn'),
    title: z.string().min(1).max(80),
    /** Default: every operation whose runbook holds the anchor. */
    operations: z
      .array(z.enum(['failover', 'failback', 'drill']))
      .min(1)
      .optional(),
    modes: z
      .array(z.enum(['planned', 'unplanned']))
      .min(1)
      .default(['planned', 'unplanned']),
    /** A built-in step id or another custom step's id: runs once that step's stage has finished. */
    after: z.string().min(1).optional(),
    /** A built-in step id or another custom step's id: runs in its own lane beside it. */
    beside: z.string().min(1).optional(),
    command: command.optional(),
    http: http.optional(),
    manual: manual.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const actions = (['command', 'http', 'manual'] as const).filter((k) => s[k] !== undefined);
    if (actions.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one action: command, http or manual (found ${actions.length === 0 ? 'none' : actions.join(' and ')})`,
      });
    if ((s.after === undefined) === (s.beside === undefined))
      ctx.addIssue({
        code: 'custom',
        message:
          'place the step with exactly one of after: <step id> (once that step is done) or beside: <step id> (in a lane of its own beside it)',
      });
  });

type StepConfig = z.output<typeof step>;

function detailOf(s: StepConfig): string {
  if (s.command) return s.command.argv.join(' ');
  if (s.http) return `${s.http.method} ${s.http.url}`;
  return s.manual?.text ?? '';
}

/** What the plan card shows and approvals bind to. */
function planOf(s: StepConfig): CustomStepPlan {
  return {
    id: customStepId(s.id),
    title: s.title,
    action: s.command ? 'command' : s.http ? 'http' : 'manual',
    detail: detailOf(s),
    modes: [...s.modes],
    ...(s.manual ? { owners: [...s.manual.owners] } : {}),
  };
}

function specOf(s: StepConfig): CustomStepSpec {
  return {
    plan: planOf(s),
    ...(s.operations ? { operations: s.operations } : {}),
    ...(s.after !== undefined ? { after: s.after } : {}),
    ...(s.beside !== undefined ? { beside: s.beside } : {}),
  };
}

export const runbook = z
  .object({
    steps: z.array(step).default([]),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const p of placeCustomSteps(r.steps.map(specOf)).problems)
      ctx.addIssue({ code: 'custom', message: p.message, path: ['steps', p.index, p.key] });
  })
  .default({ steps: [] });

/** The runbooks with the configured steps placed: what the engine's machine is generated from. */
export function customRunbooks(
  steps: readonly StepConfig[],
): Readonly<Record<OperationKind, Runbook>> {
  return placeCustomSteps(steps.map(specOf)).runbooks;
}
