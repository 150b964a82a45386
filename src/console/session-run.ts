/**
 * What a console session does with one parsed command: one function per command, asking the
 * engine (and the drill reports) and returning the text to print. The session (session.ts) owns
 * the terminal, the names and the subscriptions.
 */
import type { DrConfig } from '../config/schema.js';
import { FINAL_PHASES, type OperationView, type Phase } from '../domain/types.js';
import type { DrillReporter } from '../drill/index.js';
import type { ActionOutcome, Engine } from '../engine/types.js';
import { renderDrillMarkdown, type ReportStore } from '../report/index.js';
import type { ConsoleCommand } from './commands.js';
import { renderStatus } from './render.js';
import {
  drillListLine,
  findReport,
  lastReport,
  recentDrills,
  type ReportLookup,
} from './reports.js';

/** What the commands read: the engine, the config, the reports, and how to print. */
export interface SessionContext {
  engine: Engine;
  config: DrConfig;
  reporter: DrillReporter | undefined;
  /** The stored drill reports: `report` without an id finds the last drill there, `reports` lists them. */
  reports: Pick<ReportStore, 'previous'> | undefined;
  /** Print a line for the person (ids shown as the names they typed). */
  write: (text: string) => void;
  help: () => string;
}

type CommandOf<T extends ConsoleCommand['type']> = Extract<ConsoleCommand, { type: T }>;

/** Phases worth a full status card in the terminal; the timeline covers the rest. */
export const CARD_PHASES: readonly Phase[] = ['awaitingApproval', 'paused', ...FINAL_PHASES];
/** Where an operation waits for a person, or stops. */
const SETTLED_PHASES: readonly Phase[] = CARD_PHASES;

/** Resolves with the operation once it waits for a person or has stopped. */
export function settledView(engine: Engine, opId: string): Promise<OperationView> {
  return new Promise((resolveView, reject) => {
    let done = false;
    const check = (v: OperationView | null) => {
      // A manual step waiting for Done needs a person as much as an approval does.
      if (done || !v || !(SETTLED_PHASES.includes(v.phase) || v.waiting?.length)) return;
      done = true;
      stop();
      resolveView(v);
    };
    const stop = engine.subscribe((n) => {
      if (n.op.id === opId) check(n.op);
    });
    engine.get(opId).then((v) => {
      if (!v && !done) {
        done = true;
        stop();
        reject(new Error(`there is no operation ${opId}`));
        return;
      }
      check(v);
    }, reject);
  });
}

async function target(engine: Engine, opId: string | undefined): Promise<string | null> {
  if (opId) return opId;
  return (await engine.status()).active?.id ?? null;
}

function outcomeText(outcome: ActionOutcome): string {
  return outcome.ok ? outcome.message : `refused: ${outcome.message}`;
}

async function requestAnswer(
  ctx: SessionContext,
  command: CommandOf<'request'>,
  userId: string,
): Promise<string> {
  const res = await ctx.engine.request({
    kind: command.kind,
    mode: command.mode,
    requester: userId,
    reason: command.reason,
  });
  if (!res.ok) return `refused: ${res.message}`;
  return `${res.op.id} requested: the ${command.kind} of ${res.op.env} runs after another approver types \`approve ${res.op.id} as USER\`.`;
}

async function statusAnswer(ctx: SessionContext): Promise<string> {
  const { config } = ctx;
  const { active, last, unrestorable } = await ctx.engine.status();
  return [
    active
      ? `Active:\n${renderStatus(active)}`
      : unrestorable
        ? `Active: ${unrestorable.id} cannot be resumed by this version of dr-bot: ${unrestorable.reason}. It keeps ${config.environment} locked; an approver can close it with \`abort\`.`
        : `Active: no operation in progress for ${config.environment}`,
    last ? `Last finished:\n${renderStatus(last)}` : 'Last finished: none yet',
  ].join('\n\n');
}

async function abortAnswer(
  ctx: SessionContext,
  command: CommandOf<'abort'>,
  userId: string,
): Promise<string> {
  const outcome = await ctx.engine.abort({
    userId,
    ...(command.opId ? { opId: command.opId } : {}),
    ...(command.reason ? { reason: command.reason } : {}),
  });
  return outcomeText(outcome);
}

