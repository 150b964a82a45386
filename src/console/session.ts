/**
 * The console adapter: the same engine, timeline and status card as in Slack, typed and read in
 * a terminal. One session reads command lines and prints the engine's notifications as they come.
 */
import { writeReportFile } from './report-file.js';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DrConfig } from '../config/schema.js';
import { renderCommands } from '../domain/commands.js';
import type { OperationView, Phase } from '../domain/types.js';
import type { DrillReporter, ReportDelivery } from '../drill/index.js';
import type { Engine, EngineNotification } from '../engine/types.js';
import { errorInfo } from '../errors.js';
import {
  drillHeadline,
  renderMeasuresTable,
  type DrillReport,
  type ReportStore,
} from '../report/index.js';
import { consoleHelp, parseConsoleLine } from './commands.js';
import { renderEntry, renderStatus } from './render.js';
import { CARD_PHASES, runCommand, settledView, type SessionContext } from './session-run.js';

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
  /** Print each step's evidence under it (`--evidence`); the report and Slack keep it anyway. */
  evidence?: boolean;
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

/** A running session: the commands' context plus what the terminal side keeps. */
interface LiveSession extends SessionContext {
  /** displayText with this session's names. */
  display: (text: string) => string;
  /** The user id for a name typed after `as` (or the id itself). */
  idOf: (who: string) => string;
  /** Who types when a line names nobody. */
  user: string;
  reportsDir: string;
  evidence: boolean;
  reportFiles: Map<string, string>;
  /** The last phase seen of each operation, to print its card once per phase change. */
  lastPhase: Map<string, Phase>;
}

/**
 * Ids read as the names people typed; Slack-style mentions too (engine messages use them). The
 * commands engine messages name are spelled as typed here: `abort`, not `/dr abort`.
 */
function displayText(names: ReadonlyMap<string, string>, text: string): string {
  return renderCommands(text, (verb) => `\`${verb}\``).replace(
    /<@([UW][A-Z0-9]+)>|\b([UW][A-Z0-9]{2,})\b/g,
    (m, mention: string | undefined, bare: string | undefined) => {
      const id = mention ?? bare ?? m;
      const name = names.get(id);
      return name ? name : mention ? id : m;
    },
  );
}

/** The timeline entries of each notification, and the status card when the phase calls for one. */
function printNotification(session: LiveSession, n: EngineNotification): void {
  for (const e of n.entries)
    session.write(renderEntry(e, { evidence: session.evidence, steps: n.op.steps }));
  const before = session.lastPhase.get(n.op.id);
  session.lastPhase.set(n.op.id, n.op.phase);
  if (before !== n.op.phase && CARD_PHASES.includes(n.op.phase))
    session.write(`\n${renderStatus(n.op)}\n`);
}

/**
 * The console is no record of the incident: what it prints still awaits publication in the
 * incident channel (the bot's next start posts it). It prints the reports of drills that end
 * while it runs, and at its start those of earlier drills not posted in Slack yet that no console
 * printed (once: `report DR-…` prints one again), saying so.
 */
function printReport(
  session: LiveSession,
  report: DrillReport,
  markdown: string,
  delivery: ReportDelivery,
): void {
  mkdirSync(session.reportsDir, { recursive: true });
  const file = writeReportFile(
    session.reportsDir,
    report.opId,
    markdown,
    session.reportFiles.get(report.opId),
  );
  session.reportFiles.set(report.opId, file);
  const earlier = delivery.recovered
    ? `\n(the report of an earlier drill${delivery.published ? '' : `, not yet posted in Slack: the bot posts it in the incident channel when it next starts`})`
    : '';
  session.write(
    `${earlier}\n${drillHeadline(report).join('\n')}\n\n${renderMeasuresTable(report)}\n\ndrill report: ${file}\n`,
  );
}

async function handleLine(
  session: LiveSession,
  line: string,
): Promise<{ exit: boolean; answer?: string }> {
  if (line.trim() === '') return { exit: false };
  const parsed = parseConsoleLine(line);
  const userId = parsed.as !== undefined ? session.idOf(parsed.as) : session.idOf(session.user);
  try {
    const answer = await runCommand(session, parsed.command, userId);
    if (answer === null) return { exit: true };
    session.write(answer);
    return { exit: false, answer: session.display(answer) };
  } catch (err) {
    const answer = `error: ${errorInfo(err).message}`;
    session.write(answer);
    return { exit: false, answer: session.display(answer) };
  }
}

export function createConsoleSession(deps: ConsoleSessionDeps): ConsoleSession {
  const { engine, config, reporter } = deps;
  const users = deps.users ?? {};
  const names = new Map(Object.entries(users).map(([name, id]) => [id, name]));
  const display = (text: string): string => displayText(names, text);
  const idOf = (who: string): string => users[who] ?? who;
  const session: LiveSession = {
    engine,
    config,
    reporter,
    reports: deps.reports,
    display,
    write: (text: string) => deps.write(`${display(text)}\n`),
    help: (): string =>
      consoleHelp({
        approvers: config.approvals.approvers.map((id) => names.get(id) ?? id),
        user: names.get(idOf(deps.user)) ?? deps.user,
      }),
    idOf,
    user: deps.user,
    reportsDir: resolve(deps.reportsDir ?? 'dr-reports'),
    evidence: deps.evidence === true,
    reportFiles: new Map<string, string>(),
    lastPhase: new Map<string, Phase>(),
  };

  const unsubscribe = engine.subscribe((n) => printNotification(session, n));
  const stopReports = reporter?.onReport(
    (report: DrillReport, markdown: string, delivery: ReportDelivery) =>
      printReport(session, report, markdown, delivery),
    { name: 'console', ofRecord: false },
  );

  return {
    reportFiles: session.reportFiles,
    settled: (opId) => settledView(engine, opId),
    idle: async () => {
      await reporter?.idle();
    },
    handle: (line) => handleLine(session, line),
    close() {
      unsubscribe();
      stopReports?.();
    },
  };
}
