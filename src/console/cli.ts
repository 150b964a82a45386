/**
 * `dr console` and `dr report`: the console adapter on stdin/stdout, and a drill report printed
 * again from the store (or the list of drills that have one). Both read the config and REDIS_URL (the bot's own state Redis) like `dr start`.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../config/load.js';
import type { CliIo } from '../cli/io.js';
import { DrError } from '../errors.js';
import { renderDrillMarkdown } from '../report/index.js';
import { drillListLine, findReport, lastReport, recentDrills } from './reports.js';
import { createConsoleSession } from './session.js';
import { openConsoleRuntime } from './runtime.js';

function failure(err: unknown): string {
  return err instanceof DrError
    ? err.message
    : err instanceof Error
      ? (err.stack ?? err.message)
      : String(err);
}

export async function runConsole(opts: {
  configPath: string;
  as?: string;
  io: CliIo;
  input?: NodeJS.ReadableStream;
  reportsDir?: string;
  evidence?: boolean;
}): Promise<number> {
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
    reports: runtime.reports,
    user,
    ...(opts.reportsDir ? { reportsDir: opts.reportsDir } : {}),
    ...(opts.evidence ? { evidence: true } : {}),
    write: io.stdout,
  });
  io.stdout(
    `dr console — environment ${config.environment}, typing as ${user}. \`help\` lists the commands, \`exit\` leaves (operations keep their state).\n`,
  );
  // As `dr start` does once its adapter listens: a drill whose report was never posted in Slack
  // (the session or bot that ran it stopped first) and that no console printed is printed now,
  // before the first command is read, and left for the bot to post.
  await runtime.reporter.recover();
  const lines = createInterface({ input: opts.input ?? process.stdin, terminal: false });
  try {
    for await (const line of lines) {
      if ((await session.handle(line)).exit) break;
    }
  } finally {
    lines.close();
    // A drill that just ended (its last line was `exit`, or stdin ended) still prints its report.
    await session.idle().catch(() => undefined);
    session.close();
    await runtime.close();
  }
  return 0;
}

/**
 * `dr report [DR-…]`: one drill's report, else the last drill's; `list`: the drills that have one.
 * The id is checked by the command line (a malformed one is a usage error).
 */
export async function runReport(opts: {
  configPath: string;
  opId?: string;
  list?: boolean;
  io: CliIo;
}): Promise<number> {
  const { io } = opts;
  let runtime;
  let config;
  try {
    config = loadConfig({ path: opts.configPath });
    runtime = await openConsoleRuntime({ config, env: io.env, drive: false });
  } catch (err) {
    io.stderr(`dr report: ${failure(err)}\n`);
    return 1;
  }
  const lookup = {
    engine: runtime.engine,
    reporter: runtime.reporter,
    reports: runtime.reports,
    environment: config.environment,
    storeName: `${config.environment}, in ${runtime.stateRedis}`,
  };
  try {
    if (opts.list) {
      const drills = await recentDrills(lookup);
      io.stdout(
        drills.length === 0
          ? `no drill of ${config.environment} has a report yet\n`
          : `drills of ${config.environment} with a report, newest first (\`dr report DR-…\` prints one):\n${drills.map((d) => `  ${drillListLine(d)}\n`).join('')}`,
      );
      return 0;
    }
    const found = opts.opId
      ? await findReport(lookup, opts.opId.toUpperCase())
      : await lastReport(lookup);
    if (!found.ok) {
      const next = opts.opId
        ? '`dr report --list` lists the drills that have one'
        : 'a drill (`/dr drill` in Slack, `drill` in `dr console`) writes one';
      io.stderr(`dr report: ${found.message} (${next})\n`);
      return 1;
    }
    io.stdout(renderDrillMarkdown(found.report));
    return 0;
  } catch (err) {
    io.stderr(`dr report: ${failure(err)}\n`);
    return 1;
  } finally {
    await runtime.close();
  }
}
