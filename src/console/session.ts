/**
 * The console adapter: the same engine, timeline and status card as in Slack, typed and read in
 * a terminal. One session reads command lines and prints the engine's notifications as they come.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DrConfig } from '../config/schema.js';
import { renderCommands } from '../domain/commands.js';
import { FINAL_PHASES, type OperationView, type Phase } from '../domain/types.js';
import type { DrillReporter, ReportDelivery } from '../drill/index.js';
import type { ActionOutcome, Engine } from '../engine/types.js';
import { errorInfo } from '../errors.js';
import {
  renderDrillMarkdown,
  renderDrillSummary,
  renderMeasuresTable,
  type DrillReport,
  type ReportStore,
} from '../report/index.js';
import { consoleHelp, parseConsoleLine, type ConsoleCommand } from './commands.js';
import { renderEntry, renderStatus } from './render.js';
import {
  drillListLine,
  findReport,
  lastReport,
  recentDrills,
  type ReportLookup,
} from './reports.js';

interface ConsoleSessionDeps {
  engine: Engine;
  config: DrConfig;
  reporter?: DrillReporter;
  /** The stored drill reports: `report` without an id finds the last drill there, `reports` lists them. */
  reports?: Pick<ReportStore, 'previous'>;
  /** Who types when a line names nobody. */
  user: string;
  /** Local names for user ids (`alice` → U0LABAPPR1), accepted after `as` and shown in the output. */
  users?: Readonly<Record<string, string>>;
  /** Where drill reports are written as Markdown files; default ./dr-reports. */
  reportsDir?: string;
  write: (text: string) => void;
}

export interface ConsoleSession {
  /** Run one command line; `exit` is true for `exit`/`quit`; `answer` is what was written for the person. */
  handle(line: string): Promise<{ exit: boolean; answer?: string }>;
  /**
   * Resolves with the operation once it needs a person (awaiting approval, paused) or has
   * finished: scripts and the demo wait on this instead of sleeping.
   */
  settled(opId: string): Promise<OperationView>;
  /** The file each drill report of this session was written to. */
  readonly reportFiles: ReadonlyMap<string, string>;
  /** Resolves when the drill reports started so far were printed (call before close on exit). */
  idle(): Promise<void>;
  close(): void;
}

/** Phases worth a full status card in the terminal; the timeline covers the rest. */
const CARD_PHASES: readonly Phase[] = ['awaitingApproval', 'paused', ...FINAL_PHASES];
/** Where an operation waits for a person, or stops. */
const SETTLED_PHASES: readonly Phase[] = CARD_PHASES;