async function actionAnswer(
  ctx: SessionContext,
  command: CommandOf<'action'>,
  userId: string,
): Promise<string> {
  const { engine, config } = ctx;
  const opId = await target(engine, command.opId);
  if (!opId)
    return `There is no operation in progress for ${config.environment}: name one (\`${command.action} DR-…\`).`;
  if (command.action === 'approve') {
    // The console shows the plan in the status card above; approving binds to that plan.
    let view: OperationView | null = await engine.get(opId);
    if (view?.phase === 'preflight') {
      // Typed before the plan exists (a script, or someone quick): the engine would refuse
      // it as "not waiting for approval". Wait for the plan, print it, then approve that.
      ctx.write(
        `${opId} is still in preflight: waiting for it to finish, then approving the plan it shows.`,
      );
      view = await settledView(engine, opId);
    }
    return outcomeText(await engine.approve({ opId, userId, planHash: view?.planHash ?? '' }));
  }
  if (command.action === 'reject')
    return outcomeText(
      await engine.reject({
        opId,
        userId,
        ...(command.reason ? { reason: command.reason } : {}),
      }),
    );
  if (command.action === 'retry') return outcomeText(await engine.retry({ opId, userId }));
  if (command.action === 'undo') return outcomeText(await engine.undo({ opId, userId }));
  if (command.action === 'detach') return outcomeText(await engine.detach({ opId, userId }));
  const step = command.step ? { stepId: `custom:${command.step}` as const } : {};
  if (command.action === 'done') return outcomeText(await engine.done({ opId, userId, ...step }));
  return outcomeText(await engine.skip({ opId, userId, ...step }));
}

async function waitAnswer(ctx: SessionContext, command: CommandOf<'wait'>): Promise<string> {
  const { engine, config } = ctx;
  const opId = await target(engine, command.opId);
  if (!opId) return `There is no operation in progress for ${config.environment}.`;
  // Only this environment's operations move here: another's would be waited for forever.
  const seen = await engine.get(opId);
  if (seen && seen.env !== config.environment)
    return `refused: ${opId} is an operation of ${seen.env}, not of ${config.environment}: wait for it in the console (or bot) of ${seen.env}.`;
  const v = await settledView(engine, opId);
  // A drill that ended has its report on the way: wait for it too, so the next line (or a
  // script's `exit`) comes after the report was printed and written.
  if (v.kind === 'drill' && FINAL_PHASES.includes(v.phase)) await ctx.reporter?.idle();
  if (v.phase === 'running' && v.waiting?.length)
    return `${v.id} waits for Done on ${v.waiting.map((w) => w.stepId.replace(/^custom:/, '')).join(', ')}.`;
  return `${v.id} is ${v.phase}.`;
}

async function reportAnswer(ctx: SessionContext, command: CommandOf<'report'>): Promise<string> {
  const { engine, config, reporter } = ctx;
  if (!reporter) return 'Drill reports are not available in this console.';
  // Without the store only the last finished operation can be the last drill.
  const lookup = {
    engine,
    reporter,
    reports: ctx.reports ?? { previous: async () => null },
    environment: config.environment,
  };
  const found: ReportLookup = command.opId
    ? await findReport(lookup, command.opId)
    : await lastReport(lookup);
  if (found.ok) return renderDrillMarkdown(found.report);
  return `${found.message}.${command.opId ? ' `reports` lists the drills that have one.' : ' `drill` runs one.'}`;
}

async function reportsAnswer(ctx: SessionContext): Promise<string> {
  const { config } = ctx;
  if (!ctx.reports) return 'Drill reports are not available in this console.';
  const drills = await recentDrills({
    reports: ctx.reports,
    environment: config.environment,
  });
  if (drills.length === 0)
    return `No drill of ${config.environment} has a report yet: \`drill\` runs one.`;
  return [
    `Drills of ${config.environment} with a report, newest first (\`report DR-…\` prints one):`,
    ...drills.map((d) => `  ${drillListLine(d)}`),
  ].join('\n');
}

/** The text to print for one command typed by `userId`; null for `exit`. */
export async function runCommand(
  ctx: SessionContext,
  command: ConsoleCommand,
  userId: string,
): Promise<string | null> {
  switch (command.type) {
    case 'exit':
      return null;
    case 'help':
      return ctx.help();
    case 'usage':
      return `${command.problem}\n${ctx.help()}`;
    case 'request':
      return requestAnswer(ctx, command, userId);
    case 'status':
      return statusAnswer(ctx);
    case 'abort':
      return abortAnswer(ctx, command, userId);
    case 'action':
      return actionAnswer(ctx, command, userId);
    case 'wait':
      return waitAnswer(ctx, command);
    case 'report':
      return reportAnswer(ctx, command);
    case 'reports':
      return reportsAnswer(ctx);
  }
}
