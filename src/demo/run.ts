/**
 * `dr demo` (`npm run demo`): the bot at work without Slack, in one command. Starts the lab,
 * runs a drill in the console with two local users (alice requests, bob approves and confirms the
 * checklist item among the lab's custom steps), prints the
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
import type { LabInfo, LabUpOptions } from '../lab/index.js';

/** The two people of the demo, mapped to the lab config's approver ids. */
export const DEMO_REQUESTER = 'alice';
export const DEMO_APPROVER = 'bob';

export interface DemoOptions {
  io: CliIo;
  /** Lab directory (must be new or empty); default a temporary one. */
  dir?: string;
  /** Where the drill report is written; default ./dr-reports. */
  reportsDir?: string;
  /** Print each step's evidence (`dr demo --evidence`). */
  evidence?: boolean;
  /** The lab's cloud: 'aws' (default, Route 53 and S3) or 'azure' (Traffic Manager and Blob). */
  cloud?: 'aws' | 'azure';
  /** The lab's cache driver (`dr lab up --redis`); default replication. */
  redis?: LabUpOptions['redis'];
  /** The lab's DNS switch (`dr lab up --dns`); default route53. */
  dns?: LabUpOptions['dns'];
  /** The lab's database driver (`dr lab up --postgres`); default streaming. */
  postgres?: LabUpOptions['postgres'];
}

function failure(err: unknown): string {
  return err instanceof DrError ? err.message : errorInfo(err).message;
}

/** What the demo started so far: the cleanup takes it all down, once. */
interface Demo {
  io: CliIo;
  lab: typeof import('../lab/index.js');
  info?: LabInfo;
  runtime?: ConsoleRuntime;
  session?: ConsoleSession;
  cleaning?: Promise<void>;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { io } = opts;
  // Loaded lazily: the rest of the CLI does not need process management and simulators.
  const lab = await import('../lab/index.js');
  const demo: Demo = { io, lab };

  // A signal while the lab is still starting aborts labUp, which stops what it started and removes
  // its directory before rejecting; exiting at once would leave those servers running.
  const starting = new AbortController();
  let labStart: Promise<unknown> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    io.stderr(`\ndr demo: ${signal} received, taking the lab down\n`);
    starting.abort(new Error(`${signal} received`));
    void (labStart ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => cleanup(demo))
      .finally(() => process.exit(signal === 'SIGTERM' ? 143 : 130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    io.stdout(
      `dr demo: starting the lab — PostgreSQL primary + streaming standby, Redis primary + replica, a state Redis for the bot, and the cloud simulators (${opts.cloud === 'azure' ? 'Traffic Manager, Blob, Entra ID' : opts.dns === 'route53-arc' ? 'Route 53 with ARC routing controls' : 'Route 53'}, Kubernetes, health${opts.postgres === 'rds-replica' ? ', RDS in front of the PostgreSQL pair' : ''}${opts.postgres === 'aurora-global' ? ', Aurora Global Database in front of the PostgreSQL pair' : ''}${opts.postgres === 'cloudnative-pg' ? ', CloudNativePG Clusters over the PostgreSQL pair' : ''}${opts.postgres === 'azure-flexible' ? ', Azure flexible server in front of the PostgreSQL pair' : ''}${opts.redis === 'azure-cache' ? ', Azure Cache in front of the Redis pair' : opts.redis === 'elasticache-global' ? ', ElastiCache in front of the Redis pair' : ''})…\n`,
    );
    let info: LabInfo;
    try {
      const up = lab.labUp({
        ...(opts.dir ? { dir: opts.dir } : {}),
        signal: starting.signal,
        ...(opts.cloud ? { cloud: opts.cloud } : {}),
        ...(opts.redis ? { redis: opts.redis } : {}),
        ...(opts.dns ? { dns: opts.dns } : {}),
        ...(opts.postgres ? { postgres: opts.postgres } : {}),
        // A pause-consumers command, a status-page call and a checklist item bob confirms.
        customSteps: true,
      });
      labStart = up;
      info = demo.info = await up;
    } catch (err) {
      if (starting.signal.aborted) return 130;
      io.stderr(`dr demo: the lab did not start: ${failure(err)}\n`);
      return 1;
    }
    io.stdout(`lab up in ${info.dir}\n`);
    const { runtime, session } = await openSession(demo, info, opts);
    return await runDrill(io, runtime, session);
  } catch (err) {
    io.stderr(`dr demo: ${failure(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup(demo);
  }
}

/** Close the console and take the lab down; every caller gets the same (single) run. */
function cleanup(demo: Demo): Promise<void> {
  const { io, lab } = demo;
  return (demo.cleaning ??= (async () => {
    demo.session?.close();
    await demo.runtime?.close().catch(() => undefined);
    const { info } = demo;
    if (info) {
      io.stdout(`\nstopping the lab (${info.dir})…\n`);
      await lab
        .labDown({ dir: info.dir })
        .catch((err: unknown) =>
          io.stderr(
            `dr demo: could not stop the lab: ${failure(err)}; run \`dr lab down --dir ${info.dir}\`\n`,
          ),
        );
    }
  })());
}

