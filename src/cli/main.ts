/**
 * The `dr` command. bin/dr.js calls main(argv) and exits with what it returns:
 * 0 success, 1 failure (invalid config, start-up or lab error), 2 usage error (usage on stderr).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isOpId, malformedOpId } from '../bot/commands.js';
import { configPathFrom, DEFAULT_CONFIG_PATH } from '../config/path.js';
import { DrError } from '../errors.js';
import { runConfigCheck, runConfigCheckLive } from './config-check.js';
import { runLab, type LabAction, type LabDns, type LabPostgres, type LabRedis } from './lab.js';
import { runLabResync } from './lab-resync.js';
import {
  azureCacheNeedsAzure,
  cloudOption,
  dnsMethodOption,
  postgresDriverOption,
  redisDriverOption,
} from './lab-options.js';
import type { CliIo } from './io.js';

export type { CliIo } from './io.js';

function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const USAGE_ERRORS = new Set([
  'commander.unknownCommand',
  'commander.unknownOption',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.excessArguments',
  'commander.invalidArgument',
  'commander.conflictingOption',
  // `dr` or `dr config` without a subcommand: commander prints the help on stderr.
  'commander.help',
]);

function defaultIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
}

const configOption = (): Option =>
  new Option(
    '-c, --config <file>',
    `config file (default: $DR_CONFIG, else ${DEFAULT_CONFIG_PATH})`,
  );

/** What every command's action needs: the terminal and where to put the exit code. */
interface Cli {
  io: CliIo;
  setCode: (code: number) => void;
}

function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const cli: Cli = { io, setCode };
  const program = new Command('dr');
  program
    .description(
      'dr-bot: cross-region disaster-recovery failover and failback, run from Slack with two-person approval',
    )
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      'after',
      `
Environment:
  DR_CONFIG              config file when --config is not given
  REDIS_URL              the bot's own state Redis (default redis://127.0.0.1:6379, with a warning)
  SLACK_BOT_TOKEN        bot token (xoxb-…), required by dr start
  SLACK_SIGNING_SECRET   HTTP mode (requests to /slack/events on PORT)
  SLACK_APP_TOKEN        Socket Mode instead of HTTP (xapp-…, scope connections:write)
  SLACK_API_URL          send Slack Web API calls elsewhere (tests, proxies)
  PORT                   HTTP port for /slack/events and /healthz (default 3000)
  LOG_LEVEL              pino level (default info)
  DR_ALERTMANAGER_TOKEN  bearer token for POST /webhooks/alertmanager (when the config has a detection section)

Exit codes: 0 success, 1 failure, 2 usage error.`,
    );

  addStartCommand(program, cli);
  addConfigCommands(program, cli);
  addLabCommands(program, cli);
  addConsoleCommand(program, cli);
  addReadinessCommand(program, cli);
  addReportCommand(program, cli);
  addDemoCommand(program, cli);
  return program;
}

/** `dr start`. */
function addStartCommand(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  program
    .command('start')
    .description(
      'run the bot: load the config, connect to the state Redis, resume active operations, serve Slack',
    )
    .addOption(configOption())
    .addHelpText(
      'after',
      `
Needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode), REDIS_URL (else the local Redis,
with a warning) and the connection-string variables the config names (see \`dr --help\`); every missing one
is listed before exiting 1.
Stops gracefully on SIGTERM/SIGINT: operations stay in Redis and resume at the next start.
One instance acts on an environment: while another dr start (or dr console) holds the environment's
instance lease in the state Redis, this one stands by (no Slack connection, nothing resumed; /healthz
answers 200 with role standby, everything else 503) and takes over when that lease is released or
expires (15 s after its holder died). A bot that loses the lease exits 1 at once.`,
    )
    .action(async (opts: { config?: string }) => {
      // Loaded lazily so `dr --help` and `dr config check` do not pull in Slack, Redis and the SDKs.
      const { runStart } = await import('../app.js');
      setCode(
        await runStart({
          configPath: configPathFrom({ flag: opts.config, env: io.env }),
          env: io.env,
          io,
        }),
      );
    });
}

/** `dr config check`. */
function addConfigCommands(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  const config = program.command('config').description('inspect the config file (dr config check)');
  config
    .command('check')
    .description(
      'run the checks dr start runs on the config file and the environment (without connecting, unless --live); print what is configured',
    )
    .addOption(configOption())
    .option(
      '--skip-env',
      'check the file only: skip every check that needs an environment variable (Slack tokens, REDIS_URL, urlEnv values)',
    )
    .addOption(
      new Option(
        '--live',
        "then connect with the providers dr start would build and run preflight's read-only failover checks once: one row per component (ok / warning / blocked); exit 1 when one is blocked",
      ).conflicts('skipEnv'),
    )
    .action(async (opts: { config?: string; skipEnv?: boolean; live?: boolean }) => {
      const path = configPathFrom({ flag: opts.config, env: io.env });
      setCode(
        opts.live
          ? await runConfigCheckLive({ path, io })
          : runConfigCheck({ path, skipEnv: opts.skipEnv === true, io }),
      );
    });
}

