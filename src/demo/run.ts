/**
 * `dr demo` (`npm run demo`): the bot at work without Slack, in one command. Starts the lab,
 * runs a drill in the console with two local users (alice requests, bob approves), prints the
 * timeline, the RTO/RPO table and the report's path, and always takes the lab down again —
 * after a failure and on Ctrl-C too.
 */
import { resolve } from 'node:path';
import type { CliIo } from '../cli/io.js';
import { loadConfig } from '../config/load.js';
import { createConsoleSession, type ConsoleSession } from '../console/index.js';
import { openConsoleRuntime, type ConsoleRuntime } from '../console/runtime.js';
import type { OperationView } from '../domain/types.js';
import { DrError, errorInfo } from '../errors.js';
import type { LabInfo } from '../lab/index.js';

/** The two people of the demo, mapped to the lab config's approver ids. */
export const DEMO_REQUESTER = 'alice';
export const DEMO_APPROVER = 'bob';

export interface DemoOptions {
  io: CliIo;
  /** Lab directory (must be new or empty); default a temporary one. */
  dir?: string;
  /** Where the drill report is written; default ./dr-reports. */
  reportsDir?: string;
}

function failure(err: unknown): string {
  return err instanceof DrError ? err.message : errorInfo(err).message;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { io } = opts;
  // Loaded lazily: the rest of the CLI does not need process management and simulators.
  const lab = await import('../lab/index.js');
  let info: LabInfo | undefined;
  let runtime: ConsoleRuntime | undefined;
  let session: ConsoleSession | undefined;
  let cleaning: Promise<void> | undefined;

  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      session?.close();
      await runtime?.close().catch(() => undefined);
      if (info) {
        io.stdout(`\nstopping the lab (${info.dir})…\n`);
        await lab
          .labDown({ dir: info.dir })
          .catch((err: unknown) =>
            io.stderr(
              `dr demo: could not stop the lab: ${failure(err)}; run \`dr lab down --dir ${info!.dir}\`\n`,
            ),
          );
      }
    })());

  // A signal while the lab is still starting aborts labUp, which stops what it started and removes
  // its directory before rejecting; exiting at once would leave those servers running.
  const starting = new AbortController();
  let labStart: Promise<unknown> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    io.stderr(`\ndr demo: ${signal} received, taking the lab down\n`);
    starting.abort(new Error(`${signal} received`));
    void (labStart ?? Promise.resolve())
      .catch(() => undefined)
      .then(cleanup)
      .finally(() => process.exit(signal === 'SIGTERM' ? 143 : 130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    io.stdout(
      'dr demo: starting the lab — PostgreSQL primary + streaming standby, Redis primary + replica, a state Redis for the bot, and the cloud simulators (Route 53, Kubernetes, health)…\n',
    );
    try {
      const up = lab.labUp({ ...(opts.dir ? { dir: opts.dir } : {}), signal: starting.signal });
      labStart = up;
      info = await up;
    } catch (err) {
      if (starting.signal.aborted) return 130;
      io.stderr(`dr demo: the lab did not start: ${failure(err)}\n`);
      return 1;
    }
    io.stdout(`lab up in ${info.dir}\n`);
    const labEnv = lab.readLabEnv(info.envFile);
    // The cloud SDKs read their (dummy, simulator-only) credentials from process.env itself.
    for (const [k, v] of Object.entries(labEnv))
      if (k.startsWith('AWS_') || k.startsWith('AZURE_')) process.env[k] = v;
    const env = { ...io.env, ...labEnv };
    const config = loadConfig({ path: info.configPath });
    runtime = await openConsoleRuntime({ config, env });
    const [aliceId, bobId] = lab.LAB_APPROVERS;
    const users = { [DEMO_REQUESTER]: aliceId, [DEMO_APPROVER]: bobId };
    session = createConsoleSession({
      engine: runtime.engine,
      config,
      reporter: runtime.reporter,
      user: DEMO_REQUESTER,
      users,
      reportsDir: resolve(opts.reportsDir ?? 'dr-reports'),
      write: io.stdout,
    });
    io.stdout(
      `users: ${DEMO_REQUESTER} (${aliceId}) requests, ${DEMO_APPROVER} (${bobId}) approves — both are approvers in the lab config\n\n`,
    );

    const say = async (who: string, line: string): Promise<void> => {
      io.stdout(`\n${who}> ${line}\n`);
      await session!.handle(`as ${who} ${line}`);
    };

    await say(DEMO_REQUESTER, 'drill quarterly DR drill (demo)');
    const requested = (await runtime.engine.status()).active;
    if (!requested) {
      io.stderr('dr demo: the drill was not created (see the messages above)\n');
      return 1;
    }
    const waiting = await session.settled(requested.id);
    if (waiting.phase !== 'awaitingApproval') return finish(io, waiting, session);
    // The two-person rule at work: the requester's own approval does not count.
    await say(DEMO_REQUESTER, `approve ${requested.id}`);
    await say(DEMO_APPROVER, `approve ${requested.id}`);
    const end = await session.settled(requested.id);
    if (end.phase === 'paused') {
      io.stderr(
        `dr demo: the drill paused at ${end.currentSteps.join(', ')}: ${end.lastError?.message ?? 'a step failed'}\n`,
      );
      await say(DEMO_APPROVER, `abort demo stopped at a failed step`);
      return 1;
    }
    await runtime.reporter.idle();
    return finish(io, end, session);
  } catch (err) {
    io.stderr(`dr demo: ${failure(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

function finish(io: CliIo, view: OperationView, session: ConsoleSession): number {
  const file = session.reportFiles.get(view.id);
  if (view.phase !== 'completed') {
    io.stderr(
      `dr demo: the drill ended ${view.phase}${view.lastError ? `: ${view.lastError.message}` : ''}\n`,
    );
    return 1;
  }
  io.stdout(
    `\ndr demo: drill ${view.id} completed. Report: ${file ?? '(not written, see the log above)'}\n`,
  );
  return file ? 0 : 1;
}