export function createConsoleSession(deps: ConsoleSessionDeps): ConsoleSession {
  const { engine, config, reporter } = deps;
  const users = deps.users ?? {};
  const names = new Map(Object.entries(users).map(([name, id]) => [id, name]));
  const reportsDir = resolve(deps.reportsDir ?? 'dr-reports');
  const reportFiles = new Map<string, string>();
  const lastPhase = new Map<string, Phase>();

  /**
   * Ids read as the names people typed; Slack-style mentions too (engine messages use them). The
   * commands engine messages name are spelled as typed here: `abort`, not `/dr abort`.
   */
  const display = (text: string): string =>
    renderCommands(text, (verb) => `\`${verb}\``).replace(
      /<@([UW][A-Z0-9]+)>|\b([UW][A-Z0-9]{2,})\b/g,
      (m, mention: string | undefined, bare: string | undefined) => {
        const id = mention ?? bare ?? m;
        const name = names.get(id);
        return name ? name : mention ? id : m;
      },
    );
  const write = (text: string) => deps.write(`${display(text)}\n`);
  const idOf = (who: string): string => users[who] ?? who;
  const help = (): string =>
    consoleHelp({
      approvers: config.approvals.approvers.map((id) => names.get(id) ?? id),
      user: names.get(idOf(deps.user)) ?? deps.user,
    });

  const unsubscribe = engine.subscribe((n) => {
    for (const e of n.entries) write(renderEntry(e));
    const before = lastPhase.get(n.op.id);
    lastPhase.set(n.op.id, n.op.phase);
    if (before !== n.op.phase && CARD_PHASES.includes(n.op.phase))
      write(`\n${renderStatus(n.op)}\n`);
  });

  /**
   * The console is no record of the incident: what it prints still awaits publication in the
   * incident channel (the bot's next start posts it). It prints the reports of drills that end
   * while it runs, and at its start those of earlier drills not posted in Slack yet that no console
   * printed (once: `report DR-…` prints one again), saying so.
   */
  const stopReports = reporter?.onReport(
    (report: DrillReport, markdown: string, delivery: ReportDelivery) => {
      mkdirSync(reportsDir, { recursive: true });
      const file = join(reportsDir, `${report.opId}.md`);
      writeFileSync(file, markdown);
      reportFiles.set(report.opId, file);
      const earlier = delivery.recovered
        ? `\n(the report of an earlier drill${delivery.published ? '' : `, not yet posted in Slack: the bot posts it in the incident channel when it next starts`})`
        : '';
      write(
        `${earlier}\n${renderDrillSummary(report)}\n\n${renderMeasuresTable(report)}\n\ndrill report: ${file}\n`,
      );
    },
    { name: 'console', ofRecord: false },
  );

  function settled(opId: string): Promise<OperationView> {
    return new Promise((resolveView, reject) => {
      let done = false;
      const check = (v: OperationView | null) => {
        if (done || !v || !SETTLED_PHASES.includes(v.phase)) return;
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

  async function target(opId: string | undefined): Promise<string | null> {
    if (opId) return opId;
    return (await engine.status()).active?.id ?? null;
  }

  function outcomeText(outcome: ActionOutcome): string {
    return outcome.ok ? outcome.message : `refused: ${outcome.message}`;
  }

  async function run(command: ConsoleCommand, userId: string): Promise<string | null> {
    switch (command.type) {
      case 'exit':
        return null;
      case 'help':
        return help();
      case 'usage':
        return `${command.problem}\n${help()}`;
      case 'request': {
        const res = await engine.request({
          kind: command.kind,
          mode: command.mode,
          requester: userId,
          reason: command.reason,
        });
        if (!res.ok) return `refused: ${res.message}`;
        return `${res.op.id} requested: the ${command.kind} of ${res.op.env} runs after another approver types \`approve ${res.op.id} as USER\`.`;
      }
      case 'status': {
        const { active, last, unrestorable } = await engine.status();
        return [
          active
            ? `Active:\n${renderStatus(active)}`
            : unrestorable
              ? `Active: ${unrestorable.id} cannot be resumed by this version of dr-bot: ${unrestorable.reason}. It keeps ${config.environment} locked; an approver can close it with \`abort\`.`
              : `Active: no operation in progress for ${config.environment}`,
          last ? `Last finished:\n${renderStatus(last)}` : 'Last finished: none yet',
        ].join('\n\n');
      }
      case 'abort': {
        const outcome = await engine.abort({
          userId,
          ...(command.opId ? { opId: command.opId } : {}),
          ...(command.reason ? { reason: command.reason } : {}),
        });
        return outcomeText(outcome);
      }
      case 'action': {
        const opId = await target(command.opId);
        if (!opId)
          return `There is no operation in progress for ${config.environment}: name one (\`${command.action} DR-…\`).`;
        if (command.action === 'approve') {
          // The console shows the plan in the status card above; approving binds to that plan.
          let view: OperationView | null = await engine.get(opId);
          if (view?.phase === 'preflight') {
            // Typed before the plan exists (a script, or someone quick): the engine would refuse
            // it as "not waiting for approval". Wait for the plan, print it, then approve that.
            write(
              `${opId} is still in preflight: waiting for it to finish, then approving the plan it shows.`,
            );
            view = await settled(opId);
          }
          return outcomeText(
            await engine.approve({ opId, userId, planHash: view?.planHash ?? '' }),
          );
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
        return outcomeText(await engine.skip({ opId, userId }));
      }
      case 'wait': {
        const opId = await target(command.opId);
        if (!opId) return `There is no operation in progress for ${config.environment}.`;
        // Only this environment's operations move here: another's would be waited for forever.
        const seen = await engine.get(opId);
        if (seen && seen.env !== config.environment)
          return `refused: ${opId} is an operation of ${seen.env}, not of ${config.environment}: wait for it in the console (or bot) of ${seen.env}.`;
        const v = await settled(opId);
        // A drill that ended has its report on the way: wait for it too, so the next line (or a
        // script's `exit`) comes after the report was printed and written.
        if (v.kind === 'drill' && FINAL_PHASES.includes(v.phase)) await reporter?.idle();
        return `${v.id} is ${v.phase}.`;
      }
      case 'report': {
        if (!reporter) return 'Drill reports are not available in this console.';
        // Without the store only the last finished operation can be the last drill.
        const lookup = {
          engine,
          reporter,
          reports: deps.reports ?? { previous: async () => null },
          environment: config.environment,
        };
        const found: ReportLookup = command.opId
          ? await findReport(lookup, command.opId)
          : await lastReport(lookup);
        if (found.ok) return renderDrillMarkdown(found.report);
        return `${found.message}.${command.opId ? ' `reports` lists the drills that have one.' : ' `drill` runs one.'}`;
      }
      case 'reports': {
        if (!deps.reports) return 'Drill reports are not available in this console.';
        const drills = await recentDrills({
          reports: deps.reports,
          environment: config.environment,
        });
        if (drills.length === 0)
          return `No drill of ${config.environment} has a report yet: \`drill\` runs one.`;
        return [
          `Drills of ${config.environment} with a report, newest first (\`report DR-…\` prints one):`,
          ...drills.map((d) => `  ${drillListLine(d)}`),
        ].join('\n');
      }
    }
  }

  return {
    reportFiles,
    settled,
    idle: async () => {
      await reporter?.idle();
    },
    async handle(line) {
      if (line.trim() === '') return { exit: false };
      const parsed = parseConsoleLine(line);
      const userId = parsed.as !== undefined ? idOf(parsed.as) : idOf(deps.user);
      try {
        const answer = await run(parsed.command, userId);
        if (answer === null) return { exit: true };
        write(answer);
        return { exit: false, answer: display(answer) };
      } catch (err) {
        const answer = `error: ${errorInfo(err).message}`;
        write(answer);
        return { exit: false, answer: display(answer) };
      }
    },
    close() {
      unsubscribe();
      stopReports?.();
    },
  };
}