/** `dr lab up | down | status | outage | restore | resync`. */
function addLabCommands(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  const lab = program
    .command('lab')
    .description(
      'a local two-region lab: PostgreSQL primary + standby, Redis primary + replica, cloud API simulators (dr lab up | status | outage | restore | down | resync)',
    );
  azureCacheNeedsAzure(
    labCommand(
      lab,
      cli,
      'up',
      "start the lab (servers, cloud simulators, the bot's state Redis) in a new or empty directory; write DIR/dr.config.yaml and DIR/lab.env for `dr start`",
    ),
  )
    .addOption(cloudOption())
    .addOption(redisDriverOption())
    .addOption(dnsMethodOption())
    .addOption(postgresDriverOption())
    .option(
      '--custom-steps',
      'add one custom runbook step of each kind to the lab config: a command (writes a marker file), an HTTP call (the status page), a checklist item (Done in the thread)',
    )
    .addHelpText(
      'after',
      '\nCtrl-C (SIGINT) or SIGTERM while it starts: it stops what it started and removes DIR (exit 130 / 143).\nAfter a kill -9, `dr lab down --dir DIR` stops what DIR/lab.json records.',
    );
  labCommand(
    lab,
    cli,
    'down',
    'stop every lab process and remove the lab directory (a half-started lab too)',
  );
  labCommand(
    lab,
    cli,
    'status',
    'show what the lab runs and which side is serving: roles, fences, lag, two writers, DNS routing, health endpoints, replica counts',
  );
  labCommand(
    lab,
    cli,
    'outage',
    "play a regional outage: stop the region's PostgreSQL as a crash (immediate), kill its Redis (SIGKILL) and stop its health endpoint (default region: primary)",
    true,
  );
  labCommand(
    lab,
    cli,
    'restore',
    "end the outage: start that region's PostgreSQL and Redis again on the same ports and data, as they were, and its health endpoint (for a failback)",
    true,
  );
  lab
    .command('resync')
    .description(
      "make one lab PostgreSQL a standby of the other (pg_rewind, or pg_basebackup): the lab's postgres.resync.command",
    )
    .option('-d, --dir <dir>', 'lab directory (default: ./.lab)')
    .addHelpText(
      'after',
      `
Reads the variables dr-bot sets for a resync command:
  DR_RESYNC_STANDBY      primary|secondary: the server that becomes a standby (required)
  DR_RESYNC_METHOD       rewind (default) or rebuild; a failed rewind exits 1 and dr-bot retries with rebuild
  DR_RESYNC_TARGET_URL   checked against the lab's server, so a config pointing elsewhere is refused`,
    )
    .action(async (opts: { dir?: string }) => {
      setCode(await runLabResync({ dir: opts.dir, io }));
    });
}

/** One `dr lab` subcommand run by runLab, with its --dir (and --region for outage/restore). */
function labCommand(
  lab: Command,
  cli: Cli,
  action: LabAction,
  description: string,
  withRegion = false,
): Command {
  const { io, setCode } = cli;
  const command = lab
    .command(action)
    .description(description)
    .option('-d, --dir <dir>', 'lab directory (default: ./.lab)');
  if (withRegion)
    command.addOption(
      new Option('--region <region>', 'the region to take down or bring back').choices([
        'primary',
        'secondary',
      ]),
    );
  type LabOpts = {
    dir?: string;
    region?: 'primary' | 'secondary';
    cloud?: 'aws' | 'azure';
    redis?: LabRedis;
    dns?: LabDns;
    postgres?: LabPostgres;
    customSteps?: boolean;
  };
  return command.action(async (opts: LabOpts) => {
    setCode(
      await runLab(action, {
        dir: opts.dir,
        ...(opts.region ? { region: opts.region } : {}),
        ...(opts.cloud ? { cloud: opts.cloud } : {}),
        ...(opts.redis ? { redis: opts.redis } : {}),
        ...(opts.dns ? { dns: opts.dns } : {}),
        ...(opts.postgres ? { postgres: opts.postgres } : {}),
        ...(opts.customSteps ? { customSteps: true } : {}),
        io,
      }),
    );
  });
}

