/**
 * `dr console` and `dr report`: the console adapter on stdin/stdout, and a drill report printed
 * again from the store. Both read the config and REDIS_URL (the bot's own state Redis) like `dr start`.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../config/load.js';
import type { CliIo } from '../cli/io.js';
import { DrError } from '../errors.js';
import { renderDrillMarkdown } from '../report/index.js';
import { createConsoleSession } from './session.js';
import { openConsoleRuntime } from './runtime.js';

function failure(err: unknown): string {
  return err instanceof DrError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
}

export async function runConsole(opts: { configPath: string; as?: string; io: CliIo; input?: NodeJS.ReadableStream; reportsDir?: string }): Promise<number> {
  const { io } = opts;
  let runtime;
  let config;
  try {
    config = loadConfig({ path: opts.configPath });
    runtime = await openConsoleRuntime({ config, env: io.env });
  } catch (err) {
    io.stderr(`dr console: ${failure(err)}\n`);
    return 1;
  }
  const user = opts.as ?? io.env.USER ?? 'console';
  const session = createConsoleSession({
    engine: runtime.engine,
    config,
    reporter: runtime.reporter,
    user,
    ...(opts.reportsDir ? { reportsDir: opts.reportsDir } : {}),
    write: io.stdout,
  });
  io.stdout(`dr console — environment ${config.environment}, typing as ${user}. \`help\` lists the commands, \`exit\` leaves (operations keep their state).\n`);
  // As `dr start` does once its adapter listens: a drill whose report was never published (the
  // session or bot that ran it stopped first) is printed now, before the first command is read.
  await runtime.reporter.recover();
  const lines = createInterface({ input: opts.input ?? process.stdin, terminal: false });
  try {
    for await (const line of lines) {
      if ((await session.handle(line)).exit) break;
    }
  } finally {
    lines.close();
    session.close();
    await runtime.close();
  }
  return 0;
}

export async function runReport(opts: { configPath: string; opId: string; io: CliIo }): Promise<number> {
  const { io } = opts;
  let runtime;
  try {
    const config = loadConfig({ path: opts.configPath });
    runtime = await openConsoleRuntime({ config, env: io.env, drive: false });
  } catch (err) {
    io.stderr(`dr report: ${failure(err)}\n`);
    return 1;
  }
  try {
    const report = await runtime.reporter.reportFor(opts.opId.toUpperCase());
    if (!report) {
      io.stderr(`dr report: ${opts.opId} is not a finished, approved drill of this environment, so it has no report (\`dr console\` then \`status\` shows the operations)\n`);
      return 1;
    }
    io.stdout(renderDrillMarkdown(report));
    return 0;
  } finally {
    await runtime.close();
  }
}