/** The console on the lab's config and environment, with alice and bob as its two users. */
async function openSession(
  demo: Demo,
  info: LabInfo,
  opts: DemoOptions,
): Promise<{ runtime: ConsoleRuntime; session: ConsoleSession }> {
  const { io, lab } = demo;
  const labEnv = lab.readLabEnv(info.envFile);
  // The cloud SDKs read their (dummy, simulator-only) credentials from process.env itself.
  for (const [k, v] of Object.entries(labEnv))
    if (k.startsWith('AWS_') || k.startsWith('AZURE_')) process.env[k] = v;
  const env = { ...io.env, ...labEnv };
  const config = loadConfig({ path: info.configPath });
  const runtime = (demo.runtime = await openConsoleRuntime({ config, env }));
  const [aliceId, bobId] = lab.LAB_APPROVERS;
  const users = { [DEMO_REQUESTER]: aliceId, [DEMO_APPROVER]: bobId };
  const session = (demo.session = createConsoleSession({
    engine: runtime.engine,
    config,
    reporter: runtime.reporter,
    user: DEMO_REQUESTER,
    users,
    reportsDir: resolve(opts.reportsDir ?? 'dr-reports'),
    ...(opts.evidence ? { evidence: true } : {}),
    write: io.stdout,
  }));
  io.stdout(
    `users: ${DEMO_REQUESTER} (${aliceId}) requests, ${DEMO_APPROVER} (${bobId}) approves — both are approvers in the lab config\n\n`,
  );
  return { runtime, session };
}

/** alice requests the drill, both approve, and the drill runs to its end (or its first pause). */
async function runDrill(
  io: CliIo,
  runtime: ConsoleRuntime,
  session: ConsoleSession,
): Promise<number> {
  const say = async (who: string, line: string): Promise<void> => {
    io.stdout(`\n${who}> ${line}\n`);
    await session.handle(`as ${who} ${line}`);
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
  let end = await session.settled(requested.id);
  // A checklist item (a manual custom step) waits for a person: bob confirms each one.
  for (let i = 0; end.phase === 'running' && end.waiting?.length && i < 10; i++) {
    const step = end.waiting[0]!.stepId.replace(/^custom:/, '');
    await say(DEMO_APPROVER, `done ${step} ${requested.id}`);
    end = await session.settled(requested.id);
  }
  if (end.phase === 'paused') {
    io.stderr(
      `dr demo: the drill paused at ${end.currentSteps.join(', ')}: ${end.lastError?.message ?? 'a step failed'}\n`,
    );
    await say(DEMO_APPROVER, `abort demo stopped at a failed step`);
    return 1;
  }
  await runtime.reporter.idle();
  return finish(io, end, session);
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