/** `dr console`. */
function addConsoleCommand(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  program
    .command('console')
    .description(
      'the bot without Slack: the same commands, timeline and status card in the terminal (reads commands from stdin)',
    )
    .addOption(configOption())
    .option(
      '--as <user>',
      'who types when a line names nobody (a user id from approvals.approvers to approve; default $USER)',
    )
    .option('--reports <dir>', 'where drill reports are written as Markdown (default ./dr-reports)')
    .option('--evidence', "print each step's evidence under it (the report and Slack keep it)")
    .addHelpText(
      'after',
      `
Commands: failover [planned|unplanned] [reason…], failback, drill, status, approve [DR-…], reject [DR-…] [reason…],
retry, skip, abort [DR-…] [reason…], report [DR-…], reports, wait, help, exit. \`as USER\` first or last on a
line types as someone else; USER is a user id from approvals.approvers (in the lab U0LABAPPR1 or U0LABAPPR2:
\`approve as U0LABAPPR2\`). An approve typed while the preflight still runs waits for its plan, then approves
it. A mistyped id (DR-… that is not one) is refused. Approvers are checked against approvals.approvers (a Slack
user group cannot be read from the console). Uses REDIS_URL like dr start, and takes the environment's
instance lease like it: refused (exit 1) while a dr start of the environment runs.`,
    )
    .action(
      async (opts: { config?: string; as?: string; reports?: string; evidence?: boolean }) => {
        const { runConsole } = await import('../console/cli.js');
        setCode(
          await runConsole({
            configPath: configPathFrom({ flag: opts.config, env: io.env }),
            io,
            ...(opts.as ? { as: opts.as } : {}),
            ...(opts.reports ? { reportsDir: opts.reports } : {}),
            ...(opts.evidence ? { evidence: true } : {}),
          }),
        );
      },
    );
}

/** `dr readiness`. */
function addReadinessCommand(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  program
    .command('readiness')
    .description(
      'run every readiness check once and print it (no Slack post); exit 0 only when all are ok',
    )
    .addOption(configOption())
    .addHelpText(
      'after',
      "\nReads REDIS_URL (the bot's state Redis) for the last drill; the object-storage check writes its canary.",
    )
    .action(async (opts: { config?: string }) => {
      const { runReadiness } = await import('./readiness.js');
      setCode(
        await runReadiness({ configPath: configPathFrom({ flag: opts.config, env: io.env }), io }),
      );
    });
}

/** `dr report`. */
function addReportCommand(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  program
    .command('report')
    .description(
      "print the report of a finished drill (Markdown) from the state Redis; without an id, the last drill's",
    )
    .argument(
      '[operation-id]',
      'the drill, e.g. DR-20261125-093015 (default: the last drill of the environment)',
      (value: string) => {
        if (!isOpId(value)) throw new InvalidArgumentError(malformedOpId(value));
        return value.toUpperCase();
      },
    )
    .addOption(configOption())
    .option(
      '-l, --list',
      'list the drills of the environment that have a report (newest first) instead',
    )
    .addHelpText(
      'after',
      `
Exit 1 when there is no such report, saying why: no operation with that id in this environment's store,
an operation that is not a drill (a failover, a failback), or a drill that has not finished or was never
approved. Reads REDIS_URL (the bot's state Redis) like dr start. A finished drill whose report was never
built gets it built and stored now (the bot posts it at its next start).`,
    )
    .action(async (opId: string | undefined, opts: { config?: string; list?: boolean }) => {
      const { runReport } = await import('../console/cli.js');
      setCode(
        await runReport({
          configPath: configPathFrom({ flag: opts.config, env: io.env }),
          io,
          ...(opId ? { opId } : {}),
          ...(opts.list ? { list: true } : {}),
        }),
      );
    });
}

/** `dr demo`. */
function addDemoCommand(program: Command, cli: Cli): void {
  const { io, setCode } = cli;
  azureCacheNeedsAzure(program.command('demo'))
    .description(
      'one-command demo: start the lab, run a drill in the console (alice requests, bob approves), print the timeline, RTO/RPO and the report path, stop the lab',
    )
    .option('-d, --dir <dir>', 'lab directory (new or empty; default a temporary one)')
    .option('--reports <dir>', 'where the drill report is written (default ./dr-reports)')
    .option('--evidence', "print each step's evidence under it (the report keeps it)")
    .addOption(cloudOption())
    .addOption(redisDriverOption())
    .addOption(dnsMethodOption())
    .addOption(postgresDriverOption())
    .addHelpText(
      'after',
      '\nNeeds the PostgreSQL server binaries (initdb, pg_ctl, postgres) and redis-server on this machine.',
    )
    .action(
      async (opts: {
        dir?: string;
        reports?: string;
        cloud?: 'aws' | 'azure';
        redis?: LabRedis;
        dns?: LabDns;
        postgres?: LabPostgres;
        evidence?: boolean;
      }) => {
        // The demo talks to local simulators only: the AWS SDK's notice that its 2027 releases need
        // Node.js 22 says nothing about the demo and would sit in the middle of its output. dr start
        // keeps it: there it is news for whoever runs the bot.
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
        const { runDemo } = await import('../demo/index.js');
        setCode(
          await runDemo({
            io,
            ...(opts.dir ? { dir: opts.dir } : {}),
            ...(opts.reports ? { reportsDir: opts.reports } : {}),
            ...(opts.cloud ? { cloud: opts.cloud } : {}),
            ...(opts.redis ? { redis: opts.redis } : {}),
            ...(opts.dns ? { dns: opts.dns } : {}),
            ...(opts.postgres ? { postgres: opts.postgres } : {}),
            ...(opts.evidence ? { evidence: true } : {}),
          }),
        );
      },
    );
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (USAGE_ERRORS.has(err.code)) return 2;
      return err.exitCode === 0 ? 0 : 2;
    }
    io.stderr(
      `dr: ${err instanceof DrError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}
